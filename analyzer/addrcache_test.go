package analyzer

import (
	"net/netip"
	"slices"
	"testing"

	"orchard/catalog"
)

// TestAddrRows checks the cache against the catalog and addrString for
// many more addresses than it has slots (so slots are shared and
// replaced), each asked twice, Apple's and others, IPv4 and IPv6.
func TestAddrRows(t *testing.T) {
	cat, err := catalog.Default()
	if err != nil {
		t.Fatal(err)
	}
	var addrs []netip.Addr
	for i := 0; i < 3*addrRowsSlots; i++ {
		addrs = append(addrs,
			netip.AddrFrom4([4]byte{17, byte(i >> 16), byte(i >> 8), byte(i)}),
			netip.AddrFrom4([4]byte{192, 0, byte(i >> 8), byte(i)}),
			netip.AddrFrom16([16]byte{0x26, 0x20, 0x01, 0x49, 14: byte(i >> 8), 15: byte(i)}))
	}
	addrs = append(addrs, netip.MustParseAddr("::ffff:17.57.144.84"), netip.Addr{}, netip.IPv6Unspecified(),
		netip.MustParseAddr("fe80::1%eth0"), netip.MustParseAddr("fe80::1"))
	var c addrRows
	for round := 0; round < 2; round++ {
		for i, a := range addrs {
			if round == 1 {
				a = addrs[len(addrs)-1-i]
			}
			r := c.get(cat, a)
			want := cat.MatchAddr(a)
			if in := r.info; !slices.Equal(in.rows, want) || r.text != addrString(a) || in.push != pushRows(want) {
				t.Fatalf("%v: rows %v text %q push %v, want %v %q %v", a, in.rows, r.text, in.push, want, addrString(a), pushRows(want))
			}
			for _, p := range []struct {
				port  uint16
				proto uint8
			}{{443, 6}, {5223, 6}, {443, 17}, {443, 6}, {0, 47}, {0, 50}} {
				if got, want := r.bestFor(p.port, p.proto), bestEntry(want, p.port, protoName(p.proto)); got != want {
					t.Fatalf("%v: best for %d/%d %v, want %v", a, p.port, p.proto, got, want)
				}
			}
		}
	}
}
