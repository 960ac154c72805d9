package decode_test

import (
	"errors"
	"io"
	"net/netip"
	"path/filepath"
	"testing"

	"github.com/gopacket/gopacket/layers"

	"orchard/capture"
	"orchard/decode"
	"orchard/internal/capgen"
	"orchard/internal/sharedtest"
)

// checkHash checks FrameHash against the decoded packet's FlowHash: a
// frame the fast path places must land where its decoded flow does, and a
// frame it calls flowless must be one the engine ignores.
func checkHash(t *testing.T, name string, d *decode.Decoder, link layers.LinkType, frame []byte) decode.HashKind {
	t.Helper()
	h, kind := decode.FrameHash(link, frame)
	var p decode.Packet
	if d.Decode(link, frame, &p) != nil {
		return kind
	}
	fh, ok := p.FlowHash()
	switch kind {
	case decode.HashFlow:
		if !ok || fh != h {
			t.Errorf("%s: FrameHash %#x, decoded FlowHash %#x %v", name, h, fh, ok)
		}
	case decode.HashNone:
		if ok {
			t.Errorf("%s: FrameHash says no flow, but it decodes to proto %d %v→%v", name, p.Proto, p.Src, p.Dst)
		}
	}
	return kind
}

func TestFrameHashLinkTypes(t *testing.T) {
	d := decode.NewDecoder()
	s4, s6, u4 := tcp4(), tcp6(), udp4()
	cases := []struct {
		name  string
		link  layers.LinkType
		frame func(capgen.TCP) []byte
		want  decode.HashKind
	}{
		{"ether", layers.LinkTypeEthernet, func(s capgen.TCP) []byte { return s.Ethernet(mac1, mac2) }, decode.HashFlow},
		{"vlan", layers.LinkTypeEthernet, func(s capgen.TCP) []byte { return s.Ethernet(mac1, mac2, 7) }, decode.HashFlow},
		{"qinq", layers.LinkTypeEthernet, func(s capgen.TCP) []byte { return s.Ethernet(mac1, mac2, 7, 8) }, decode.HashFlow},
		{"three tags", layers.LinkTypeEthernet, func(s capgen.TCP) []byte { return s.Ethernet(mac1, mac2, 7, 8, 9) }, decode.HashDecode},
		{"pppoe", layers.LinkTypeEthernet, func(s capgen.TCP) []byte { return s.IP().PPPoE(mac1, mac2, 3) }, decode.HashDecode},
		{"sll", layers.LinkTypeLinuxSLL, capgen.TCP.SLL, decode.HashFlow},
		{"sll2", layers.LinkTypeLinuxSLL2, capgen.TCP.SLL2, decode.HashFlow},
		{"raw", layers.LinkTypeRaw, capgen.TCP.Raw, decode.HashFlow},
		{"raw12", capgen.LinkTypeRawDLT12, capgen.TCP.Raw, decode.HashFlow},
		{"ipv4/6", layers.LinkTypeIPv4, capgen.TCP.Raw, decode.HashFlow},
		{"null", layers.LinkTypeNull, capgen.TCP.Null, decode.HashDecode},
		{"pktap", decode.LinkTypePKTAP, func(s capgen.TCP) []byte { return s.PKTAP("apsd", 1) }, decode.HashFlow},
		{"pktap ether", decode.LinkTypePKTAPDarwin, func(s capgen.TCP) []byte {
			return capgen.PKTAP("apsd", 1, capgen.DLTEthernet, s.Ethernet(mac1, mac2))
		}, decode.HashFlow},
	}
	for _, c := range cases {
		for _, s := range []capgen.TCP{s4, s6} {
			if c.link == layers.LinkTypeIPv4 && s.Src.Is6() {
				c.link = layers.LinkTypeIPv6
			}
			fwd := s
			rev := s
			rev.Src, rev.Dst, rev.SrcPort, rev.DstPort = s.Dst, s.Src, s.DstPort, s.SrcPort
			kf := checkHash(t, c.name, d, c.link, c.frame(fwd))
			kr := checkHash(t, c.name+" reversed", d, c.link, c.frame(rev))
			if kf != c.want || kr != c.want {
				t.Errorf("%s %v: kinds %d %d, want %d", c.name, s.Src, kf, kr, c.want)
			}
			hf, _ := decode.FrameHash(c.link, c.frame(fwd))
			hr, _ := decode.FrameHash(c.link, c.frame(rev))
			if hf != hr {
				t.Errorf("%s %v: directions hash apart", c.name, s.Src)
			}
		}
	}
	// UDP, other ports: another flow, another hash (almost always).
	h1, _ := decode.FrameHash(layers.LinkTypeRaw, u4.Raw())
	u4.SrcPort++
	h2, _ := decode.FrameHash(layers.LinkTypeRaw, u4.Raw())
	if h1 == h2 {
		t.Errorf("two UDP flows share a hash")
	}
	// An ICMP error goes to the flow it quotes.
	icmp := capgen.ICMPUnreachable{Src: netip.MustParseAddr("10.9.9.9"), Dst: v4a, Code: 3, Quote: s4.IP()}.Raw()
	if _, k := decode.FrameHash(layers.LinkTypeRaw, icmp); k != decode.HashDecode {
		t.Fatalf("ICMP error: kind %d", k)
	}
	var p decode.Packet
	if err := d.Decode(layers.LinkTypeRaw, icmp, &p); err != nil {
		t.Fatal(err)
	}
	qh, _ := p.FlowHash()
	th, _ := decode.FrameHash(layers.LinkTypeRaw, s4.Raw())
	if qh != th {
		t.Errorf("ICMP error hashes %#x, the flow it quotes %#x", qh, th)
	}
}

