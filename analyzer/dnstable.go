package analyzer

import "math/bits"

// dnsTable is one of a DNS cache segment's indexes: a hash table of
// record numbers in groups of eight slots, as Swiss tables are. A group's
// control word holds a byte per slot, 0 for an empty one, else 0x80 and
// seven bits of the hash; a probe compares all eight at once, so the
// common outcomes (no slot matches, one is empty) are branches the CPU
// predicts, where linear probing's number of steps was not. Nothing is
// ever deleted (a segment's tables are cleared whole), so slots fill in
// order and a group with an empty slot ends a probe.
type dnsTable struct {
	ctrl  []uint64 // a word per group
	slots []uint16 // eight per group: record numbers
	shift uint     // 64 - log2(len(ctrl)): a hash's home group is hash >> shift
}

const (
	ctrlLSB = 0x0101010101010101
	ctrlMSB = 0x8080808080808080
)

// init sizes t for n records: at most half its slots are used.
func (t *dnsTable) init(n int) {
	g := 1
	for 8*g < 2*n {
		g *= 2
	}
	t.ctrl = make([]uint64, g)
	t.slots = make([]uint16, 8*g)
	t.shift = 64 - uint(bits.TrailingZeros(uint(g)))
}

func (t *dnsTable) clear() {
	clear(t.ctrl)
	clear(t.slots)
}

// ctrlTag is a used slot's control byte for hash h: its low bits, which
// the home group (the high bits) does not use.
func ctrlTag(h uint64) uint64 { return 0x80 | h&0x7f }

// home is the first group a hash probes, next the one after g.
func (t *dnsTable) home(h uint64) int { return int(h >> t.shift) }

func (t *dnsTable) next(g int) int { return (g + 1) & (len(t.ctrl) - 1) }

// match returns group g's slots whose control byte is tag (with, rarely,
// false ones after a true one: callers check the record), and its empty
// slots, as masks of a byte's top bit per slot.
func (t *dnsTable) match(g int, tag uint64) (match, empty uint64) {
	w := t.ctrl[g]
	x := w ^ tag*ctrlLSB
	return (x - ctrlLSB) &^ x & ctrlMSB, ^w & ctrlMSB
}

// slot is the number of the first slot of g in mask.
func slotIn(g int, mask uint64) int { return 8*g + bits.TrailingZeros64(mask)>>3 }

// set makes slot i hold record e under tag.
func (t *dnsTable) set(i int, tag uint64, e uint16) {
	t.ctrl[i>>3] |= tag << (8 * (i & 7))
	t.slots[i] = e
}
