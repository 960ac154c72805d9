package main

import (
	"bytes"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"

	"orchard/internal/capgen"
)

// writeCleanCapture writes a capture with one healthy Apple HTTP exchange.
func writeCleanCapture(t *testing.T, name string) {
	t.Helper()
	writeHTTPCapture(t, name, "17.253.17.201", "captive.apple.com")
}

// writeHTTPCapture writes a capture with one healthy HTTP exchange with
// server, for host.
func writeHTTPCapture(t *testing.T, name, server, host string) {
	t.Helper()
	var buf bytes.Buffer
	w := capgen.NewPcap(&buf, layers.LinkTypeEthernet)
	c, s := netip.MustParseAddr("10.0.0.2"), netip.MustParseAddr(server)
	cm, sm := [6]byte{2, 0, 0, 0, 0, 2}, [6]byte{2, 0, 0, 0, 0, 1}
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	seg := func(fromServer bool, flags uint8, seq, ack uint32, data string) {
		tc := capgen.TCP{Src: c, Dst: s, SrcPort: 50000, DstPort: 80, Flags: flags, Seq: seq, Ack: ack, Payload: []byte(data), TTL: 64}
		src, dst := cm, sm
		if fromServer {
			tc.Src, tc.Dst, tc.SrcPort, tc.DstPort = s, c, 80, 50000
			src, dst = sm, cm
		}
		at = at.Add(10 * time.Millisecond)
		if err := w.Write(at, tc.Ethernet(src, dst), 0); err != nil {
			t.Fatal(err)
		}
	}
	req := "GET /hotspot-detect.html HTTP/1.1\r\nHost: " + host + "\r\n\r\n"
	seg(false, capgen.SYN, 100, 0, "")
	seg(true, capgen.SYN|capgen.ACK, 900, 101, "")
	seg(false, capgen.ACK, 101, 901, "")
	seg(false, capgen.ACK|capgen.PSH, 101, 901, req)
	seg(true, capgen.ACK|capgen.PSH, 901, 101+uint32(len(req)), "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
	seg(false, capgen.FIN|capgen.ACK, 101+uint32(len(req)), 940, "")
	seg(true, capgen.FIN|capgen.ACK, 940, 102+uint32(len(req)), "")
	if err := os.WriteFile(name, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}
