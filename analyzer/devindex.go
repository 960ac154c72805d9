package analyzer

import (
	"encoding/binary"
	"math/rand/v2"
	"net/netip"
)

// devIndex finds a device's tally by its address: an open-addressing
// table with linear probing over the tallies' positions, hashed with a
// keyed hash of the address's 16 bytes. A flood from tens of thousands of
// clients looks one up per flow; a Go map of netip.Addr hashes and
// compares the whole Addr for that, this compares the one address the
// tally holds (which the caller reads next anyway). Tallies are never
// removed. A slot holds the top 32 bits of the hash and the position
// plus one (0: empty); the table is at most half full.
type devIndex struct {
	probeTable
	devs []*DeviceSummary
	seed [2]uint64
}

func (x *devIndex) hash(a netip.Addr) uint64 {
	if x.slots == nil {
		x.seed = [2]uint64{rand.Uint64() | 1, rand.Uint64() | 1}
		x.resize(1024)
	}
	b := a.As16()
	le := binary.LittleEndian
	return mum(le.Uint64(b[:8])^x.seed[0], le.Uint64(b[8:])^x.seed[1])
}

// find returns a's tally, or nil, and a's hash for add.
func (x *devIndex) find(a netip.Addr) (*DeviceSummary, uint64) {
	h := x.hash(a)
	tag := h &^ (1<<32 - 1)
	mask := uint64(len(x.slots) - 1)
	for i := h >> x.shift; ; i = (i + 1) & mask {
		s := x.slots[i]
		if s == 0 {
			return nil, h
		}
		if s&^(1<<32-1) == tag {
			if d := x.devs[uint32(s)-1]; d.Tally.Addr == a {
				return d, h
			}
		}
	}
}

// add indexes d, of hash h (from find), which it does not hold yet.
func (x *devIndex) add(d *DeviceSummary, h uint64) {
	x.devs = append(x.devs, d)
	if 2*len(x.devs) > len(x.slots) {
		x.resize(2 * len(x.slots))
	}
	x.place(h&^(1<<32-1) | uint64(len(x.devs)))
}
