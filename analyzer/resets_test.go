package analyzer

import (
	"testing"
	"time"

	"orchard/decode"
)

// ipPkt is a TCP packet of a test script with its IP ID.
type ipPkt struct {
	pkt
	ipid uint16
}

func feedTCPIDs(e *Engine, cport, sport uint16, script []ipPkt) {
	for _, s := range script {
		p := decode.Packet{IPVersion: 4, Proto: decode.ProtoTCP, TCPFlags: s.flags, Seq: s.seq, Ack: s.ack, Payload: []byte(s.data), TTL: s.ttl, IPID: s.ipid, WireLen: 60 + len(s.data)}
		if p.TTL == 0 {
			p.TTL = 64
			if s.fromSrv {
				p.TTL = 52
			}
		}
		src, dst, sp, dp := tClient, tServer, cport, sport
		if s.fromSrv {
			src, dst, sp, dp = tServer, tClient, sport, cport
		}
		p.Src, p.Dst, p.SrcPort, p.DstPort = src, dst, sp, dp
		e.Packet(&p, t0+int64(s.at*float64(time.Second)))
	}
}

// TestInjectedResets: a reset is injected only with evidence its sender's
// peer did not send it; RFC 9293's reply to an unexpected ACK and a new
// connection on the same ports are not injections.
func TestInjectedResets(t *testing.T) {
	c := func(at float64, flags uint8, seq, ack uint32, data string, id uint16) ipPkt {
		return ipPkt{pkt{at, false, flags, seq, ack, data, 0}, id}
	}
	s := func(at float64, flags uint8, seq, ack uint32, data string, id uint16) ipPkt {
		return ipPkt{pkt{at, true, flags, seq, ack, data, 0}, id}
	}
	// A handshake with a 100 ms round trip, then a request and an answer;
	// the server's IP IDs count up from 500.
	hs := []ipPkt{c(0, fS, 100, 0, "", 1), s(0.1, fS|fA, 900, 101, "", 500), c(0.1, fA, 101, 901, "", 2),
		c(0.2, fA|fP, 101, 901, "hello", 3), s(0.3, fA|fP, 901, 106, "world", 501), c(0.3, fA, 106, 906, "", 4)}
	with := func(tail ...ipPkt) []ipPkt { return append(append([]ipPkt{}, hs...), tail...) }
	cases := []struct {
		name   string
		script []ipPkt
		want   string // "finding/severity", "" none
	}{
		{"server's own reset", with(s(1, fR|fA, 906, 106, "", 502)), "tcp.reset/warn"},
		{"TTL of another box", with(ipPkt{pkt{1, true, fR | fA, 906, 106, "", 250}, 502}), "tcp.reset/error"},
		{"IP ID out of the server's count", with(s(1, fR|fA, 906, 106, "", 40000)), "tcp.reset/error"},
		{"sooner than the server can answer", with(c(1, fA|fP, 106, 906, "more", 5), s(1.001, fR|fA, 906, 110, "", 502)), "tcp.reset/error"},
		{"the server carries on", with(s(1, fR|fA, 906, 106, "", 502), s(1.2, fA|fP, 906, 106, "again", 503)), "tcp.reset/error"},
		{"a new connection on the same ports, its SYN not captured", with(c(1, fR|fA, 106, 906, "", 5),
			c(6, fA|fP, 7000000, 3000000, "new", 9), s(6.1, fA|fP, 3000000, 7000003, "data", 9000)), ""},
		{"a new connection after one seen from its middle", []ipPkt{
			c(0, fA|fP, 101, 901, "hello", 3), s(0.1, fA|fP, 901, 106, "world", 501), s(1, fR|fA, 906, 106, "", 502),
			c(5, fS, 7000000, 0, "", 1), s(5.1, fS|fA, 3000000, 7000001, "", 9000), c(5.1, fA, 7000001, 3000001, "", 2),
			s(5.2, fA|fP, 3000001, 7000001, "banner", 9001), c(5.3, fF|fA, 7000001, 3000007, "", 3), s(5.4, fF|fA, 3000007, 7000002, "", 9002)}, "tcp.reset/warn"},
		{"client answers a bare ACK to its SYN (RFC 9293), then connects", []ipPkt{
			c(0, fS, 100, 0, "", 1), s(0.05, fA, 77777, 5555, "", 400), c(0.05, fR, 5555, 0, "", 0),
			c(1, fS, 100, 0, "", 2), s(1.1, fS|fA, 900, 101, "", 500), c(1.1, fA, 101, 901, "", 3),
			c(1.2, fA|fP, 101, 901, "hello", 4), s(1.3, fA|fP, 901, 106, "world", 501),
			c(1.4, fF|fA, 106, 906, "", 5), s(1.5, fF|fA, 906, 107, "", 502), c(1.6, fA, 107, 907, "", 6)}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e, _ := newTestEngine(t, Config{})
			feedTCPIDs(e, 50000, 443, tc.script)
			// The capture goes on: nothing here is cut off.
			feedUDP(e, []udpPkt{{30, "192.168.1.30", "192.168.1.1", 40000, 9999, []byte("x")}})
			r := e.Finish()
			got := ""
			for _, f := range r.Findings {
				got = f.Finding + "/" + f.Severity
				t.Log(f.Evidence)
			}
			if got != tc.want {
				t.Errorf("finding %q, want %q", got, tc.want)
			}
		})
	}
}
