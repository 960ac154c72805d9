package dissect_test

import (
	"strconv"
	"testing"
	"unsafe"

	"orchard/dissect"
)

func testQuery(name string) []byte {
	return dnsQuestion(dnsHeader(1, 0x0100, 1, 0, 0, 0), name, 1)
}

// TestDNSInternNames checks that an interning message hands out the same
// string for a name seen before, that names stay right through evictions
// from its table, and that a name the table has costs no allocation.
func TestDNSInternNames(t *testing.T) {
	var m dissect.DNSMessage
	m.InternNames(16)
	names := []string{"a.apple.com", "b.apple.com", "mesu.apple.com"}
	first := map[string]*byte{}
	for round := 0; round < 3; round++ {
		for _, n := range names {
			if err := m.Decode(testQuery(n)); err != nil {
				t.Fatal(err)
			}
			got := m.Questions[0].Name
			if got != n {
				t.Fatalf("name %q, want %q", got, n)
			}
			if p, ok := first[n]; ok && p != unsafe.StringData(got) {
				t.Errorf("round %d: %q decoded into a new string", round, n)
			}
			first[n] = unsafe.StringData(got)
		}
	}
	// Many more names than the table holds: each decodes right.
	for i := 0; i < 1000; i++ {
		n := "h" + strconv.Itoa(i) + ".example.com"
		if err := m.Decode(testQuery(n)); err != nil || m.Questions[0].Name != n {
			t.Fatalf("%q decoded as %q (%v)", n, m.Questions[0].Name, err)
		}
	}
	q := testQuery("mesu.apple.com")
	_ = m.Decode(q)
	if allocs := testing.AllocsPerRun(100, func() { _ = m.Decode(q) }); allocs != 0 {
		t.Errorf("%.1f allocations decoding a name the table has", allocs)
	}
}

// FuzzDNSDecodeReused checks that a message decoding a stream of inputs
// with a small name table and without address text gives what a fresh
// ParseDNS gives, addresses aside.
func FuzzDNSDecodeReused(f *testing.F) {
	f.Add(pushChainMsg(), testQuery("mesu.apple.com"))
	f.Add(testQuery("a.apple.com"), testQuery("A.apple.com"))
	var m dissect.DNSMessage
	m.InternNames(4)
	m.NoAddrText = true
	f.Fuzz(func(t *testing.T, a, b []byte) {
		for _, in := range [][]byte{a, b, a} {
			want, werr := dissect.ParseDNS(in)
			err := m.Decode(in)
			if (err == nil) != (werr == nil) || len(m.Questions) != len(want.Questions) || len(m.Answers) != len(want.Answers) {
				t.Fatalf("reused: %v, %d questions, %d answers; fresh: %v, %d, %d", err, len(m.Questions), len(m.Answers), werr, len(want.Questions), len(want.Answers))
			}
			for i, q := range want.Questions {
				if m.Questions[i] != q {
					t.Fatalf("question %d: %+v, want %+v", i, m.Questions[i], q)
				}
			}
			for i, r := range want.Answers {
				g := m.Answers[i]
				if r.Addr.IsValid() {
					if g.Data != "" || g.Addr != r.Addr {
						t.Fatalf("answer %d: %+v, want address %v and no text", i, g, r.Addr)
					}
					g.Data = r.Data
				}
				if g != r {
					t.Fatalf("answer %d: %+v, want %+v", i, g, r)
				}
			}
		}
	})
}
