package analyzer

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"orchard/decode"
)

// dnsWire builds a DNS message for one A question; a response carries
// one answer, addr.
func dnsWire(id uint16, name string, response bool, addr netip.Addr) []byte {
	m := []byte{byte(id >> 8), byte(id), 0x01, 0, 0, 1, 0, 0, 0, 0, 0, 0}
	if response {
		m[2], m[3], m[7] = 0x81, 0x80, 1
	}
	for _, l := range strings.Split(name, ".") {
		m = append(m, byte(len(l)))
		m = append(m, l...)
	}
	m = append(m, 0, 0, 1, 0, 1)
	if response {
		a := addr.As4()
		m = append(m, 0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, a[0], a[1], a[2], a[3])
	}
	return m
}

// udpPkt is one UDP packet of a test script.
type udpPkt struct {
	at       float64
	src, dst string
	sp, dp   uint16
	payload  []byte
}

func feedUDP(e *Engine, script []udpPkt) {
	for _, u := range script {
		p := decode.Packet{IPVersion: 4, Proto: decode.ProtoUDP, Src: netip.MustParseAddr(u.src), Dst: netip.MustParseAddr(u.dst),
			SrcPort: u.sp, DstPort: u.dp, Payload: u.payload, TTL: 64, WireLen: 42 + len(u.payload)}
		if p.Src.Is6() {
			p.IPVersion = 6
		}
		e.Packet(&p, t0+int64(u.at*float64(time.Second)))
	}
}

// findingsOf returns "name/severity" of each finding of r.
func findingsOf(r *Report) []string {
	var out []string
	for _, f := range r.Findings {
		out = append(out, f.Finding+"/"+f.Severity)
	}
	return out
}

// TestAbsentAnswerRules: findings that rest on an answer that never came,
// on literal flows. A client that acknowledges after its SYN was answered;
// a request cut off by the end of the capture is undecided.
func TestAbsentAnswerRules(t *testing.T) {
	syn := pkt{0, false, fS, 100, 0, "", 0}
	cases := []struct {
		name   string
		script []pkt
		end    float64 // an unrelated packet this late keeps the capture going
		want   string  // "" none
	}{
		{"one SYN, capture goes on", []pkt{syn}, 30, "tcp.syn_unanswered/error"},
		{"four SYNs over 7 s", []pkt{syn, {1, false, fS, 100, 0, "", 0}, {3, false, fS, 100, 0, "", 0}, {7, false, fS, 100, 0, "", 0}}, 0, "tcp.syn_unanswered/error"},
		{"one SYN, the capture ends with it", []pkt{syn}, 0, "tcp.syn_unanswered/info"},
		{"SYN, then the client ACKs (SYN-ACK not captured)", []pkt{syn, {0.05, false, fA, 101, 501, "", 0}}, 30, ""},
		{"SYN, then the client's ClientHello", []pkt{syn, {0.05, false, fA | fP, 101, 501, "\x16\x03\x01\x00\x05hello", 0}}, 30, ""},
		{"SYN, then the client's RST", []pkt{syn, {2, false, fR, 101, 0, "", 0}}, 30, "tcp.syn_unanswered/error"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e, _ := newTestEngine(t, Config{})
			feedTCP(e, 50000, 5223, c.script)
			if c.end > 0 {
				feedUDP(e, []udpPkt{{c.end, "192.168.1.30", "192.168.1.1", 40000, 9999, []byte("x")}})
			}
			got := strings.Join(findingsOf(e.Finish()), ",")
			if got != c.want {
				t.Errorf("findings %q, want %q", got, c.want)
			}
		})
	}
}

