package analyzer

import (
	"net/netip"
	"testing"
	"time"

	"orchard/decode"
	"orchard/flow"
)

// recSink records the events an engine emits.
type recSink struct {
	flows    []FlowEvent
	dns      []DNSEvent
	findings []Finding
}

func (r *recSink) Flow(e *FlowEvent)  { r.flows = append(r.flows, *e) }
func (r *recSink) DNS(e *DNSEvent)    { r.dns = append(r.dns, e.Clone()) }
func (r *recSink) Finding(f *Finding) { r.findings = append(r.findings, *f) }

func newTestEngine(t *testing.T, cfg Config) (*Engine, *recSink) {
	t.Helper()
	s := &recSink{}
	cfg.Sink = s
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return e, s
}

const (
	fS = decode.FlagSYN
	fA = decode.FlagACK
	fF = decode.FlagFIN
	fR = decode.FlagRST
	fP = decode.FlagPSH
)

// pkt is a compact description of one TCP packet in a test script.
type pkt struct {
	at      float64 // seconds from the start
	fromSrv bool
	flags   uint8
	seq     uint32
	ack     uint32
	data    string
	ttl     uint8
}

var (
	tClient = netip.MustParseAddr("192.168.1.20")
	tServer = netip.MustParseAddr("17.57.144.10") // Apple's APNs range
	t0      = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC).UnixNano()
)

func feedTCP(e *Engine, cport, sport uint16, script []pkt) {
	for _, s := range script {
		p := decode.Packet{IPVersion: 4, Proto: decode.ProtoTCP, TCPFlags: s.flags, Seq: s.seq, Ack: s.ack, Payload: []byte(s.data), TTL: s.ttl, WireLen: 60 + len(s.data)}
		if p.TTL == 0 {
			p.TTL = 64
			if s.fromSrv {
				p.TTL = 52
			}
		}
		if s.fromSrv {
			p.Src, p.Dst, p.SrcPort, p.DstPort = tServer, tClient, sport, cport
		} else {
			p.Src, p.Dst, p.SrcPort, p.DstPort = tClient, tServer, cport, sport
		}
		e.Packet(&p, t0+int64(s.at*float64(time.Second)))
	}
}

func TestTCPStates(t *testing.T) {
	hs := []pkt{{0, false, fS, 100, 0, "", 0}, {0.05, true, fS | fA, 500, 101, "", 0}, {0.1, false, fA, 101, 501, "", 0}}
	cases := []struct {
		name    string
		script  []pkt
		state   string
		retries int
		rstBy   string
	}{
		{"S0 with retries", []pkt{{0, false, fS, 100, 0, "", 0}, {1, false, fS, 100, 0, "", 0}, {3, false, fS, 100, 0, "", 0}}, "S0", 2, ""},
		{"REJ", []pkt{{0, false, fS, 100, 0, "", 0}, {0.01, true, fR | fA, 0, 101, "", 0}}, "REJ", 0, "server"},
		{"S1", hs, "S1", 0, ""},
		{"SF", append(append([]pkt{}, hs...), pkt{1, false, fF | fA, 101, 501, "", 0}, pkt{1.1, true, fF | fA, 501, 102, "", 0}), "SF", 0, ""},
		{"S2", append(append([]pkt{}, hs...), pkt{1, false, fF | fA, 101, 501, "", 0}), "S2", 0, ""},
		{"S3", append(append([]pkt{}, hs...), pkt{1, true, fF | fA, 501, 101, "", 0}), "S3", 0, ""},
		{"RSTO", append(append([]pkt{}, hs...), pkt{1, false, fR, 101, 0, "", 0}), "RSTO", 0, "client"},
		{"RSTR", append(append([]pkt{}, hs...), pkt{1, true, fR, 501, 0, "", 0}), "RSTR", 0, "server"},
		{"RSTOS0", []pkt{{0, false, fS, 100, 0, "", 0}, {1, false, fR, 101, 0, "", 0}}, "RSTOS0", 0, "client"},
		{"SH", []pkt{{0, false, fS, 100, 0, "", 0}, {1, false, fF, 101, 0, "", 0}}, "SH", 0, ""},
		{"RSTRH", []pkt{{0, true, fS | fA, 500, 101, "", 0}, {1, true, fR, 501, 0, "", 0}}, "RSTRH", 0, "server"},
		{"SHR", []pkt{{0, true, fS | fA, 500, 101, "", 0}, {1, true, fF | fA, 501, 101, "", 0}}, "SHR", 0, ""},
		{"OTH midstream", []pkt{{0, false, fA | fP, 1000, 2000, "abc", 0}, {0.1, true, fA, 2000, 1003, "", 0}}, "OTH", 0, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e, s := newTestEngine(t, Config{})
			feedTCP(e, 50000, 443, c.script)
			e.Finish()
			if len(s.flows) != 1 {
				t.Fatalf("got %d flows, want 1", len(s.flows))
			}
			f := s.flows[0]
			if f.State != c.state || f.SynRetries != c.retries || f.RSTBy != c.rstBy {
				t.Errorf("state %s retries %d rst_by %q; want %s %d %q", f.State, f.SynRetries, f.RSTBy, c.state, c.retries, c.rstBy)
			}
			if f.Client != tClient.String() || f.Port != 443 || f.ClientPort != 50000 {
				t.Errorf("orientation: %s:%d -> %s:%d", f.Client, f.ClientPort, f.Server, f.Port)
			}
		})
	}
}

