package analyzer

import (
	"encoding/binary"
	"hash/maphash"
	"math/bits"
)

// findingSet holds the hashes of the judge's finding keys, so that the
// judge of a flood, whose findings map is full (maxTracked) and whose
// every flow is a new key, learns that a key is not kept without
// hashing and probing a map of large keys: a flow then costs one probe
// of an array of 64-bit hashes instead. A hash in the set may still be
// another key's (the map has the last word); one not in it is no key's.
// Keys are never removed. It is at most half full.
type findingSet struct {
	probeTable // slots: hash | 1 (0: empty)
	n          int
	seed       maphash.Seed
}

func (s *findingSet) hash(k *findingKey) uint64 {
	if s.slots == nil {
		s.seed = maphash.MakeSeed()
		s.resize(1024)
	}
	c, v := k.client.As16(), k.server.As16()
	le := binary.LittleEndian
	h := maphash.String(s.seed, k.name) ^ bits.RotateLeft64(maphash.String(s.seed, k.host), 17)
	h = mum(h^le.Uint64(c[:8]), le.Uint64(c[8:])^uint64(k.port)<<1^b2u(k.undecided))
	h = mum(h^le.Uint64(v[:8]), le.Uint64(v[8:])^0x9e3779b97f4a7c15)
	return h | 1
}

func b2u(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

// has reports whether hash h (from hash) is in the set.
func (s *findingSet) has(h uint64) bool {
	mask := uint64(len(s.slots) - 1)
	for i := h >> s.shift; ; i = (i + 1) & mask {
		switch s.slots[i] {
		case 0:
			return false
		case h:
			return true
		}
	}
}

// add puts h in the set.
func (s *findingSet) add(h uint64) {
	if s.has(h) {
		return
	}
	s.n++
	if 2*s.n > len(s.slots) {
		s.resize(2 * len(s.slots))
	}
	s.place(h)
}