// TestDNSMatching: duplicates and retransmissions of a query are answered
// by one response; mDNS and LLMNR are not unicast DNS; multicast,
// broadcast and unspecified addresses are never devices.
func TestDNSMatching(t *testing.T) {
	dev, res := "192.168.1.20", "192.168.1.1"
	addr := netip.MustParseAddr("17.253.4.125")
	q := func(id uint16) []byte { return dnsWire(id, "mesu.apple.com", false, addr) }
	a := func(id uint16) []byte { return dnsWire(id, "mesu.apple.com", true, addr) }
	// Later, another exchange, both ways: the capture sees answers.
	later := []udpPkt{{40, "192.168.1.30", "192.168.1.1", 40000, 53, dnsWire(1, "example.org", false, addr)},
		{40.01, "192.168.1.1", "192.168.1.30", 53, 40000, dnsWire(1, "example.org", true, addr)}}
	with := func(ps ...udpPkt) []udpPkt { return append(ps, later...) }
	cases := []struct {
		name   string
		script []udpPkt
		want   string
	}{
		{"answered", with(udpPkt{0, dev, res, 5000, 53, q(7)}, udpPkt{0.01, res, dev, 53, 5000, a(7)}), ""},
		{"retransmitted, answered once", with(udpPkt{0, dev, res, 5000, 53, q(7)}, udpPkt{1, dev, res, 5000, 53, q(7)}, udpPkt{1.01, res, dev, 53, 5000, a(7)}), ""},
		{"duplicated, answered once", with(udpPkt{0, dev, res, 5000, 53, q(7)}, udpPkt{0, dev, res, 5000, 53, q(7)}, udpPkt{0.01, res, dev, 53, 5000, a(7)}), ""},
		{"answer to another id", with(udpPkt{0, dev, res, 5000, 53, q(7)}, udpPkt{0.01, res, dev, 53, 5000, a(8)}), "dns.unanswered/warn"},
		{"unanswered twice", with(udpPkt{0, dev, res, 5000, 53, q(7)}, udpPkt{1, dev, res, 5000, 53, q(7)}), "dns.unanswered/warn"},
		{"unanswered at the end of the capture", []udpPkt{{0, dev, res, 5000, 53, q(7)}}, "dns.unanswered/info"},
		{"mDNS query", with(udpPkt{0, dev, "224.0.0.251", 5353, 5353, q(0)}), ""},
		{"mDNS query over IPv6", with(udpPkt{0, "fe80::1", "ff02::fb", 5353, 5353, q(0)}), ""},
		{"LLMNR query", with(udpPkt{0, dev, "224.0.0.252", 5000, 5355, q(9)}), ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e, _ := newTestEngine(t, Config{})
			feedUDP(e, c.script)
			r := e.Finish()
			if got := strings.Join(findingsOf(r), ","); got != c.want {
				t.Errorf("findings %q, want %q: %+v", got, c.want, r.Findings)
			}
			for _, d := range r.Devices {
				if !isDeviceAddr(netip.MustParseAddr(d.Address)) {
					t.Errorf("device %s", d.Address)
				}
			}
		})
	}
	for a, want := range map[string]bool{"224.0.0.251": false, "ff02::fb": false, "192.168.2.255": false, "0.0.0.0": false, "::": false,
		"255.255.255.255": false, "192.168.2.16": true, "fe80::1": true, "17.253.4.125": true} {
		if got := isDeviceAddr(netip.MustParseAddr(a)); got != want {
			t.Errorf("isDeviceAddr(%s) = %v", a, got)
		}
	}
}

func shift(ts []int64, by int64) []int64 {
	out := make([]int64, len(ts))
	for i, t := range ts {
		out[i] = t + by
	}
	return out
}

