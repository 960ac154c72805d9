package lab

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"orchard/dissect"
)

var testZone = Zone{
	"gdmf.apple.com":           netip.MustParseAddr("10.231.2.12"),
	"1-courier.push.apple.com": netip.MustParseAddr("10.231.2.10"),
}

// memConn is a datagram conn whose peer is the zone: each Write is a
// query, each Read returns the answer. It lets Go's own resolver talk to
// the lab server without a socket, and records the queries it sends.
type memConn struct {
	zone    Zone
	mu      sync.Mutex
	queries [][]byte
	answers [][]byte
	ready   chan struct{}
}

func newMemConn(z Zone) *memConn { return &memConn{zone: z, ready: make(chan struct{}, 16)} }

func (c *memConn) Write(b []byte) (int, error) {
	c.mu.Lock()
	c.queries = append(c.queries, append([]byte(nil), b...))
	if a := c.zone.Answer(b); a != nil {
		c.answers = append(c.answers, a)
		c.ready <- struct{}{}
	}
	c.mu.Unlock()
	return len(b), nil
}

func (c *memConn) Read(b []byte) (int, error) {
	select {
	case <-c.ready:
	case <-time.After(2 * time.Second):
		return 0, errors.New("memconn: no answer")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	a := c.answers[0]
	c.answers = c.answers[1:]
	return copy(b, a), nil
}

func (c *memConn) ReadFrom(b []byte) (int, net.Addr, error) {
	n, err := c.Read(b)
	return n, c.RemoteAddr(), err
}
func (c *memConn) WriteTo(b []byte, _ net.Addr) (int, error) { return c.Write(b) }
func (c *memConn) Close() error                              { return nil }
func (c *memConn) LocalAddr() net.Addr                       { return &net.UDPAddr{Port: 5353} }
func (c *memConn) RemoteAddr() net.Addr                      { return &net.UDPAddr{Port: 53} }
func (c *memConn) SetDeadline(time.Time) error               { return nil }
func (c *memConn) SetReadDeadline(time.Time) error           { return nil }
func (c *memConn) SetWriteDeadline(time.Time) error          { return nil }

// resolverQueries resolves names with Go's resolver against the zone and
// returns the raw queries it sent.
func resolverQueries(t testing.TB) [][]byte {
	conn := newMemConn(testZone)
	r := &net.Resolver{PreferGo: true, Dial: func(context.Context, string, string) (net.Conn, error) { return conn, nil }}
	ctx := context.Background()
	got, err := r.LookupNetIP(ctx, "ip4", "GDMF.apple.com.")
	if err != nil || len(got) != 1 || got[0] != testZone["gdmf.apple.com"] {
		t.Fatalf("ip4 lookup: %v %v", got, err)
	}
	var de *net.DNSError
	if _, err := r.LookupNetIP(ctx, "ip6", "gdmf.apple.com."); !errors.As(err, &de) || !de.IsNotFound {
		t.Fatalf("ip6 lookup of an A-only name: %v", err)
	}
	if _, err := r.LookupNetIP(ctx, "ip4", "nowhere.example."); !errors.As(err, &de) || !de.IsNotFound {
		t.Fatalf("unknown name: %v", err)
	}
	conn.mu.Lock()
	defer conn.mu.Unlock()
	if len(conn.queries) < 3 {
		t.Fatalf("%d queries", len(conn.queries))
	}
	return conn.queries
}

// Go's resolver asks the lab zone and gets what the lab needs: the A
// record, an empty answer for AAAA, NXDOMAIN for other names.
func TestResolverAgainstZone(t *testing.T) {
	for _, q := range resolverQueries(t) {
		pq, err := ParseQuery(q)
		if err != nil {
			t.Fatalf("ParseQuery(% x): %v", q, err)
		}
		m, err := dissect.ParseDNS(testZone.Answer(q))
		if err != nil {
			t.Fatalf("answer to %s: %v", pq.Name, err)
		}
		if !m.Response || !m.Authoritative || m.ID != pq.ID || len(m.Questions) != 1 || m.Questions[0].Name != pq.Name {
			t.Fatalf("answer to %s: %+v", pq.Name, m)
		}
	}
}

func dnsQuery(flags uint16, qd uint16, name []byte, qtype uint16) []byte {
	b := []byte{0x12, 0x34, byte(flags >> 8), byte(flags), byte(qd >> 8), byte(qd), 0, 0, 0, 0, 0, 0}
	b = append(b, name...)
	return append(b, byte(qtype>>8), byte(qtype), 0, 1)
}

var wireGDMF = []byte("\x04GDMF\x05apple\x03com\x00")

func TestParseQuery(t *testing.T) {
	long := []byte{}
	for i := 0; i < 5; i++ {
		long = append(long, 63)
		for j := 0; j < 63; j++ {
			long = append(long, 'a')
		}
	}
	long = append(long, 0)
	for _, tc := range []struct {
		name string
		in   []byte
		want Query
		err  error
	}{
		{"a", dnsQuery(0x0100, 1, wireGDMF, TypeA), Query{ID: 0x1234, Flags: 0x0100, Name: "gdmf.apple.com", Type: TypeA, Class: 1, End: 32}, nil},
		{"root", dnsQuery(0, 1, []byte{0}, 2), Query{ID: 0x1234, Name: "", Type: 2, Class: 1, End: 17}, nil},
		{"header only", make([]byte, 11), Query{}, ErrShort},
		{"response", dnsQuery(0x8180, 1, wireGDMF, TypeA), Query{}, ErrNotQuery},
		{"notify opcode", dnsQuery(0x2000, 1, wireGDMF, TypeA), Query{}, ErrNotQuery},
		{"two questions", dnsQuery(0x0100, 2, wireGDMF, TypeA), Query{}, ErrNotQuery},
		{"pointer", dnsQuery(0x0100, 1, []byte{0xc0, 12}, TypeA), Query{}, ErrName},
		{"name cut", dnsQuery(0x0100, 1, wireGDMF, TypeA)[:20], Query{}, ErrShort},
		{"no terminator", dnsQuery(0x0100, 1, nil, TypeA)[:12], Query{}, ErrShort},
		{"type cut", dnsQuery(0x0100, 1, wireGDMF, TypeA)[:30], Query{}, ErrShort},
		{"too long", dnsQuery(0x0100, 1, long, TypeA), Query{}, ErrName},
		{"odd byte", dnsQuery(0x0100, 1, []byte("\x03a b\x00"), TypeA), Query{}, ErrName},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseQuery(tc.in)
			if !errors.Is(err, tc.err) {
				t.Fatalf("error %v, want %v", err, tc.err)
			}
			if err == nil && got != tc.want {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestAnswer(t *testing.T) {
	for _, tc := range []struct {
		name    string
		in      []byte
		nilOut  bool
		rcode   uint16
		answers int
	}{
		{"a", dnsQuery(0x0100, 1, wireGDMF, TypeA), false, 0, 1},
		{"aaaa", dnsQuery(0x0100, 1, wireGDMF, TypeAAAA), false, 0, 0},
		{"unknown", dnsQuery(0x0100, 1, []byte("\x03www\x07example\x00"), TypeA), false, 3, 0},
		{"pointer", dnsQuery(0x0100, 1, []byte{0xc0, 12}, TypeA), false, 1, 0},
		{"short", make([]byte, 5), true, 0, 0},
		{"response", dnsQuery(0x8180, 1, wireGDMF, TypeA), true, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := testZone.Answer(tc.in)
			if tc.nilOut {
				if out != nil {
					t.Fatalf("answered % x", out)
				}
				return
			}
			m, err := dissect.ParseDNS(out)
			if err != nil {
				t.Fatalf("% x: %v", out, err)
			}
			if !m.Response || m.RCode != tc.rcode || len(m.Answers) != tc.answers {
				t.Fatalf("%+v", m)
			}
			if tc.answers == 1 && (m.Answers[0].Addr != testZone["gdmf.apple.com"] || m.Answers[0].Name != "gdmf.apple.com" || m.Answers[0].TTL != 60) {
				t.Fatalf("answer %+v", m.Answers[0])
			}
		})
	}
}

// FuzzAnswer: any bytes get no answer, or one orchard's DNS parser reads.
func FuzzAnswer(f *testing.F) {
	for _, q := range resolverQueries(f) {
		f.Add(q)
	}
	f.Add(dnsQuery(0x0100, 1, wireGDMF, TypeAAAA))
	f.Add(dnsQuery(0x0100, 1, []byte{0xc0, 12}, TypeA))
	f.Fuzz(func(t *testing.T, b []byte) {
		q, qerr := ParseQuery(b)
		out := testZone.Answer(b)
		if out == nil {
			if len(b) >= 12 && b[2]&0x80 == 0 {
				t.Fatalf("no answer to a query-shaped message: % x", b)
			}
			return
		}
		m, err := dissect.ParseDNS(out)
		if err != nil {
			t.Fatalf("answer % x to % x does not parse: %v", out, b, err)
		}
		if qerr == nil && (len(m.Questions) != 1 || m.Questions[0].Name != q.Name) {
			t.Fatalf("answer to %q carries %+v", q.Name, m.Questions)
		}
		if qerr != nil && m.RCode != rcodeFormErr {
			t.Fatalf("malformed query (%v) answered with rcode %d", qerr, m.RCode)
		}
	})
}

func BenchmarkAnswer(b *testing.B) {
	q := resolverQueries(b)[0]
	b.ReportAllocs()
	b.SetBytes(int64(len(q)))
	for b.Loop() {
		if testZone.Answer(q) == nil {
			b.Fatal("no answer")
		}
	}
}
