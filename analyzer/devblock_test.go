package analyzer

import (
	"net/netip"
	"testing"

	"orchard/report"
)

// TestDevBlocks adds the addresses of each case in order, twice, and
// checks every lookup against a map: IPv4 devices in blocks and, where
// blocks may not be made, in the hashed table, with a /24 split between
// the two when its block came after its first device.
func TestDevBlocks(t *testing.T) {
	v4 := func(a, b, c, d int) netip.Addr { return netip.AddrFrom4([4]byte{byte(a), byte(b), byte(c), byte(d)}) }
	var dense, boundary, sparse, mixed, mapped, late []netip.Addr
	for i := 1; i <= 1<<16; i++ { // a flood's clients: every /24 a block
		dense = append(dense, v4(10, i>>16, i>>8, i))
	}
	for c := 0; c < 4; c++ { // the ends of neighbouring /24s
		boundary = append(boundary, v4(192, 168, c, 0), v4(192, 168, c, 255), v4(192, 168, c, 1), v4(192, 168, c, 254))
	}
	boundary = append(boundary, v4(0, 0, 0, 0), v4(255, 255, 255, 255), v4(255, 255, 255, 0))
	for i := 0; i < 3*maxDevBlocks*blockDensity; i++ { // sparse: one device a /24
		sparse = append(sparse, v4(100, i>>8, i, 7))
	}
	for i := 0; i < 4000; i++ { // IPv4 among IPv6, and each IPv4 also mapped
		a := v4(172, 16, i>>8, i)
		mixed = append(mixed, a, netip.AddrFrom16([16]byte{0x20, 0x01, 0xd, 0xb8, 14: byte(i >> 8), 15: byte(i)}))
		mapped = append(mapped, netip.AddrFrom16(a.As16()), a)
	}
	for i := 0; i < 200; i++ { // sparse first, so later /24s find hashed siblings
		late = append(late, v4(10, 9, i, 1))
	}
	for i := 0; i < 200*256; i++ {
		late = append(late, v4(10, 9, i>>8&0xff, i))
	}
	tests := []struct {
		name   string
		addrs  []netip.Addr
		blocks int // how many blocks, or -1: any
	}{
		{"dense", dense, 257},
		{"boundary", boundary, 1},
		{"sparse past the block cap", sparse, -1},
		{"mixed v4 and v6", mixed, -1},
		{"IPv4-mapped IPv6", mapped, -1},
		{"a /24 in both", late, -1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var x devIndex
			m := map[netip.Addr]*DeviceSummary{}
			for round := 0; round < 2; round++ {
				for _, a := range tc.addrs {
					s, h := x.slot(a)
					var d *DeviceSummary
					if s != nil {
						d = s.d
					}
					if d != m[a] {
						t.Fatalf("round %d: slot(%v) = %p, want %p", round, a, d, m[a])
					}
					if d == nil {
						d = &DeviceSummary{Tally: report.DeviceTally{Addr: a}}
						m[a] = d
						x.add(d, h, false)
					}
				}
			}
			n := len(x.blk.blocks)
			if len(x.devs) != len(m) || n > maxDevBlocks || n > 1+len(m)/blockDensity || (tc.blocks >= 0 && n != tc.blocks) {
				t.Errorf("%d tallies for %d addresses, %d blocks (want %d)", len(x.devs), len(m), n, tc.blocks)
			}
			if len(x.slots) < 2*x.hashed {
				t.Errorf("%d hashed devices in %d slots", x.hashed, len(x.slots))
			}
		})
	}
}

// TestDevBlocksMore checks that a device's slotMore mark is kept in a
// block as in the hashed table.
func TestDevBlocksMore(t *testing.T) {
	var x devIndex
	a := netip.MustParseAddr("10.1.2.3")
	_, h := x.slot(a)
	x.add(&DeviceSummary{Tally: report.DeviceTally{Addr: a}}, h, true)
	if s, _ := x.slot(a); s == nil || s.h&slotMore == 0 || len(x.blk.blocks) != 1 {
		t.Fatalf("slot(%v) = %+v, %d blocks; want a marked slot in a block", a, s, len(x.blk.blocks))
	}
}
