package analyzer

import (
	"net/netip"
	"strings"
	"testing"

	"orchard/dissect"
	"orchard/flow"
	"orchard/shapes"
)

const testShapes = "# test\n" +
	"gdmf.apple.com\t13:1301:001d:002b-0033:-\t52,4742,281,69\t3\tlab\n" +
	"gsa.apple.com\t12:c02f:-:0000-ff01-000b-0010:http/1.1\t3326,333,4\t1\tlab\n"

func TestIntercept(t *testing.T) {
	base, err := shapes.Parse(strings.NewReader(testShapes), "test.tsv")
	if err != nil {
		t.Fatal(err)
	}
	sh13 := dissect.ServerHello{Version: 0x0304, LegacyVersion: 0x0303, CipherSuite: 0x1301, Group: 0x001d, Extensions: []uint16{0x002b, 0x0033}}
	sh12 := dissect.ServerHello{Version: 0x0303, LegacyVersion: 0x0303, CipherSuite: 0xc02f, Extensions: []uint16{0xff01, 0x0010}}
	appleFlight := [4]uint16{52, 4742, 281, 69}
	otherFlight := [4]uint16{52, 1012, 80, 52}
	const ms = int64(1e6)
	type tc struct {
		name         string
		host         string
		apple        bool
		sh           dissect.ServerHello
		offer13      bool
		syn, hello   int64 // SYN → SYN-ACK, ClientHello → ServerHello
		flight       [4]uint16
		synRetries   int
		hrr, lossy   bool
		certs        bool
		want, wantEv string
	}
	cases := []tc{
		{name: "direct", host: "gdmf.apple.com", apple: true, sh: sh13, offer13: true, syn: 40 * ms, hello: 43 * ms, flight: appleFlight},
		{name: "slow server", host: "gdmf.apple.com", apple: true, sh: sh13, offer13: true, syn: 20 * ms, hello: 70 * ms, flight: appleFlight},
		{name: "plain TCP relay", host: "gdmf.apple.com", apple: true, sh: sh13, offer13: true, syn: ms / 3, hello: 81 * ms, flight: appleFlight,
			want: FindMiddlebox, wantEv: "ServerHello 81 ms after the ClientHello though the SYN-ACK came after 0.3 ms"},
		{name: "inspector, forged chain's size", host: "gdmf.apple.com", apple: true, sh: sh13, offer13: true, syn: ms / 3, hello: 81 * ms, flight: otherFlight,
			want: FindIntercepted, wantEv: "first flight of 1196 bytes where gdmf.apple.com sends 5144; server packets arrive with TTL 64 (0 hops away); confidence high: TLS inspection"},
		{name: "inspector, other stack", host: "gdmf.apple.com", apple: true, sh: dissect.ServerHello{Version: 0x0304, CipherSuite: 0x1302, Group: 0x0017, Extensions: []uint16{0x0033, 0x002b}}, offer13: true, syn: ms / 3, hello: 81 * ms, flight: otherFlight,
			want: FindIntercepted, wantEv: "server hello shape 13:1302:0017:0033-002b:- is not one gdmf.apple.com answers with"},
		{name: "inspector, unknown host", host: "new.apple.com", apple: true, sh: dissect.ServerHello{Version: 0x0304, CipherSuite: 0x1302, Group: 0x0017, Extensions: []uint16{0x0033, 0x002b}}, offer13: true, syn: ms / 3, hello: 81 * ms,
			want: FindIntercepted, wantEv: "not among Apple's known server shapes; server packets arrive with TTL 64 (0 hops away); confidence medium"},
		{name: "unknown host, known shape, terminated", host: "new.apple.com", apple: true, sh: sh13, offer13: true, syn: ms / 3, hello: 81 * ms, want: FindMiddlebox},
		{name: "downgrade of a TLS 1.3 host", host: "gdmf.apple.com", apple: true, sh: sh12, offer13: true, syn: 40 * ms, hello: 41 * ms,
			want: FindDowngraded, wantEv: "answered TLS1.2 by a host that answers TLS 1.3"},
		{name: "downgrade and termination", host: "gdmf.apple.com", apple: true, sh: sh12, offer13: true, syn: ms / 3, hello: 81 * ms, want: FindIntercepted},
		{name: "TLS 1.2 host", host: "gsa.apple.com", apple: true, sh: dissect.ServerHello{Version: 0x0303, CipherSuite: 0xc02f, Extensions: []uint16{0x0000, 0xff01, 0x000b, 0x0010}, ALPN: "http/1.1"}, offer13: true, syn: 40 * ms, hello: 41 * ms},
		{name: "downgrade with a genuine chain", host: "gdmf.apple.com", apple: true, sh: sh12, offer13: true, syn: 40 * ms, hello: 41 * ms, certs: true},
		{name: "no 1.3 offered", host: "gdmf.apple.com", apple: true, sh: sh12, syn: 40 * ms, hello: 41 * ms},
		{name: "retried SYN", host: "gdmf.apple.com", apple: true, sh: sh13, offer13: true, syn: ms / 3, hello: 81 * ms, flight: appleFlight, synRetries: 1},
		{name: "HelloRetryRequest", host: "gdmf.apple.com", apple: true, sh: sh13, offer13: true, syn: ms / 3, hello: 81 * ms, flight: appleFlight, hrr: true},
		{name: "retransmission", host: "gdmf.apple.com", apple: true, sh: sh13, offer13: true, syn: ms / 3, hello: 250 * ms, flight: appleFlight, lossy: true},
		{name: "not Apple", host: "www.example.org", sh: sh13, offer13: true, syn: ms / 3, hello: 81 * ms},
		{name: "ServerHello unseen", host: "gdmf.apple.com", apple: true, sh: sh13, offer13: true, syn: ms / 3},
	}
	e, err := New(Config{ServerShapes: base})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t0 := int64(1_700_000_000) * 1e9
			sh := c.sh
			ch := &dissect.ClientHello{SupportedVersions: []uint16{0x0303}}
			if c.offer13 {
				ch.SupportedVersions = []uint16{0x0a0a, 0x0304, 0x0303}
			}
			f := &flow.Flow{Server: netip.MustParseAddr("17.253.3.3"), SynTime: t0, SynAckTime: t0 + c.syn, SynRetries: c.synRetries, FirstRST: -1, App: &flow.Facts{Hello: ch, ServerHello: &sh}}
			f.Resp.FirstTTL, f.Resp.TTLSet = 64, true
			ic := &f.App.Intercept
			ic.HelloAt = t0 + c.syn + ms/10
			if c.hello > 0 {
				ic.ServerAt = ic.HelloAt + c.hello
			}
			ic.Flight, ic.HRR, ic.Lossy = c.flight, c.hrr, c.lossy
			for _, v := range c.flight {
				if v != 0 {
					ic.FlightN++
				}
			}
			if c.certs {
				f.App.Certs = [][]byte{{1}}
			}
			v := e.judge.intercept(f, &attribution{host: c.host, source: SourceSNI, apple: c.apple})
			if v.name() != c.want || !strings.Contains(v.evidence, c.wantEv) {
				t.Errorf("got %q %q, want %q containing %q", v.name(), v.evidence, c.want, c.wantEv)
			}
		})
	}
}

