package analyzer

import (
	"math/rand/v2"
	"net/netip"
	"testing"

	"orchard/flow"
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

// TestFindingKeysByDevice keeps finding keys of clients whose devices
// are seen before their findings, after them, or never, with more
// findings than a device slot holds, and checks every lookup against a
// map.
func TestFindingKeysByDevice(t *testing.T) {
	e, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	j := e.judge
	m := map[findingKey]int{}
	var untracked uint64
	seen := map[netip.Addr]bool{}
	rnd := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 50000; i++ {
		c := netip.AddrFrom4([4]byte{10, 0, 0, byte(rnd.IntN(200))})
		if rnd.IntN(4) == 0 {
			if c.As4()[3] < 150 { // the others are never devices
				j.env.devs.get(&flow.Flow{Client: c}, &untracked, j.keys.indexed > 0)
				seen[c] = true
			}
			continue
		}
		k := findingKey{name: "tcp.syn_unanswered", host: "gs.apple.com", client: c,
			server: netip.AddrFrom4([4]byte{17, 0, 0, byte(rnd.IntN(6))}), port: 443}
		h := j.keys.hash(&k)
		sl, _ := j.env.devs.idx.slot(c)
		if (sl != nil) != seen[c] {
			t.Fatalf("%v: slot %v, device seen %v", c, sl != nil, seen[c])
		}
		want, ok := m[k]
		if !ok {
			want = -1
		}
		if p := j.findKey(sl, &k, h); p != want {
			t.Fatalf("op %d: %v: found at %d, want %d", i, k, p, want)
		}
		if want < 0 {
			m[k] = len(j.keys.keys)
			j.keepKey(sl, &k, h)
		}
	}
	if len(j.keys.keys) != len(m) || j.keys.indexed == 0 || j.keys.indexed == len(m) {
		t.Errorf("%d keys for %d, %d in the index: want some in device slots and some not", len(j.keys.keys), len(m), j.keys.indexed)
	}
}
