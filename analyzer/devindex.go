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
	devs []*DeviceSummary
	seed [2]uint64
}

// devSlot is one slot of a devIndex: h is the address's hash | 1 (0:
// empty) and d its tally.
type devSlot struct {
	h uint64
	d *DeviceSummary
}

func (s devSlot) key() uint64 { return s.h }

func (x *devIndex) hash(a netip.Addr) uint64 {
	if x.slots == nil {
		x.seed = [2]uint64{rand.Uint64() | 1, rand.Uint64() | 1}
		x.resize(1024)
	}
	b := a.As16()
	le := binary.LittleEndian
	return mum(le.Uint64(b[:8])^x.seed[0], le.Uint64(b[8:])^x.seed[1]) | 1
}

// find returns a's tally, or nil, and a's hash for add.
func (x *devIndex) find(a netip.Addr) (*DeviceSummary, uint64) {
	h := x.hash(a)
	mask := uint64(len(x.slots) - 1)
	for i := h >> x.shift; ; i = (i + 1) & mask {
		s := &x.slots[i]
		if s.h == 0 {
			return nil, h
		}
		if s.h == h && s.d.Tally.Addr == a {
			return s.d, h
		}
	}
}

// add indexes d, of hash h (from find), which it does not hold yet.
func (x *devIndex) add(d *DeviceSummary, h uint64) {
	x.devs = append(x.devs, d)
	if 2*len(x.devs) > len(x.slots) {
		x.resize(2 * len(x.slots))
	}
	x.place(devSlot{h, d})
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