// TestInterceptHops: a terminated flow's hop count is compared with the
// other flows to the same /16 whose timing showed no box.
func TestInterceptHops(t *testing.T) {
	e, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	j := e.judge
	direct := &flow.Flow{Server: netip.MustParseAddr("17.253.1.1"), SynTime: 1e9, SynAckTime: 1e9 + 30e6}
	if n := j.hopNote(direct, false, hops(58), 58); n != nil {
		t.Errorf("unterminated flow: %v", n)
	}
	near := &flow.Flow{Server: netip.MustParseAddr("17.253.200.2")}
	if n := j.hopNote(near, true, hops(64), 64); len(n) != 1 || n[0] != "server packets arrive with TTL 64 (0 hops away), 6 nearer than the other flows to 17.253.0.0/16" {
		t.Errorf("got %v", n)
	}
	other := &flow.Flow{Server: netip.MustParseAddr("17.57.1.1")}
	if n := j.hopNote(other, true, hops(64), 64); len(n) != 1 || strings.Contains(n[0], "nearer") {
		t.Errorf("another network: %v", n)
	}
}

// TestInterceptFacts: the first flight is the records after the
// ServerHello's, CCS left out, until the client answers it.
func TestInterceptFacts(t *testing.T) {
	f := &flow.Flow{}
	var ic flow.InterceptFacts
	ic.ClientSeen(&dissect.TLSStream{ClientHello: &dissect.ClientHello{}, Records: []dissect.Record{{Type: 22, Length: 512}, {Type: 20, Length: 1}}}, 5)
	srv := &dissect.TLSStream{ServerHello: &dissect.ServerHello{Version: 0x0304}, Records: []dissect.Record{{Type: 22, Length: 90}, {Type: 20, Length: 1}, {Type: 23, Length: 52}}}
	ic.ServerSeen(f, srv, 9)
	srv.Records = append(srv.Records, dissect.Record{Type: 23, Length: 4742}, dissect.Record{Type: 23, Length: 281}, dissect.Record{Type: 23, Length: 69})
	ic.ServerSeen(f, srv, 10)
	ic.ClientSeen(&dissect.TLSStream{Records: []dissect.Record{{Type: 22, Length: 512}, {Type: 20, Length: 1}, {Type: 23, Length: 53}}}, 11)
	srv.Records = append(srv.Records, dissect.Record{Type: 23, Length: 300})
	ic.ServerSeen(f, srv, 12)
	if ic.HelloAt != 5 || ic.ServerAt != 9 || ic.FlightN != 4 || ic.Flight != [4]uint16{52, 4742, 281, 69} || ic.Lossy {
		t.Errorf("got %+v", ic)
	}
	// A byte counted that the buffers do not hold: a retransmission.
	f2 := &flow.Flow{}
	f2.Orig.Bytes = 600
	var ic2 flow.InterceptFacts
	ic2.ServerSeen(f2, srv, 9)
	if !ic2.Lossy {
		t.Error("retransmission not noticed")
	}
}
