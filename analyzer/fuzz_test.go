package analyzer

import (
	"bytes"
	"net/netip"
	"testing"

	"orchard/decode"
)

// FuzzEngineStreams plays arbitrary bytes as both directions of a TCP
// connection (split at 0xff 0xff, in segments of varying size) and as UDP
// datagrams on the ports the dissectors watch, so that the dispatch in
// app.go (CONNECT then TLS, stream offsets, re-parse thresholds) meets
// hostile input. It must never panic, hang or exceed the buffer caps.
func FuzzEngineStreams(f *testing.F) {
	hello := []byte{22, 3, 1, 0, 5, 1, 0, 0, 1, 0}
	f.Add(uint16(443), append(append([]byte{}, hello...), append([]byte{0xff, 0xff, 22, 3, 3, 0, 4, 2, 0, 0, 0}, hello...)...), uint8(3))
	f.Add(uint16(3128), []byte("CONNECT a.apple.com:443 HTTP/1.1\r\n\r\n\x16\x03\x01\x00\x05\x01\x00\x00\x01\x00\xff\xffHTTP/1.1 200 OK\r\n\r\n\x16\x03\x03"), uint8(7))
	f.Add(uint16(53), []byte{0, 12, 0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 12, 0, 1, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0}, uint8(2))
	f.Add(uint16(80), []byte("GET / HTTP/1.1\r\nHost: captive.apple.com\r\n\r\n\xff\xffHTTP/1.1 407 No\r\n\r\n"), uint8(5))
	f.Fuzz(func(t *testing.T, port uint16, data []byte, seg uint8) {
		if len(data) > 1<<16 {
			return
		}
		e, err := New(Config{ClientBuffer: 4096, ServerBuffer: 8192})
		if err != nil {
			t.Fatal(err)
		}
		c, s := netip.MustParseAddr("10.0.0.2"), netip.MustParseAddr("17.1.2.3")
		ts := int64(1e18)
		send := func(fromServer bool, flags uint8, seq, ack uint32, payload []byte, proto uint8) {
			p := decode.Packet{IPVersion: 4, Proto: proto, Src: c, Dst: s, SrcPort: 50000, DstPort: port, TCPFlags: flags, Seq: seq, Ack: ack, Payload: payload, TTL: 64, WireLen: 60 + len(payload)}
			if fromServer {
				p.Src, p.Dst, p.SrcPort, p.DstPort = s, c, port, 50000
			}
			ts += 1e6
			e.Packet(&p, ts)
		}
		client, server, _ := bytes.Cut(data, []byte{0xff, 0xff})
		step := int(seg)%64 + 1
		send(false, decode.FlagSYN, 1000, 0, nil, decode.ProtoTCP)
		send(true, decode.FlagSYN|decode.FlagACK, 5000, 1001, nil, decode.ProtoTCP)
		cseq, sseq := uint32(1001), uint32(5001)
		for len(client) > 0 || len(server) > 0 {
			if n := min(step, len(client)); n > 0 {
				send(false, decode.FlagACK|decode.FlagPSH, cseq, sseq, client[:n], decode.ProtoTCP)
				cseq += uint32(n)
				client = client[n:]
			}
			if n := min(step*3, len(server)); n > 0 {
				send(true, decode.FlagACK|decode.FlagPSH, sseq, cseq, server[:n], decode.ProtoTCP)
				sseq += uint32(n)
				server = server[n:]
			}
		}
		send(false, decode.FlagFIN|decode.FlagACK, cseq, sseq, nil, decode.ProtoTCP)
		for _, up := range []uint16{53, 123, 443} {
			port = up
			send(false, 0, 0, 0, data, decode.ProtoUDP)
			send(true, 0, 0, 0, data, decode.ProtoUDP)
		}
		e.Finish()
		if e.flows().table.Pool.InUse != 0 {
			t.Fatalf("%d stream bytes still in use after Finish", e.flows().table.Pool.InUse)
		}
	})
}
