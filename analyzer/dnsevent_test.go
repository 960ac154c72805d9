package analyzer

import (
	"net/netip"
	"testing"

	"orchard/dissect"
	"orchard/flow"
)

// lastDNS keeps a copy of the last DNS event it is given.
type lastDNS struct {
	ev DNSEvent
	n  int
}

func (s *lastDNS) Flow(*FlowEvent)  {}
func (s *lastDNS) DNS(e *DNSEvent)  { s.ev = e.Clone(); s.n++ }
func (s *lastDNS) Finding(*Finding) {}

// discardDNS looks at each DNS event's answers and keeps nothing.
type discardDNS struct{ bytes int }

func (s *discardDNS) Flow(*FlowEvent) {}
func (s *discardDNS) DNS(e *DNSEvent) {
	for _, a := range e.Answers {
		s.bytes += len(a.Data)
	}
	s.bytes += len(e.TS) + len(e.Client) + len(e.Server) + len(e.CommunityID)
}
func (s *discardDNS) Finding(*Finding) {}

func dnsEventMsg(name string, addrs ...netip.Addr) *dissect.DNSMessage {
	m := &dissect.DNSMessage{Response: true, Questions: []dissect.DNSQuestion{{Name: name, Type: 1, Class: 1}}}
	m.Answers = append(m.Answers, dissect.DNSRecord{Name: name, Type: 5, Class: 1, TTL: 60, Data: "e1.a.cdn-apple.com"})
	for _, a := range addrs {
		typ := uint16(1)
		if a.Is6() {
			typ = 28
		}
		m.Answers = append(m.Answers, dissect.DNSRecord{Name: "e1.a.cdn-apple.com", Type: typ, Class: 1, TTL: 30, Addr: a})
	}
	return m
}

// TestDNSEventReused checks that the reused event says what a fresh
// one would, response after response, however its buffers grew.
func TestDNSEventReused(t *testing.T) {
	v6 := netip.MustParseAddr("2620:149:a44::1")
	tests := []struct {
		name  string
		addrs []netip.Addr
		want  []string
	}{
		{"none", nil, []string{"e1.a.cdn-apple.com"}},
		{"v4", []netip.Addr{netip.AddrFrom4([4]byte{17, 253, 1, 2})}, []string{"e1.a.cdn-apple.com", "17.253.1.2"}},
		{"mapped", []netip.Addr{netip.MustParseAddr("::ffff:17.1.2.3")}, []string{"e1.a.cdn-apple.com", "::ffff:17.1.2.3"}},
		{"v6 zone", []netip.Addr{v6, v6.WithZone("en0")}, []string{"e1.a.cdn-apple.com", "2620:149:a44::1", "2620:149:a44::1%en0"}},
		{"none again", nil, []string{"e1.a.cdn-apple.com"}},
	}
	sink := &lastDNS{}
	e, err := New(Config{Sink: sink})
	if err != nil {
		t.Fatal(err)
	}
	f := udpFlow(ruleDNS, 53, 1, 1)
	for _, tt := range tests {
		m := dnsEventMsg("gateway.icloud.com", tt.addrs...)
		e.judge.Answer(f, flow.Answer{Client: ruleClient, Server: ruleDNS, Port: 53, Msg: m, TS: r0, Proto: "udp"})
		ev := sink.ev
		if ev.TS != rfc3339(r0) || ev.Client != addrString(ruleClient) || ev.Server != addrString(ruleDNS) || ev.CommunityID != flowCommunityID(f) {
			t.Errorf("%s: ts %q client %q server %q id %q", tt.name, ev.TS, ev.Client, ev.Server, ev.CommunityID)
		}
		if ev.Query != "gateway.icloud.com" || ev.QType != "A" || ev.RCode != "NOERROR" || ev.Port != 53 || ev.Proto != "udp" || ev.Type != "dns" {
			t.Errorf("%s: %+v", tt.name, ev)
		}
		if len(ev.Answers) != len(tt.want) {
			t.Fatalf("%s: %d answers, want %d", tt.name, len(ev.Answers), len(tt.want))
		}
		for i, w := range tt.want {
			if ev.Answers[i].Data != w {
				t.Errorf("%s: answer %d is %q, want %q", tt.name, i, ev.Answers[i].Data, w)
			}
		}
	}
	if sink.n != len(tests) {
		t.Errorf("%d events, want %d", sink.n, len(tests))
	}
}

// TestDNSEventNoAlloc checks that a Sink that keeps nothing costs the
// judge no allocation per DNS response.
func TestDNSEventNoAlloc(t *testing.T) {
	e, f, a := dnsEventBench(t)
	if n := testing.AllocsPerRun(200, func() { e.judge.Answer(f, *a) }); n != 0 {
		t.Errorf("%.1f allocations per DNS event, want 0", n)
	}
}

func dnsEventBench(tb testing.TB) (*Engine, *flow.Flow, *flow.Answer) {
	e, err := New(Config{Sink: &discardDNS{}})
	if err != nil {
		tb.Fatal(err)
	}
	var addrs []netip.Addr
	for i := 0; i < 19; i++ {
		addrs = append(addrs, netip.AddrFrom4([4]byte{17, 253, 1, byte(i)}))
	}
	f := udpFlow(ruleDNS, 53, 1, 1)
	return e, f, &flow.Answer{Client: ruleClient, Server: ruleDNS, Port: 53, Msg: dnsEventMsg("gateway.icloud.com", addrs...), TS: r0, Proto: "udp"}
}

// BenchmarkDNSEvent is a 20-answer response judged and given to a Sink.
func BenchmarkDNSEvent(b *testing.B) {
	e, f, a := dnsEventBench(b)
	b.ReportAllocs()
	cpu := startCPU(b)
	for i := 0; i < b.N; i++ {
		e.judge.Answer(f, *a)
	}
	cpu.report(b)
}
