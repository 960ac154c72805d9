package analyzer

import "math/bits"

// probeTable is an open-addressing table of nonzero 64-bit slots with
// linear probing, a slot's home being its top bits (the top bits of the
// hash it holds). Slots are never removed; the owner keeps it at most
// half full.
type probeTable struct {
	slots []uint64
	shift uint // 64 - log2(len(slots)): a slot's home is s >> shift
}

// place puts s in the first empty slot from its home.
func (t *probeTable) place(s uint64) {
	mask := uint64(len(t.slots) - 1)
	i := s >> t.shift
	for t.slots[i] != 0 {
		i = (i + 1) & mask
	}
	t.slots[i] = s
}

// resize lays the slots anew in a table of n (a power of two).
func (t *probeTable) resize(n int) {
	old := t.slots
	t.slots = make([]uint64, n)
	t.shift = 64 - uint(bits.TrailingZeros(uint(n)))
	for _, s := range old {
		if s != 0 {
			t.place(s)
		}
	}
}
