package analyzer

import (
	"encoding/binary"
	"hash/maphash"
	"math/bits"
)

// findingIndex keeps the judge's finding keys by position in its order,
// and finds those that no device slot holds (keepKey): an open-addressing
// table over their positions, so that a lookup is one probe of an array
// of 64-bit slots and, on a match, one comparison with the key kept at
// that position, instead of hashing and comparing a map's large keys. A
// slot holds the top 32 bits of the key's hash and the position plus one
// (0: empty). Keys are never removed; it is at most half full.
type findingIndex struct {
	probeTable[tagSlot]
	keys    []findingKey // by position
	indexed int          // keys in the slots
	seed    maphash.Seed
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

// find returns the position of key k, of hash h (from hash), among the
// keys in the slots, or -1.
func (s *findingIndex) find(k *findingKey, h uint64) int {
	if s.indexed == 0 {
		return -1
	}
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

// push keeps k at the next position, which it returns.
func (s *findingIndex) push(k *findingKey) int {
	s.keys = append(s.keys, *k)
	return len(s.keys) - 1
}

// index puts the key at position p, of hash h, which the slots do not
// hold yet, in the slots.
func (s *findingIndex) index(h uint64, p int) {
	s.indexed++
	if 2*s.indexed > len(s.slots) {
		s.resize(2 * len(s.slots))
	}
	s.place(tagSlot(h&^(1<<32-1) | uint64(p+1)))
}

// add keeps k, of hash h, and puts it in the slots.
func (s *findingIndex) add(k *findingKey, h uint64) {
	s.index(h, s.push(k))
}