// TestTimelineOutliers: one packet stamped decades off defines neither the
// start nor the end of the capture.
func TestTimelineOutliers(t *testing.T) {
	y1970, y2106 := int64(12e9), time.Date(2106, 2, 7, 6, 28, 0, 0, time.UTC).UnixNano()
	norm := func(n int) []int64 {
		var out []int64
		for i := 0; i < n; i++ {
			out = append(out, t0+int64(i)*1e9)
		}
		return out
	}
	cases := []struct {
		name        string
		ts          []int64
		first, last int64
	}{
		{"clean", norm(20), t0, t0 + 19e9},
		{"2106 at the end", append(norm(20), y2106), t0, t0 + 19e9},
		{"1970 first", append([]int64{y1970}, norm(20)...), t0, t0 + 19e9},
		{"1970 in the middle", append(append(norm(10), y1970), norm(20)[10:]...), t0, t0 + 19e9},
		{"a week apart", append(norm(5), t0+7*24*3600e9), t0, t0 + 7*24*3600e9},
		{"two captures years apart, merged", append(norm(20), shift(norm(20), -6*365*24*3600e9)...), t0 - 6*365*24*3600e9, t0 + 19e9},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var tl timeline
			for _, ts := range c.ts {
				tl.observe(ts)
			}
			if tl.first != c.first || tl.last != c.last {
				t.Errorf("span %s → %s, want %s → %s", rfc3339(tl.first), rfc3339(tl.last), rfc3339(c.first), rfc3339(c.last))
			}
		})
	}
}

// TestAnsweredOutOfSight: a query the capture saw no answer to was
// answered when the device then connects to the name it asked for.
func TestAnsweredOutOfSight(t *testing.T) {
	addr := netip.MustParseAddr("17.253.4.125")
	for _, connects := range []bool{false, true} {
		e, _ := newTestEngine(t, Config{})
		feedUDP(e, []udpPkt{{0, "192.168.1.20", "192.168.1.1", 5000, 53, dnsWire(7, "mesu.apple.com", false, addr)},
			{1, "192.168.1.20", "192.168.1.1", 5001, 53, dnsWire(8, "example.org", false, addr)},
			{1.01, "192.168.1.1", "192.168.1.20", 53, 5001, dnsWire(8, "example.org", true, addr)}})
		if connects {
			req := "GET /a HTTP/1.1\r\nHost: mesu.apple.com\r\n\r\n"
			feedTCP(e, 50000, 80, []pkt{{2, false, fS, 100, 0, "", 0}, {2.01, true, fS | fA, 500, 101, "", 0}, {2.02, false, fA | fP, 101, 501, req, 0},
				{2.05, true, fA | fP, 501, 101 + uint32(len(req)), "HTTP/1.1 200 OK\r\n\r\n", 0}})
		}
		feedUDP(e, []udpPkt{{90, "192.168.1.30", "192.168.1.1", 40000, 9999, []byte("x")}})
		got := strings.Join(findingsOf(e.Finish()), ",")
		if want := map[bool]string{false: "dns.unanswered/warn", true: ""}[connects]; got != want {
			t.Errorf("connects=%v: findings %q, want %q", connects, got, want)
		}
	}
}

// TestQUICAnsweredOutOfSight: a QUIC client that sends 1-RTT (short
// header) packets had its Initial answered, seen or not.
func TestQUICAnsweredOutOfSight(t *testing.T) {
	initial := append([]byte{0xc3, 0, 0, 0, 1, 8, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0x44, 0xb0}, make([]byte, 1200)...)
	short := append([]byte{0x41, 1, 2, 3, 4, 5, 6, 7, 8}, make([]byte, 40)...)
	for _, sendsShort := range []bool{false, true} {
		e, _ := newTestEngine(t, Config{})
		script := []udpPkt{{0, "192.168.1.20", "17.248.147.6", 50000, 443, initial}, {0.3, "192.168.1.20", "17.248.147.6", 50000, 443, initial}}
		if sendsShort {
			script = append(script, udpPkt{0.4, "192.168.1.20", "17.248.147.6", 50000, 443, short})
		}
		feedUDP(e, script)
		feedTCP(e, 40000, 443, []pkt{{1, false, fS, 1, 0, "", 0}, {1.1, true, fS | fA, 9, 2, "", 0}, {1.1, false, fA, 2, 10, "", 0}})
		feedUDP(e, []udpPkt{{90, "192.168.1.30", "192.168.1.1", 40000, 9999, []byte("x")}})
		got := strings.Join(findingsOf(e.Finish()), ",")
		if want := map[bool]string{false: "udp.unanswered/warn", true: ""}[sendsShort]; got != want {
			t.Errorf("1-RTT=%v: findings %q, want %q", sendsShort, got, want)
		}
	}
}
