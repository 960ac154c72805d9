package analyzer

import (
	"encoding/binary"
	"hash/maphash"
	"math/bits"
)

// findingIndex finds the judge's findings by their keys: an
// open-addressing table over the keys' positions in the judge's order,
// so that a flow looks up its finding with one probe of an array of
// 64-bit slots and, on a match, one comparison with the key kept at that
// position, instead of hashing and comparing a map's large keys. A flood
// whose every flow is a new key past the cap (maxTracked) costs the probe
// alone. A slot holds the top 32 bits of the key's hash and the position
// plus one (0: empty). Keys are never removed; it is at most half full.
type findingIndex struct {
	probeTable[tagSlot]
	keys []findingKey // by position
	seed maphash.Seed
}

func (s *findingIndex) hash(k *findingKey) uint64 {
	if s.slots == nil {
		s.seed = maphash.MakeSeed()
		s.resize(1024)
	}
	c, v := k.client.As16(), k.server.As16()
	le := binary.LittleEndian
	h := maphash.String(s.seed, k.name) ^ bits.RotateLeft64(maphash.String(s.seed, k.host), 17)
	h = mum(h^le.Uint64(c[:8]), le.Uint64(c[8:])^uint64(k.port)<<1^b2u(k.undecided))
	h = mum(h^le.Uint64(v[:8]), le.Uint64(v[8:])^0x9e3779b97f4a7c15)
	return h
}

func b2u(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

// find returns the position of key k, of hash h (from hash), or -1.
func (s *findingIndex) find(k *findingKey, h uint64) int {
	tag := h &^ (1<<32 - 1)
	mask := uint64(len(s.slots) - 1)
	for i := h >> s.shift; ; i = (i + 1) & mask {
		sl := uint64(s.slots[i])
		if sl == 0 {
			return -1
		}
		if sl&^(1<<32-1) == tag {
			if p := int(uint32(sl)) - 1; s.keys[p] == *k {
				return p
			}
		}
	}
}

// add indexes k, of hash h, which it does not hold yet, at the next
// position (len(keys)).
func (s *findingIndex) add(k *findingKey, h uint64) {
	s.keys = append(s.keys, *k)
	if 2*len(s.keys) > len(s.slots) {
		s.resize(2 * len(s.slots))
	}
	s.place(tagSlot(h&^(1<<32-1) | uint64(len(s.keys))))
}
