package analyzer

import (
	"net/netip"
	"testing"
)

// TestFindingSet adds the hashes of many keys that differ in one field
// each and checks that every added key is found and that keys not added
// are (nearly all) not.
func TestFindingSet(t *testing.T) {
	var s findingSet
	key := func(i int) findingKey {
		a := netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)})
		k := findingKey{name: "tcp.syn_unanswered", host: "gs.apple.com", client: a, server: a, port: 443}
		switch i % 5 {
		case 1:
			k.host = "albert.apple.com"
		case 2:
			k.port = 5223
		case 3:
			k.undecided = true
		case 4:
			k.server = netip.AddrFrom16(a.As16()) // the same bytes, mapped
		}
		return k
	}
	const n = 20000
	for i := 0; i < n; i++ {
		k := key(i)
		s.add(s.hash(&k))
	}
	wrong := 0
	for i := 0; i < 2*n; i++ {
		k := key(i)
		switch has := s.has(s.hash(&k)); {
		case i < n && !has:
			t.Fatalf("key %d added but not found", i)
		case i >= n && has:
			wrong++
		}
	}
	if wrong > 0 {
		t.Errorf("%d of %d keys not added were found", wrong, n)
	}
	if s.n != n || len(s.slots) < 2*s.n {
		t.Errorf("%d hashes in %d slots", s.n, len(s.slots))
	}
}
