package analyzer

import (
	"encoding/binary"
	"math/rand/v2"
	"net/netip"
)

// devIndex finds a device's tally by its address: an open-addressing
// table with linear probing, hashed with a keyed hash of the address's 16
// bytes. A flood from tens of thousands of clients looks one up per flow,
// so a slot holds the hash and the tally itself: a lookup reads one slot
// and the tally it points to (which the caller reads next anyway), not a
// list of tallies in between. A Go map of netip.Addr would hash and
// compare the whole Addr. Tallies are never removed; the table is at most
// half full.
type devIndex struct {
	probeTable[devSlot]
	devs    []*DeviceSummary
	seed    [2]uint64
	hashed  int       // devices in the hashed table
	hashed4 int       // of them, IPv4 devices (of a /24 that had no block)
	blk     devBlocks // IPv4 devices by /24 (devblock.go)
}

// devSlot is one slot of a devIndex: h is the address's hash with bit 0
// set (0: empty) and d its tally. The slot also holds the first findings
// whose client the device is (refs), so that a flow finds its finding
// in the slot that found its device; bit 1 of h (slotMore) says the
// findingIndex holds more of them.
type devSlot struct {
	h    uint64
	d    *DeviceSummary
	refs [devRefs]findRef
}

// devRefs is how many findings a device slot holds: one, for a slot of
// 24 bytes.
const devRefs = 1

// slotMore marks a devSlot whose device has findings in the findingIndex.
const slotMore = 2

// findRef is one of a device's findings: the top 32 bits of its key's
// hash and its position plus one (0: none).
type findRef struct{ tag, pos uint32 }

func (s devSlot) key() uint64 { return s.h }

func (x *devIndex) hash(a netip.Addr) uint64 {
	if x.slots == nil {
		x.seed = [2]uint64{rand.Uint64() | 1, rand.Uint64() | 1}
		x.resize(1024)
	}
	b := a.As16()
	le := binary.LittleEndian
	return (mum(le.Uint64(b[:8])^x.seed[0], le.Uint64(b[8:])^x.seed[1]) | 1) &^ slotMore
}

// find returns a's tally, or nil, and a's hash for add.
func (x *devIndex) find(a netip.Addr) (*DeviceSummary, uint64) {
	s, h := x.slot(a)
	if s == nil {
		return nil, h
	}
	return s.d, h
}

// slot returns a's slot, or nil, and a's hash (0: a's slot is in a
// block). The slot is valid until the next add.
func (x *devIndex) slot(a netip.Addr) (*devSlot, uint64) {
	if blockable(a) {
		a4 := a.As4()
		if blk := x.blk.block(a4); blk != nil {
			if s := &blk[a4[3]]; s.h != 0 || x.hashed4 == 0 {
				return nilIfFree(s), 0
			}
			// A device of this /24 added before its block may be hashed.
			if s, h := x.hashed4Slot(a); s != nil {
				return s, h
			}
			return nil, 0
		}
		if x.hashed4 == 0 && x.blk.canAdd(len(x.devs)) {
			return nil, 0 // add makes its block
		}
		if s, h := x.hashed4Slot(a); s != nil || !x.blk.canAdd(len(x.devs)) {
			return s, h
		}
		return nil, 0
	}
	return x.hashedSlot(a, x.hash(a))
}

// hashedSlot returns a's slot in the hashed table, or nil, and h, a's
// hash.
func (x *devIndex) hashedSlot(a netip.Addr, h uint64) (*devSlot, uint64) {
	mask := uint64(len(x.slots) - 1)
	for i := h >> x.shift; ; i = (i + 1) & mask {
		s := &x.slots[i]
		if s.h == 0 {
			return nil, h
		}
		if s.h&^slotMore == h && s.d.Tally.Addr == a {
			return s, h
		}
	}
}

// add indexes d, of hash h (from find), which it does not hold yet; more
// marks its slot slotMore.
func (x *devIndex) add(d *DeviceSummary, h uint64, more bool) {
	if h == 0 && x.addBlock(d, more) {
		x.devs = append(x.devs, d)
		return
	}
	x.devs = append(x.devs, d)
	if h == 0 {
		h = x.hash(d.Tally.Addr)
	}
	if blockable(d.Tally.Addr) {
		x.hashed4++
	}
	x.hashed++
	if 2*x.hashed > len(x.slots) {
		x.resize(2 * len(x.slots))
	}
	if more {
		h |= slotMore
	}
	x.place(devSlot{h: h, d: d})
}

// devChunk is how many device tallies devices allocates at a time: one
// allocation, not one a device, and neighbouring tallies in memory.
const devChunk = 256

// newDevice returns a zeroed tally from d's current chunk.
func (d *devices) newDevice() *DeviceSummary {
	if len(d.free) == 0 {
		d.free = make([]DeviceSummary, devChunk)
	}
	s := &d.free[0]
	d.free = d.free[1:]
	return s
}
