package flow

import (
	"math/rand/v2"
	"testing"
)

// randKey returns one of a small universe of keys, so that lookups,
// deletions and re-insertions of the same key are frequent.
func randKey(r *rand.Rand, universe int) Key {
	var k Key
	v := r.IntN(universe)
	k.a[15] = byte(v)
	k.a[14] = byte(v >> 8)
	k.b[3] = byte(v >> 16)
	k.pa = uint16(v * 7)
	k.pb = 443
	k.proto = 6
	return k
}

// TestFlowIndexMatchesMap applies random inserts, lookups and deletions to
// the flow index and to a Go map, and compares them after every step.
func TestFlowIndexMatchesMap(t *testing.T) {
	for _, universe := range []int{50, 3000, 100000} {
		r := rand.New(rand.NewPCG(1, uint64(universe)))
		var tb Table
		x := &tb.Flows
		x.newSeed()
		ref := make(map[Key]*Flow)
		for step := 0; step < 200000; step++ {
			k := randKey(r, universe)
			h := x.hash(&k)
			got, want := x.get(&k, h), ref[k]
			if got != want {
				t.Fatalf("universe %d step %d: get = %p, want %p", universe, step, got, want)
			}
			if got := tb.Get(k); got != want {
				t.Fatalf("universe %d step %d: table.get = %p, want %p", universe, step, got, want)
			}
			switch {
			case want == nil && r.IntN(3) > 0:
				f := &Flow{key: k}
				x.insert(f, h)
				ref[k] = f
			case want != nil && r.IntN(2) == 0:
				x.remove(want, h)
				delete(ref, k)
			}
			if x.N != len(ref) {
				t.Fatalf("universe %d step %d: n = %d, want %d", universe, step, x.N, len(ref))
			}
		}
		for k, f := range ref {
			if g := x.get(&k, x.hash(&k)); g != f {
				t.Fatalf("universe %d: final get = %p, want %p", universe, g, f)
			}
		}
		if 2*x.N > len(x.Slots) {
			t.Fatalf("load %d/%d over one half", x.N, len(x.Slots))
		}
	}
}

// TestFlowIndexCollisions forces every key into a few home slots, so
// backward-shift deletion runs over long and wrapping probe sequences.
func TestFlowIndexCollisions(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	var x flowIndex
	x.init(minIndexSlots)
	ref := make(map[Key]*Flow)
	// Hashes whose top bits are all ones start at the last slot and wrap.
	hash := func(k *Key) uint64 { return ^uint64(0)>>2 | uint64(k.pa%4)<<62 | uint64(k.a[15]) }
	for step := 0; step < 100000; step++ {
		k := randKey(r, 400)
		h := hash(&k)
		got, want := x.get(&k, h), ref[k]
		if got != want {
			t.Fatalf("step %d: get = %p, want %p", step, got, want)
		}
		switch {
		case want == nil && len(ref) < 300:
			f := &Flow{key: k}
			x.insert(f, h)
			ref[k] = f
		case want != nil && r.IntN(2) == 0:
			x.remove(want, h)
			delete(ref, k)
		}
	}
	for k, f := range ref {
		if g := x.get(&k, hash(&k)); g != f {
			t.Fatalf("final get = %p, want %p", g, f)
		}
	}
}

// FuzzFlowIndex drives the index with operations decoded from the input
// (bit 7: remove, else insert; bits 0-5: which of 64 keys) and checks it
// against a Go map. Odd keys share four home slots: heavy collisions.
func FuzzFlowIndex(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 0x81, 0x82, 4, 5, 0x84, 0x80})
	f.Add([]byte{1, 3, 5, 7, 0x83, 9, 0x81, 11, 0x87, 3})
	f.Fuzz(func(t *testing.T, ops []byte) {
		var x flowIndex
		hash := func(k *Key) uint64 {
			if k.a[0]&1 != 0 {
				return uint64(k.a[0]%4)<<62 | uint64(k.a[0])
			}
			return x.hash(k)
		}
		ref := make(map[Key]*Flow)
		for _, op := range ops {
			var k Key
			k.a[0] = op & 0x3f
			k.proto = 17
			h := hash(&k)
			want := ref[k]
			if got := x.get(&k, h); got != want {
				t.Fatalf("get(%d) = %p, want %p", k.a[0], got, want)
			}
			switch {
			case op&0x80 == 0 && want == nil:
				fl := &Flow{key: k}
				x.insert(fl, h)
				ref[k] = fl
			case op&0x80 != 0 && want != nil:
				x.remove(want, h)
				delete(ref, k)
			}
			if x.N != len(ref) {
				t.Fatalf("n = %d, want %d", x.N, len(ref))
			}
		}
		for k, fl := range ref {
			if g := x.get(&k, hash(&k)); g != fl {
				t.Fatalf("final get = %p, want %p", g, fl)
			}
		}
	})
}

