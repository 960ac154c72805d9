package analyzer

import (
	"testing"

	"orchard/decode"
	"orchard/flow"
)

// onlyFlow returns the one flow in e's table.
func onlyFlow(t *testing.T, e *Engine) *flow.Flow {
	t.Helper()
	var found *flow.Flow
	for _, s := range e.flows().table.Flows.Slots {
		if s.Flow != nil {
			if found != nil {
				t.Fatal("more than one flow")
			}
			found = s.Flow
		}
	}
	if found == nil {
		t.Fatal("no flow")
	}
	return found
}

// TestFeedersChosen: a flow's feeders are chosen from its protocol and
// ports when it starts, and its streams sized by their limits.
func TestFeedersChosen(t *testing.T) {
	cases := []struct {
		name           string
		proto          uint8
		port           uint16
		cfg            Config
		client, server uint8
		climit, slimit int32
	}{
		{"TLS or HTTP", decode.ProtoTCP, 443, Config{}, 1<<feedHTTP | 1<<feedTLS, 1<<feedHTTP | 1<<feedTLS, tlsClientLimit, tlsServerLimit},
		{"small buffers", decode.ProtoTCP, 443, Config{ClientBuffer: 4096, ServerBuffer: 8192}, 1<<feedHTTP | 1<<feedTLS, 1<<feedHTTP | 1<<feedTLS, 4096, 8192},
		{"large buffers", decode.ProtoTCP, 443, Config{ClientBuffer: 1 << 20, ServerBuffer: 1 << 20}, 1<<feedHTTP | 1<<feedTLS, 1<<feedHTTP | 1<<feedTLS, tlsClientLimit, tlsServerLimit},
		{"DNS over TCP", decode.ProtoTCP, 53, Config{ClientBuffer: 1 << 20}, 1 << feedDNS, 1 << feedDNS, 1 << 20, 64 << 10},
		{"DNS", decode.ProtoUDP, 53, Config{}, 1 << feedDNS, 1 << feedDNS, 0, 0},
		{"NTP", decode.ProtoUDP, 123, Config{}, 1 << feedNTP, 1 << feedNTP, 0, 0},
		{"QUIC", decode.ProtoUDP, 443, Config{}, 1 << feedQUIC, 0, 0, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e, _ := newTestEngine(t, c.cfg)
			p := decode.Packet{IPVersion: 4, Proto: c.proto, Src: tClient, Dst: tServer, SrcPort: 50000, DstPort: c.port, TTL: 64}
			if c.proto == decode.ProtoTCP {
				p.TCPFlags = fS
			}
			e.Packet(&p, t0)
			f := onlyFlow(t, e)
			if f.Orig.Stream.Wants != c.client || f.Resp.Stream.Wants != c.server {
				t.Errorf("feeders %05b / %05b, want %05b / %05b", f.Orig.Stream.Wants, f.Resp.Stream.Wants, c.client, c.server)
			}
			if f.Orig.Stream.Limit != c.climit || f.Resp.Stream.Limit != c.slimit {
				t.Errorf("limits %d / %d, want %d / %d", f.Orig.Stream.Limit, f.Resp.Stream.Limit, c.climit, c.slimit)
			}
		})
	}
}

// TestFeedersRelease: a direction is buffered while any of its feeders
// wants more, and let go once none does.
func TestFeedersRelease(t *testing.T) {
	hs := []pkt{{0, false, fS, 100, 0, "", 0}, {0.05, true, fS | fA, 500, 101, "", 0}, {0.1, false, fA, 101, 501, "", 0}}
	get := "GET / HTTP/1.1\r\nHost: albert.apple.com\r\n\r\n"
	cases := []struct {
		name           string
		port           uint16
		script         []pkt
		client, server bool // buffered still
		cwants         uint8
	}{
		{"HTTP request read", 80, []pkt{{0.2, false, fA | fP, 101, 501, get, 0}}, false, true, 0},
		{"HTTP request and response read", 80, []pkt{{0.2, false, fA | fP, 101, 501, get, 0}, {0.3, true, fA | fP, 501, 101 + uint32(len(get)), "HTTP/1.1 200 OK\r\n\r\n", 0}}, false, false, 0},
		{"HTTP request incomplete", 80, []pkt{{0.2, false, fA | fP, 101, 501, get[:20], 0}}, true, true, 1 << feedHTTP},
		{"neither HTTP nor TLS", 22, []pkt{{0.2, false, fA | fP, 101, 501, "SSH-2.0-OpenSSH_9.6\r\n", 0}}, false, true, 0},
		{"too short to tell", 22, []pkt{{0.2, false, fA | fP, 101, 501, "SSH", 0}}, true, true, 1 << feedHTTP},
		{"DNS over TCP reads every message", 53, []pkt{{0.2, false, fA | fP, 101, 501, "\x00\x13\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x01a\x00\x00\x01\x00\x01", 0}}, true, true, 1 << feedDNS},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e, _ := newTestEngine(t, Config{})
			feedTCP(e, 50000, c.port, append(append([]pkt{}, hs...), c.script...))
			f := onlyFlow(t, e)
			if got := !f.Orig.Stream.Closed(); got != c.client {
				t.Errorf("client buffered %v, want %v (feeders %05b)", got, c.client, f.Orig.Stream.Wants)
			}
			if got := !f.Resp.Stream.Closed(); got != c.server {
				t.Errorf("server buffered %v, want %v (feeders %05b)", got, c.server, f.Resp.Stream.Wants)
			}
			if f.Orig.Stream.Wants != c.cwants {
				t.Errorf("client feeders %05b, want %05b", f.Orig.Stream.Wants, c.cwants)
			}
		})
	}
}
