package analyzer

import (
	"net/netip"
	"testing"

	"orchard/report"
)

// TestDevIndexMatchesMap indexes many addresses, IPv4 also in its mapped
// IPv6 form (the same 16 bytes, a different device) and with zones, and
// checks every lookup against a map, before and after each is added.
func TestDevIndexMatchesMap(t *testing.T) {
	var x devIndex
	m := map[netip.Addr]*DeviceSummary{}
	var addrs []netip.Addr
	for i := 0; i < 5000; i++ {
		v4 := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		addrs = append(addrs, v4, netip.AddrFrom16(v4.As16()),
			netip.AddrFrom16([16]byte{0xfe, 0x80, 14: byte(i >> 8), 15: byte(i)}).WithZone("en0"))
	}
	for round := 0; round < 2; round++ {
		for _, a := range addrs {
			d, h := x.find(a)
			if d != m[a] {
				t.Fatalf("round %d: find(%v) = %p, want %p", round, a, d, m[a])
			}
			if d == nil {
				d = &DeviceSummary{Tally: report.DeviceTally{Addr: a}}
				m[a] = d
				x.add(d, h, false)
			}
		}
	}
	if len(x.devs) != len(m) || len(x.slots) < 2*x.hashed {
		t.Errorf("%d tallies for %d addresses in %d slots", len(x.devs), len(m), len(x.slots))
	}
}