// Every frame of the shared captures: FrameHash agrees with the decoder.
func TestFrameHashSharedCaptures(t *testing.T) {
	d := decode.NewDecoder()
	for _, path := range sharedtest.Pcaps(t) {
		f, err := capture.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		var cp capture.Packet
		var kinds [3]int
		for {
			err := f.Next(&cp)
			if err != nil {
				if !errors.Is(err, io.EOF) && !errors.Is(err, capture.ErrTruncated) {
					t.Errorf("%s: %v", path, err)
				}
				break
			}
			kinds[checkHash(t, filepath.Base(path), d, cp.LinkType, cp.Data)]++
		}
		f.Close()
		t.Logf("%s: flow %d, none %d, decode %d", filepath.Base(path), kinds[0], kinds[1], kinds[2])
	}
}

func BenchmarkFrameHash(b *testing.B) {
	frame := tcp4().Ethernet(mac1, mac2)
	b.ReportAllocs()
	for b.Loop() {
		decode.FrameHash(layers.LinkTypeEthernet, frame)
	}
}

// FuzzFrameHash: on any bytes and link type, FrameHash never panics and
// agrees with the decoder (checkHash).
func FuzzFrameHash(f *testing.F) {
	s4, s6 := tcp4(), tcp6()
	f.Add(uint16(layers.LinkTypeEthernet), s4.Ethernet(mac1, mac2, 7))
	f.Add(uint16(layers.LinkTypeEthernet), s6.Ethernet(mac1, mac2))
	f.Add(uint16(layers.LinkTypeLinuxSLL2), s4.SLL2())
	f.Add(uint16(layers.LinkTypeRaw), udp4().Raw())
	f.Add(uint16(decode.LinkTypePKTAP), s6.PKTAP("apsd", 1))
	f.Add(uint16(layers.LinkTypeRaw), capgen.ICMPUnreachable{Src: v4b, Dst: v4a, Code: 3, Quote: s4.IP()}.Raw())
	d := decode.NewDecoder()
	f.Fuzz(func(t *testing.T, link uint16, b []byte) {
		checkHash(t, "fuzz", d, layers.LinkType(link), b)
	})
}
