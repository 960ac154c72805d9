package analyzer

import (
	"net/netip"
	"testing"
)

// TestFindingIndex indexes many keys that differ in one field each (one
// of them the same 16 address bytes, mapped, which hash alike) and checks
// every lookup against a map, before and after each key is added.
func TestFindingIndex(t *testing.T) {
	var s findingIndex
	key := func(i int) findingKey {
		a := netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)})
		k := findingKey{name: "tcp.syn_unanswered", host: "gs.apple.com", client: a, server: a, port: 443}
		switch i % 6 {
		case 1:
			k.host = "albert.apple.com"
		case 2:
			k.port = 5223
		case 3:
			k.undecided = true
		case 4:
			k.server = netip.AddrFrom16(a.As16()) // the same bytes, mapped
		case 5:
			k.name = "tcp.syn_rejected"
		}
		return k
	}
	const n = 20000
	m := map[findingKey]int{}
	for round := 0; round < 2; round++ {
		for i := 0; i < 2*n; i++ {
			k := key(i % n)
			if i >= n {
				k.client = k.client.Next() // not added in round 0
			}
			h := s.hash(&k)
			want, ok := m[k]
			if !ok {
				want = -1
			}
			if p := s.find(&k, h); p != want {
				t.Fatalf("round %d: find(%v) = %d, want %d", round, k, p, want)
			}
			if want < 0 && round == 0 && i < n {
				m[k] = len(s.keys)
				s.add(&k, h)
			}
		}
	}
	if len(s.keys) != len(m) || len(s.slots) < 2*len(s.keys) {
		t.Errorf("%d keys for %d in %d slots", len(s.keys), len(m), len(s.slots))
	}
}