// TestFlowIndexSpread checks that keys differing in one field only (one
// client scanning ports, one port over many addresses) spread over the
// slots: no long probe sequences.
func TestFlowIndexSpread(t *testing.T) {
	for _, vary := range []string{"port", "addr"} {
		var x flowIndex
		x.newSeed()
		for i := 0; i < 60000; i++ {
			var k Key
			k.a = [16]byte{10: 0xff, 11: 0xff, 12: 10, 15: 1}
			k.b = [16]byte{10: 0xff, 11: 0xff, 12: 17, 13: 253}
			k.pa, k.pb, k.proto = 443, 50000, 6
			if vary == "port" {
				k.pb = uint16(i)
				k.b[15] = byte(i >> 16)
			} else {
				k.b[14], k.b[15], k.b[13] = byte(i>>8), byte(i), byte(i>>16)
			}
			x.insert(&Flow{key: k}, x.hash(&k))
		}
		mask := uint64(len(x.Slots) - 1)
		longest := uint64(0)
		for i, s := range x.Slots {
			if s.Flow != nil {
				longest = max(longest, (uint64(i)-s.hash>>x.shift)&mask)
			}
		}
		if longest > 64 {
			t.Errorf("vary %s: an entry sits %d slots past its home", vary, longest)
		}
	}
}

// TestKeyEqual checks the word-wise key comparisons of flowKey.equal and
// table.get against ==, with keys that differ in one byte or field (the
// index would find a false match only on a full hash collision as well).
func TestKeyEqual(t *testing.T) {
	base := Key{a: [16]byte{10: 0xff, 11: 0xff, 12: 10, 15: 1}, b: [16]byte{0: 0x20, 1: 0x01, 8: 0xff, 15: 9}, pa: 443, pb: 50000, proto: 6}
	variants := []Key{base}
	for i := 0; i < 16; i++ {
		for _, bit := range []byte{1, 0x80} {
			k := base
			k.a[i] ^= bit
			variants = append(variants, k)
			k = base
			k.b[i] ^= bit
			variants = append(variants, k)
		}
	}
	k := base
	k.pa++
	variants = append(variants, k)
	k = base
	k.pb ^= 0x100
	variants = append(variants, k)
	k = base
	k.proto = 17
	variants = append(variants, k)
	// a's first word differing only in bits set in its second word: the
	// case an unbracketed xor-or chain gets wrong.
	k = base
	k.a[7] = 0
	k.a[8] = 0xff
	variants = append(variants, k)
	var tb Table
	tb.Flows.newSeed()
	tb.Flows.init(minIndexSlots)
	for i := range variants {
		f := &Flow{key: variants[i]}
		for j := range variants {
			want := variants[i] == variants[j]
			if got := variants[i].equal(&variants[j]); got != want {
				t.Fatalf("equal(%d, %d) = %v", i, j, got)
			}
			// A full hash collision: f sits where j's key is looked for,
			// under j's hash, and only the key comparison decides.
			h := tb.Flows.hash(&variants[j])
			clear(tb.Flows.Slots)
			tb.Flows.Slots[h>>tb.Flows.shift] = slot{hash: h, Flow: f}
			if got := tb.Get(variants[j]) == f; got != want {
				t.Fatalf("table.get: %d finds %d: %v", j, i, got)
			}
		}
	}
}