func TestSYNACKFirstOrientsToReceiver(t *testing.T) {
	e, s := newTestEngine(t, Config{})
	feedTCP(e, 50000, 5223, []pkt{{0, true, fS | fA, 500, 101, "", 0}, {0.1, false, fA, 101, 501, "", 0}})
	e.Finish()
	if s.flows[0].Client != tClient.String() || s.flows[0].Port != 5223 {
		t.Fatalf("flow %+v", s.flows[0])
	}
}

func TestPortReuseStartsNewFlow(t *testing.T) {
	e, s := newTestEngine(t, Config{})
	feedTCP(e, 50000, 443, []pkt{
		{0, false, fS, 100, 0, "", 0}, {0.01, true, fR | fA, 0, 101, "", 0},
		{5, false, fS, 9000, 0, "", 0}, {5.01, true, fS | fA, 700, 9001, "", 0}, {5.02, false, fA, 9001, 701, "", 0},
	})
	e.Finish()
	if len(s.flows) != 2 || s.flows[0].State != "REJ" || s.flows[1].State != "S1" {
		t.Fatalf("flows: %+v", s.flows)
	}
}

func TestIdleExpiryAndCap(t *testing.T) {
	e, s := newTestEngine(t, Config{MaxFlows: 4, Timeouts: flow.Timeouts{Handshake: 10 * time.Second}})
	for i := 0; i < 10; i++ {
		feedTCP(e, uint16(40000+i), 443, []pkt{{float64(i) * 0.1, false, fS, 1, 0, "", 0}})
	}
	st := e.Stats()
	if st.FlowsEvicted != 6 || st.PeakFlows != 4 {
		t.Fatalf("evicted %d peak %d, want 6 and 4", st.FlowsEvicted, st.PeakFlows)
	}
	// 30 s later a new packet expires the rest by packet time.
	feedTCP(e, 41000, 443, []pkt{{30, false, fS, 1, 0, "", 0}})
	if got := len(s.flows); got != 10 {
		t.Fatalf("%d flows ended after expiry, want 10 (6 evicted, 4 expired)", got)
	}
	for _, f := range s.flows[:6] {
		if !f.Evicted {
			t.Errorf("flow %d not marked evicted", f.ClientPort)
		}
	}
}

