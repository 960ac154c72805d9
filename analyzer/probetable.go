package analyzer

import "math/bits"

// probeSlot is a slot of a probeTable: key is its nonzero 64-bit hash
// (0: an empty slot), whose top bits are the slot's home.
type probeSlot interface {
	comparable
	key() uint64
}

// probeTable is an open-addressing table with linear probing, a slot's
// home being the top bits of its key. Its owner looks slots up; slots are
// never removed, and the owner keeps it at most half full.
type probeTable[S probeSlot] struct {
	slots []S
	shift uint // 64 - log2(len(slots)): a slot's home is key >> shift
}

// place puts s in the first empty slot from its home.
func (t *probeTable[S]) place(s S) {
	mask := uint64(len(t.slots) - 1)
	i := s.key() >> t.shift
	for t.slots[i].key() != 0 {
		i = (i + 1) & mask
	}
	t.slots[i] = s
}

// resize lays the slots anew in a table of n (a power of two).
func (t *probeTable[S]) resize(n int) {
	old := t.slots
	t.slots = make([]S, n)
	t.shift = 64 - uint(bits.TrailingZeros(uint(n)))
	for _, s := range old {
		if s.key() != 0 {
			t.place(s)
		}
	}
}

// tagSlot is a slot that is its own key: the top 32 bits of a hash and a
// position plus one.
type tagSlot uint64

func (s tagSlot) key() uint64 { return uint64(s) }
