package dissect_test

import (
	"bytes"
	"testing"

	"github.com/gopacket/gopacket/layers"

	"orchard/dissect"
	"orchard/internal/sharedtest"
	"orchard/internal/stress"
)

// stressDNSPayloads returns the UDP payloads of a DNS stress input of n
// query/response pairs, in capture order (query, response, ...).
func stressDNSPayloads(tb testing.TB, n int) [][]byte {
	tb.Helper()
	var buf bytes.Buffer
	if err := stress.Write(&buf, "dns", stress.Spec{N: n}); err != nil {
		tb.Fatal(err)
	}
	var out [][]byte
	err := txtFrames(buf.Bytes(), func(link uint16, data []byte) {
		if layers.LinkType(link) == layers.LinkTypeEthernet && len(data) > 42 {
			out = append(out, data[42:]) // Ethernet, IPv4 without options, UDP
		}
	})
	if err != nil || len(out) != 2*n {
		tb.Fatalf("%d payloads of %d: %v", len(out), 2*n, err)
	}
	return out
}

// realDNSPayloads returns every UDP port 53 payload of the shared captures.
func realDNSPayloads(tb testing.TB) [][]byte {
	tb.Helper()
	var out [][]byte
	for _, path := range sharedtest.Pcaps(tb) {
		txtEachPacket(tb, path, func(p txtPacket) {
			if p.udp && !p.fragmented && (p.srcPort == 53 || p.dstPort == 53) && len(p.payload) > 0 {
				out = append(out, p.payload)
			}
		})
	}
	if len(out) == 0 {
		tb.Skip("no DNS in the shared captures")
	}
	return out
}

// benchDecode decodes msgs in turn into one message set up as the flow
// engine sets up its own (names interned, no address text).
func benchDecode(b *testing.B, msgs [][]byte) {
	var m dissect.DNSMessage
	m.InternNames(16384)
	m.NoAddrText = true
	var size int64
	for _, p := range msgs {
		size += int64(len(p))
	}
	b.SetBytes(size / int64(len(msgs)))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		_ = m.Decode(msgs[i])
		if i++; i == len(msgs) {
			i = 0
		}
	}
}

// BenchmarkDNSDecodeStress decodes the DNS stress input's queries and
// responses (a CNAME and 19 addresses each, compressed names), as the
// flow engine does: an op is one message, half of them responses. Its
// 100,000 pairs (as BenchmarkDNSHeavy's) name more hosts than the name table keeps.
func BenchmarkDNSDecodeStress(b *testing.B) {
	benchDecode(b, stressDNSPayloads(b, 100_000))
}

// BenchmarkDNSDecodeReal decodes every DNS message over UDP of the shared
// captures, in turn.
func BenchmarkDNSDecodeReal(b *testing.B) {
	benchDecode(b, realDNSPayloads(b))
}