func TestICMPUnreachableJoinsFlow(t *testing.T) {
	e, s := newTestEngine(t, Config{})
	feedTCP(e, 50000, 443, []pkt{{0, false, fS, 100, 0, "", 0}})
	router := netip.MustParseAddr("192.168.1.1")
	ic := decode.Packet{IPVersion: 4, Proto: decode.ProtoICMP, Src: router, Dst: tClient, ICMPType: 3, ICMPCode: 13,
		Inner: decode.Quoted{Valid: true, Proto: decode.ProtoTCP, Src: tClient, Dst: tServer, SrcPort: 50000, DstPort: 443}}
	e.Packet(&ic, t0+int64(10*time.Millisecond))
	r := e.Finish()
	if s.flows[0].ICMP == "" {
		t.Fatalf("ICMP not joined: %+v", s.flows[0])
	}
	if len(r.Findings) != 1 || r.Findings[0].Finding != FindICMPUnreachable {
		t.Fatalf("findings: %+v", r.Findings)
	}
}

func TestReassembly(t *testing.T) {
	cases := []struct {
		name string
		segs []struct {
			seq  uint32
			data string
		}
		want string
		gap  bool
	}{
		{"in order", segs(0, "abc", 3, "def"), "abcdef", false},
		{"retransmission", segs(0, "abc", 0, "abc", 3, "def"), "abcdef", false},
		{"overlap", segs(0, "abcd", 2, "cdef"), "abcdef", false},
		{"out of order", segs(3, "def", 0, "abc", 6, "g"), "abcdefg", false},
		{"reordered three", segs(0, "ab", 5, "fg", 2, "cde"), "abcdefg", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := flow.Stream{Limit: 100}
			s.Start(1000)
			for _, sg := range c.segs {
				s.Add(1000+sg.seq, []byte(sg.data))
			}
			if string(s.Buf) != c.want || s.Gap != c.gap {
				t.Errorf("buf %q gap %v; want %q %v", s.Buf, s.Gap, c.want, c.gap)
			}
		})
	}
	// A gap that is never filled: the stream gives up cleanly.
	s := flow.Stream{Limit: 100}
	s.Start(0)
	s.Add(0, []byte("ab"))
	for i := 0; i < flow.MaxPending+1; i++ {
		s.Add(uint32(10+i*2), []byte("zz"))
	}
	if !s.Gap || string(s.Buf) != "ab" {
		t.Errorf("gap not detected: %q %v", s.Buf, s.Gap)
	}
	// The limit caps the buffer.
	s = flow.Stream{Limit: 4}
	s.Add(7, []byte("abcdef"))
	if string(s.Buf) != "abcd" || !s.Full {
		t.Errorf("limit: %q full=%v", s.Buf, s.Full)
	}
	// Sequence numbers wrap around.
	s = flow.Stream{Limit: 100}
	s.Add(0xfffffffe, []byte("ab"))
	s.Add(0, []byte("cd"))
	if string(s.Buf) != "abcd" {
		t.Errorf("wrap: %q", s.Buf)
	}
}

func segs(kv ...any) []struct {
	seq  uint32
	data string
} {
	var out []struct {
		seq  uint32
		data string
	}
	for i := 0; i < len(kv); i += 2 {
		out = append(out, struct {
			seq  uint32
			data string
		}{uint32(kv[i].(int)), kv[i+1].(string)})
	}
	return out
}

func TestSinkholeAddresses(t *testing.T) {
	// A private answer is not a sinkhole by itself: split-horizon DNS and
	// labs use them, and a failing connection to one has its own finding.
	cases := []struct {
		addr     string
		sinkhole bool
	}{
		{"0.0.0.0", true}, {"127.0.0.1", true}, {"::", true}, {"::1", true},
		{"146.112.61.106", true}, {"::ffff:0.0.0.0", true},
		{"10.1.2.3", false}, {"192.168.0.10", false}, {"fd00::1", false},
		{"17.253.4.125", false}, {"23.196.236.203", false}, {"2620:149:a44::1", false},
	}
	for _, c := range cases {
		if got := isSinkhole(netip.MustParseAddr(c.addr)); got != c.sinkhole {
			t.Errorf("%s: sinkhole %v, want %v", c.addr, got, c.sinkhole)
		}
	}
}

// TestBufferBudget opens many flows whose server sends a TLS record that
// never completes: the stream buffers stay under the budget, the refusals
// are counted, and every byte is given back when the flows end.
func TestBufferBudget(t *testing.T) {
	const budget = 64 << 10
	e, _ := newTestEngine(t, Config{BufferBudget: budget})
	// A TLS handshake record header announcing 16 KiB, then 1400 bytes of it.
	rec := append([]byte{22, 3, 3, 0x40, 0x00}, make([]byte, 1395)...)
	for i := 0; i < 200; i++ {
		feedTCP(e, uint16(30000+i), 443, []pkt{
			{0, false, fS, 100, 0, "", 0}, {0.01, true, fS | fA, 500, 101, "", 0}, {0.02, false, fA, 101, 501, "", 0},
			{0.03, true, fA | fP, 501, 101, string(rec), 0},
			{0.04, true, fA | fP, 501 + uint32(len(rec)), 101, string(rec[5:]), 0},
		})
		if in := e.flows().Table.Pool.InUse; in > budget {
			t.Fatalf("after %d flows %d bytes buffered, over the %d budget", i+1, in, budget)
		}
	}
	if e.Stats().BufferDenied == 0 {
		t.Error("no stream was refused a buffer")
	}
	e.Finish()
	if in := e.flows().Table.Pool.InUse; in != 0 {
		t.Errorf("%d bytes still counted in use after every flow ended", in)
	}
}

// TestPendingBytesBounded sends many out-of-order segments: what waits for
// the hole never exceeds the room the stream has left.
func TestPendingBytesBounded(t *testing.T) {
	s := flow.Stream{Limit: 4096}
	s.Start(0)
	for i := 0; i < flow.MaxPending; i++ {
		s.Add(uint32(100+i*1000), make([]byte, 3000))
	}
	n := 0
	for _, p := range s.Pending() {
		n += len(p.Data)
	}
	if n > int(s.Limit) {
		t.Errorf("%d bytes pending for a %d-byte stream", n, s.Limit)
	}
}

// TestResetVerdicts: a server reset mid-connection is a finding; a reset
// after a FIN (an abortive close with unread data) is not; a reset whose
// TTL disagrees with the server's packets is injected.
func TestResetVerdicts(t *testing.T) {
	hs := []pkt{{0, false, fS, 100, 0, "", 0}, {0.05, true, fS | fA, 500, 101, "", 0}, {0.1, false, fA, 101, 501, "", 0},
		{0.2, false, fA | fP, 101, 501, "hello", 0}, {0.3, true, fA | fP, 501, 106, "world", 0}}
	cases := []struct {
		name string
		tail []pkt
		want string
		sev  string
	}{
		{"server reset", []pkt{{1, true, fR | fA, 506, 106, "", 0}}, FindReset, "warn"},
		{"reset after the server's FIN", []pkt{{1, true, fF | fA, 506, 106, "", 0}, {1.1, true, fR, 507, 0, "", 0}}, "", ""},
		{"reset after the client's FIN", []pkt{{1, false, fF | fA, 106, 506, "", 0}, {1.1, true, fR, 506, 0, "", 0}}, "", ""},
		{"injected reset", []pkt{{1, true, fR | fA, 506, 106, "", 250}}, FindReset, "error"},
		{"client reset", []pkt{{1, false, fR | fA, 106, 506, "", 0}}, "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e, _ := newTestEngine(t, Config{})
			feedTCP(e, 50000, 443, append(append([]pkt{}, hs...), c.tail...))
			r := e.Finish()
			got, sev := "", ""
			if len(r.Findings) > 0 {
				got, sev = r.Findings[0].Finding, r.Findings[0].Severity
			}
			if got != c.want || sev != c.sev {
				t.Errorf("finding %q %q, want %q %q (%+v)", got, sev, c.want, c.sev, r.Findings)
			}
		})
	}
}
