package decode_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net/netip"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"orchard/capture"
	"orchard/decode"
	"orchard/internal/capgen"
	"orchard/internal/sharedtest"
)

var (
	mac1 = [6]byte{0x02, 0, 0, 0, 0, 0x11}
	mac2 = [6]byte{0x02, 0, 0, 0, 0, 0x22}
	v4a  = netip.MustParseAddr("192.168.1.20")
	v4b  = netip.MustParseAddr("17.57.146.52")
	v6a  = netip.MustParseAddr("2001:db8::20")
	v6b  = netip.MustParseAddr("2620:149:a44::10")
)

func tcp4() capgen.TCP {
	return capgen.TCP{Src: v4a, Dst: v4b, SrcPort: 52100, DstPort: 5223, Flags: capgen.SYN | capgen.ECE | capgen.CWR,
		Seq: 1000, Ack: 0, Window: 65535, TTL: 63, IPID: 0x1234, Payload: []byte("hi")}
}

func tcp6() capgen.TCP {
	t := tcp4()
	t.Src, t.Dst = v6a, v6b
	return t
}

func udp4() capgen.UDP {
	return capgen.UDP{Src: v4a, Dst: v4b, SrcPort: 123, DstPort: 123, TTL: 64, IPID: 7, Payload: bytes.Repeat([]byte{0xe3}, 48)}
}

// want is what a test expects of a decoded TCP/UDP packet.
func checkTCP(t *testing.T, name string, p *decode.Packet, seg capgen.TCP) {
	t.Helper()
	ver := uint8(4)
	if seg.Src.Is6() {
		ver = 6
	}
	if p.IPVersion != ver || p.Src != seg.Src || p.Dst != seg.Dst || p.Proto != decode.ProtoTCP ||
		p.SrcPort != seg.SrcPort || p.DstPort != seg.DstPort || p.TCPFlags != seg.Flags ||
		p.Seq != seg.Seq || p.Ack != seg.Ack || p.Window != seg.Window || p.TTL != seg.TTL ||
		!bytes.Equal(p.Payload, seg.Payload) || p.Fragment {
		t.Errorf("%s: got %+v", name, *p)
	}
	if ver == 4 && p.IPID != seg.IPID {
		t.Errorf("%s: IPID %#x, want %#x", name, p.IPID, seg.IPID)
	}
}

func TestLinkTypes(t *testing.T) {
	s4, s6 := tcp4(), tcp6()
	ip4, ip6 := s4.IP(), s6.IP()
	type tc struct {
		name  string
		link  layers.LinkType
		frame []byte
		seg   capgen.TCP
		vlan  uint16
		mac   bool
		pid   int32
		proc  string
	}
	cases := []tc{
		{name: "ether4", link: layers.LinkTypeEthernet, frame: s4.Ethernet(mac1, mac2), seg: s4, mac: true},
		{name: "ether6", link: layers.LinkTypeEthernet, frame: s6.Ethernet(mac1, mac2), seg: s6, mac: true},
		{name: "vlan", link: layers.LinkTypeEthernet, frame: s4.Ethernet(mac1, mac2, 42), seg: s4, vlan: 42, mac: true},
		{name: "qinq", link: layers.LinkTypeEthernet, frame: s6.Ethernet(mac1, mac2, 100, 200), seg: s6, vlan: 100, mac: true},
		{name: "qinqinq", link: layers.LinkTypeEthernet, frame: s4.Ethernet(mac1, mac2, 1, 2, 3), seg: s4, vlan: 1, mac: true},
		{name: "pppoe", link: layers.LinkTypeEthernet, frame: ip4.PPPoE(mac1, mac2, 0x1234), seg: s4, mac: true},
		{name: "pppoe-qinq6", link: layers.LinkTypeEthernet, frame: ip6.PPPoE(mac1, mac2, 1, 10, 20), seg: s6, vlan: 10, mac: true},
		{name: "mpls", link: layers.LinkTypeEthernet, seg: s6, mac: true,
			frame: capgen.EthernetFrame(mac1, mac2, 0x8847, append([]byte{0, 0x10, 0x00, 64, 0, 0x20, 0x01, 64}, ip6...))},
		{name: "sll", link: layers.LinkTypeLinuxSLL, frame: s4.SLL(), seg: s4},
		{name: "sll2", link: layers.LinkTypeLinuxSLL2, frame: s6.SLL2(), seg: s6},
		{name: "null-le4", link: layers.LinkTypeNull, frame: ip4.Null(false), seg: s4},
		{name: "null-be6", link: layers.LinkTypeNull, frame: ip6.Null(true), seg: s6},
		{name: "loop6", link: layers.LinkTypeLoop, frame: ip6.Loop(), seg: s6},
		{name: "raw101", link: layers.LinkTypeRaw, frame: s4.Raw(), seg: s4},
		{name: "raw12", link: capgen.LinkTypeRawDLT12, frame: s6.Raw(), seg: s6},
		{name: "raw14", link: capgen.LinkTypeRawDLT14, frame: s4.Raw(), seg: s4},
		{name: "ipv4", link: layers.LinkTypeIPv4, frame: s4.Raw(), seg: s4},
		{name: "ipv6", link: layers.LinkTypeIPv6, frame: s6.Raw(), seg: s6},
		{name: "pktap-raw", link: decode.LinkTypePKTAP, frame: s4.PKTAP("apsd", 321), seg: s4, pid: 321, proc: "apsd"},
		{name: "pktap149-ether", link: decode.LinkTypePKTAPDarwin,
			frame: capgen.PKTAP("com.apple.WebKit.Networking", 77, capgen.DLTEthernet, s6.Ethernet(mac1, mac2)),
			seg:   s6, mac: true, pid: 77, proc: "com.apple.WebKit"},
		{name: "pktap-null", link: decode.LinkTypePKTAP, frame: capgen.PKTAP("nsurlsessiond", 9, capgen.DLTNull, ip6.Null(false)),
			seg: s6, pid: 9, proc: "nsurlsessiond"},
	}
	d := decode.NewDecoder()
	for _, c := range cases {
		var p decode.Packet
		if err := d.Decode(c.link, c.frame, &p); err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		checkTCP(t, c.name, &p, c.seg)
		if p.VLAN != c.vlan || p.HasMAC != c.mac || p.PID != c.pid || p.Proc() != c.proc || p.WireLen != len(c.frame) {
			t.Errorf("%s: vlan %d mac %v pid %d proc %q wire %d", c.name, p.VLAN, p.HasMAC, p.PID, p.Proc(), p.WireLen)
		}
		if c.mac && (p.SrcMAC != mac1 || p.DstMAC != mac2) {
			t.Errorf("%s: MACs %x %x", c.name, p.SrcMAC, p.DstMAC)
		}
		// Every prefix of the frame decodes to nil or a sentinel.
		for n := 0; n < len(c.frame); n++ {
			checkSentinel(t, d.Decode(c.link, c.frame[:n], &p))
		}
	}
}

func checkSentinel(t testing.TB, err error) {
	t.Helper()
	switch err {
	case nil, decode.ErrUnsupportedLink, decode.ErrNotIP, decode.ErrTruncated, decode.ErrMalformed:
	default:
		t.Fatalf("non-sentinel error %v", err)
	}
}

func TestClipping(t *testing.T) {
	d := decode.NewDecoder()
	var p decode.Packet
	// A bare ACK padded to 60 bytes: the padding is not payload.
	ack := tcp4()
	ack.Flags, ack.Payload = capgen.ACK, nil
	f := ack.Ethernet(mac1, mac2)
	if len(f) != 60 {
		t.Fatalf("frame %d bytes", len(f))
	}
	if err := d.Decode(layers.LinkTypeEthernet, f, &p); err != nil || len(p.Payload) != 0 {
		t.Errorf("padded ACK: payload %d bytes, %v", len(p.Payload), err)
	}
	// A UDP datagram whose IP packet carries trailing bytes.
	u := udp4()
	ip := append(u.IP(), 1, 2, 3, 4)
	binary.BigEndian.PutUint16(ip[2:], uint16(len(ip)))
	if err := d.Decode(layers.LinkTypeRaw, ip, &p); err != nil || !bytes.Equal(p.Payload, u.Payload) {
		t.Errorf("udp clip: %d bytes, %v", len(p.Payload), err)
	}
	// Snap length cut: payload is what was captured.
	f = u.Ethernet(mac1, mac2)
	if err := d.Decode(layers.LinkTypeEthernet, f[:14+28+10], &p); err != nil || len(p.Payload) != 10 || p.WireLen != 52 {
		t.Errorf("snaplen: %d bytes, %v", len(p.Payload), err)
	}
	// IPv4 total length 0 (segmentation offload).
	ip = tcp4().IP()
	ip[2], ip[3] = 0, 0
	if err := d.Decode(layers.LinkTypeRaw, ip, &p); err != nil || string(p.Payload) != "hi" {
		t.Errorf("tso: %q, %v", p.Payload, err)
	}
}

func TestFragments(t *testing.T) {
	d := decode.NewDecoder()
	var p decode.Packet
	// IPv4 first fragment: decoded, Fragment set.
	ip := udp4().IP()
	ip[6], ip[7] = 0x20, 0 // MF
	if err := d.Decode(layers.LinkTypeRaw, ip, &p); err != nil || !p.Fragment || p.SrcPort != 123 {
		t.Errorf("first fragment: %+v %v", p, err)
	}
	// Later fragment: no ports, no payload.
	ip[6], ip[7] = 0x00, 0xb9
	if err := d.Decode(layers.LinkTypeRaw, ip, &p); err != nil || !p.Fragment || p.SrcPort != 0 || p.Payload != nil || p.Proto != decode.ProtoUDP {
		t.Errorf("later fragment: %+v %v", p, err)
	}
	// IPv6 with hop-by-hop, destination options and a fragment header.
	u := capgen.UDP{Src: v6a, Dst: v6b, SrcPort: 53, DstPort: 5353, Payload: []byte("dns")}
	base := u.IP()
	build := func(fragOff uint16, more bool) []byte {
		ext := []byte{60, 0, 0, 0, 0, 0, 0, 0} // hop-by-hop -> dest opts
		ext = append(ext, 44, 0, 1, 4, 0, 0, 0, 0)
		fo := fragOff << 3
		if more {
			fo |= 1
		}
		ext = append(ext, 17, 0, byte(fo>>8), byte(fo), 0, 0, 0, 1) // fragment -> UDP
		pkt := append([]byte(nil), base[:40]...)
		pkt[6] = 0
		pkt = append(pkt, ext...)
		pkt = append(pkt, base[40:]...)
		binary.BigEndian.PutUint16(pkt[4:], uint16(len(pkt)-40))
		return pkt
	}
	if err := d.Decode(layers.LinkTypeRaw, build(0, true), &p); err != nil || !p.Fragment || p.DstPort != 5353 || string(p.Payload) != "dns" {
		t.Errorf("v6 first fragment: %+v %v", p, err)
	}
	if err := d.Decode(layers.LinkTypeRaw, build(100, false), &p); err != nil || !p.Fragment || p.DstPort != 0 || p.Proto != decode.ProtoUDP {
		t.Errorf("v6 later fragment: %+v %v", p, err)
	}
	if err := d.Decode(layers.LinkTypeRaw, build(0, false), &p); err != nil || p.Fragment || p.DstPort != 5353 {
		t.Errorf("v6 atomic fragment: %+v %v", p, err)
	}
	// A chain of 9 destination options headers is refused.
	pkt := append([]byte(nil), base[:40]...)
	pkt[6] = 60
	for i := 0; i < 9; i++ {
		pkt = append(pkt, 60, 0, 0, 0, 0, 0, 0, 0)
	}
	binary.BigEndian.PutUint16(pkt[4:], uint16(len(pkt)-40))
	if err := d.Decode(layers.LinkTypeRaw, pkt, &p); err != decode.ErrMalformed {
		t.Errorf("long chain: %v", err)
	}
}

func TestICMPErrors(t *testing.T) {
	d := decode.NewDecoder()
	var p decode.Packet
	router4 := netip.MustParseAddr("203.0.113.1")
	m := capgen.ICMPUnreachable{Src: router4, Dst: v4a, Code: 13, Quote: tcp4().IP()}
	if err := d.Decode(layers.LinkTypeEthernet, m.Ethernet(mac2, mac1), &p); err != nil {
		t.Fatal(err)
	}
	want := decode.Quoted{Valid: true, Proto: decode.ProtoTCP, Src: v4a, Dst: v4b, SrcPort: 52100, DstPort: 5223}
	if p.Proto != decode.ProtoICMP || p.ICMPType != 3 || p.ICMPCode != 13 || p.Src != router4 || p.Inner != want {
		t.Errorf("icmp4: %+v", p)
	}
	router6 := netip.MustParseAddr("2001:db8::1")
	te := capgen.ICMPError{Src: router6, Dst: v6a, Type: capgen.ICMPv6TimeExceeded, Quote: tcp6().IP()}
	if err := d.Decode(layers.LinkTypeRaw, te.IP(), &p); err != nil {
		t.Fatal(err)
	}
	want = decode.Quoted{Valid: true, Proto: decode.ProtoTCP, Src: v6a, Dst: v6b, SrcPort: 52100, DstPort: 5223}
	if p.Proto != decode.ProtoICMPv6 || p.ICMPType != 3 || p.Inner != want {
		t.Errorf("icmp6: %+v", p)
	}
	// An echo request quotes nothing.
	echo := capgen.ICMPError{Src: v4a, Dst: v4b, Type: 8, Quote: []byte{0, 1, 0, 1}}
	if err := d.Decode(layers.LinkTypeRaw, echo.IP(), &p); err != nil || p.Inner.Valid || p.ICMPType != 8 {
		t.Errorf("echo: %+v %v", p, err)
	}
	// A quote cut after the IP header: addresses, no ports.
	short := capgen.ICMPUnreachable{Src: router4, Dst: v4a, Code: 3, Quote: tcp4().IP()[:20]}
	if err := d.Decode(layers.LinkTypeRaw, short.Raw(), &p); err != nil || !p.Inner.Valid || p.Inner.Dst != v4b || p.Inner.DstPort != 0 {
		t.Errorf("short quote: %+v %v", p, err)
	}
}

func TestErrors(t *testing.T) {
	d := decode.NewDecoder()
	var p decode.Packet
	arp := capgen.EthernetFrame(mac1, mac2, 0x0806, make([]byte, 28))
	bad := tcp4().IP()
	bad[0] = 0x44 // IHL 4
	badVer := tcp4().Raw()
	badVer[0] = 0x55
	badOff := tcp4().IP()
	badOff[32] = 0x30 // TCP data offset 3
	cases := []struct {
		name  string
		link  layers.LinkType
		frame []byte
		want  error
	}{
		{"arp", layers.LinkTypeEthernet, arp, decode.ErrNotIP},
		{"unsupported link", layers.LinkType(147), make([]byte, 40), decode.ErrUnsupportedLink},
		{"radiotap length 0", layers.LinkTypeIEEE80211Radio, make([]byte, 40), decode.ErrMalformed},
		{"ihl", layers.LinkTypeRaw, bad, decode.ErrMalformed},
		{"version", layers.LinkTypeRaw, badVer, decode.ErrMalformed},
		{"ipv4 link, v6 packet", layers.LinkTypeIPv4, tcp6().Raw(), decode.ErrMalformed},
		{"tcp offset", layers.LinkTypeRaw, badOff, decode.ErrMalformed},
		{"short", layers.LinkTypeEthernet, make([]byte, 10), decode.ErrTruncated},
		{"null unknown family", layers.LinkTypeNull, []byte{7, 0, 0, 0, 0x45}, decode.ErrNotIP},
		{"pktap in pktap", decode.LinkTypePKTAP, capgen.PKTAP("x", 1, 258, tcp4().PKTAP("y", 2)), decode.ErrUnsupportedLink},
	}
	for _, c := range cases {
		if err := d.Decode(c.link, c.frame, &p); err != c.want {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
}

// TestCaptureRoundTrip writes every link type to a pcapng file (and a pcap
// per link type), reads it back with package capture and decodes it.
func TestCaptureRoundTrip(t *testing.T) {
	s4, s6 := tcp4(), tcp6()
	links := []layers.LinkType{layers.LinkTypeEthernet, layers.LinkTypeLinuxSLL, layers.LinkTypeLinuxSLL2,
		layers.LinkTypeNull, layers.LinkTypeLoop, layers.LinkTypeRaw, capgen.LinkTypeRawDLT12, capgen.LinkTypeRawDLT14,
		layers.LinkTypeIPv4, layers.LinkTypeIPv6, decode.LinkTypePKTAP, decode.LinkTypePKTAPDarwin}
	frames := [][]byte{s4.Ethernet(mac1, mac2, 5, 6), s4.SLL(), s6.SLL2(), s6.IP().Null(false), s4.IP().Loop(),
		s4.Raw(), s6.Raw(), s4.Raw(), s4.Raw(), s6.Raw(), s4.PKTAP("apsd", 5), capgen.PKTAP("mdmd", 6, capgen.DLTEthernet, s4.Ethernet(mac1, mac2))}
	segs := []capgen.TCP{s4, s4, s6, s6, s4, s4, s6, s4, s4, s6, s4, s4}
	var ng bytes.Buffer
	w := capgen.NewPcapNG(&ng, links...)
	ts := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for i, f := range frames {
		w.Write(ts, f, i)
		var pc bytes.Buffer
		pw := capgen.NewPcapOptions(&pc, links[i], capgen.PcapOptions{BigEndian: i%2 == 1, Nano: i%3 == 0})
		pw.Write(ts, f, 0)
		got := readDecode(t, pc.Bytes())
		if len(got) != 1 {
			t.Fatalf("pcap %v: %d packets", links[i], len(got))
		}
		checkTCP(t, "pcap "+links[i].String(), &got[0], segs[i])
	}
	got := readDecode(t, ng.Bytes())
	if len(got) != len(frames) {
		t.Fatalf("pcapng: %d packets", len(got))
	}
	for i := range got {
		checkTCP(t, "pcapng "+links[i].String(), &got[i], segs[i])
	}
}

func readDecode(t *testing.T, b []byte) []decode.Packet {
	t.Helper()
	f, err := capture.OpenReader("mem", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	d := decode.NewDecoder()
	var out []decode.Packet
	var cp capture.Packet
	for {
		err := f.Next(&cp)
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		var p decode.Packet
		if err := d.Decode(cp.LinkType, cp.Data, &p); err != nil {
			t.Fatalf("packet %d link %v: %v", f.Packets(), cp.LinkType, err)
		}
		p.Payload = append([]byte(nil), p.Payload...)
		out = append(out, p)
	}
}

func TestZeroAllocs(t *testing.T) {
	d := decode.NewDecoder()
	var p decode.Packet
	cases := map[string]struct {
		link  layers.LinkType
		frame []byte
	}{
		"ether-tcp":  {layers.LinkTypeEthernet, tcp4().Ethernet(mac1, mac2)},
		"ether-udp":  {layers.LinkTypeEthernet, udp4().Ethernet(mac1, mac2)},
		"vlan":       {layers.LinkTypeEthernet, tcp4().Ethernet(mac1, mac2, 7, 8)},
		"sll2":       {layers.LinkTypeLinuxSLL2, tcp6().SLL2()},
		"pktap":      {decode.LinkTypePKTAP, capgen.PKTAP("apsd", 1, capgen.DLTEthernet, tcp4().Ethernet(mac1, mac2))},
		"ipv6":       {layers.LinkTypeEthernet, tcp6().Ethernet(mac1, mac2)},
		"icmp-quote": {layers.LinkTypeRaw, capgen.ICMPUnreachable{Src: v4b, Dst: v4a, Code: 13, Quote: tcp4().IP()}.Raw()},
	}
	for name, c := range cases {
		if err := d.Decode(c.link, c.frame, &p); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if n := testing.AllocsPerRun(200, func() { d.Decode(c.link, c.frame, &p) }); n != 0 {
			t.Errorf("%s: %v allocs per Decode", name, n)
		}
	}
}

// tsharkAll returns tsharkRows for every capture from a single tshark run
// over their concatenation (mergecap -a), split by capinfos' frame counts:
// one tshark start instead of one per file. It returns nil when mergecap or
// capinfos is missing or fails.
func tsharkAll(t *testing.T, paths []string) map[string][]string {
	t.Helper()
	if _, err := exec.LookPath("mergecap"); err != nil {
		return nil
	}
	out, err := exec.Command("capinfos", append([]string{"-c", "-M", "-T", "-r"}, paths...)...).Output()
	if err != nil {
		return nil
	}
	counts := map[string]int{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		name, n, _ := strings.Cut(line, "\t")
		c, err := strconv.Atoi(strings.TrimSpace(n))
		if err != nil {
			return nil
		}
		counts[name] = c
	}
	merged := filepath.Join(t.TempDir(), "all.pcapng")
	if err := exec.Command("mergecap", append([]string{"-a", "-F", "pcapng", "-w", merged}, paths...)...).Run(); err != nil {
		return nil
	}
	rows := tsharkRows(t, merged)
	res := map[string][]string{}
	for _, p := range paths {
		n, ok := counts[p]
		if !ok || n > len(rows) {
			return nil
		}
		res[p], rows = rows[:n], rows[n:]
	}
	if len(rows) != 0 {
		return nil
	}
	return res
}

// tsharkRows returns one line per frame of path: frame.protocols, then
// the first source and destination addresses and TCP ports, tab-separated.
// IP reassembly is off, so first fragments are decoded as we decode them.
func tsharkRows(t *testing.T, path string) []string {
	t.Helper()
	args := []string{"-r", path, "-o", "ip.defragment:FALSE", "-o", "ipv6.defragment:FALSE",
		"-T", "fields", "-E", "separator=/t", "-E", "occurrence=f"}
	for _, f := range []string{"frame.protocols", "ip.src", "ipv6.src", "tcp.srcport", "ip.dst", "ipv6.dst", "tcp.dstport"} {
		args = append(args, "-e", f)
	}
	out, err := exec.Command("tshark", args...).Output()
	if err != nil {
		t.Fatalf("tshark %s: %v", path, err)
	}
	s := strings.TrimRight(string(out), "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// TestSharedCaptures compares the packets decoded as TCP, UDP and ICMP with
// tshark's count of the same, by the outermost transport tshark finds (a
// packet quoted in an ICMP error is ICMP, not TCP), without IP reassembly
// (both decode a first fragment's transport header; later fragments count
// as neither). Malformed segments count as TCP, as tshark counts them.
func TestSharedCaptures(t *testing.T) {
	pcaps := sharedtest.Pcaps(t)
	if _, err := exec.LookPath("tshark"); err != nil {
		t.Skip("tshark not installed")
	}
	all := tsharkAll(t, pcaps)
	for _, path := range pcaps {
		t.Run(filepath.Base(path), func(t *testing.T) {
			f, err := capture.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			d := decode.NewDecoder()
			var cp capture.Packet
			var p decode.Packet
			var nTCP, nUDP, nICMP, unsupported int
			var first *decode.Packet
			for {
				err := f.Next(&cp)
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				err = d.Decode(cp.LinkType, cp.Data, &p)
				if err == decode.ErrUnsupportedLink {
					unsupported++
				}
				if p.IPVersion == 0 {
					continue
				}
				// A broken transport header (err != nil here) still
				// counts: tshark matches "tcp" on malformed segments.
				switch {
				case p.Fragment && p.SrcPort == 0 && p.DstPort == 0 && p.Proto != decode.ProtoICMP && p.Proto != decode.ProtoICMPv6:
					// a later fragment: tshark without reassembly does not see its transport
				case p.Proto == decode.ProtoTCP:
					nTCP++
					if first == nil {
						c := p
						first = &c
					}
				case p.Proto == decode.ProtoUDP:
					nUDP++
				case p.Proto == decode.ProtoICMP || p.Proto == decode.ProtoICMPv6:
					nICMP++
				}
			}
			if unsupported > 0 && unsupported == int(f.Packets()) {
				t.Skipf("link type %v not supported by the decoder", cp.LinkType)
			}
			rows, ok := all[path]
			if !ok {
				rows = tsharkRows(t, path)
			}
			var wTCP, wUDP, wICMP int
			var firstRow string
			for _, r := range rows {
				cols := strings.Split(r, "\t")
				switch firstTransport(cols[0]) {
				case "tcp":
					wTCP++
					if firstRow == "" {
						firstRow = strings.Join(cols[1:], ",")
					}
				case "udp":
					wUDP++
				case "icmp", "icmpv6":
					wICMP++
				}
			}
			if nTCP != wTCP || nUDP != wUDP || nICMP != wICMP {
				t.Errorf("tcp/udp/icmp = %d/%d/%d, tshark %d/%d/%d", nTCP, nUDP, nICMP, wTCP, wUDP, wICMP)
			}
			if first != nil {
				got := strings.Join([]string{addr4(first.Src), addr6(first.Src), strconv.Itoa(int(first.SrcPort)),
					addr4(first.Dst), addr6(first.Dst), strconv.Itoa(int(first.DstPort))}, ",")
				if got != firstRow {
					t.Errorf("first TCP packet %s, tshark %s", got, firstRow)
				}
			}
		})
	}
}

// firstTransport returns the first of tcp, udp, icmp, icmpv6 in a tshark
// frame.protocols list ("eth:ethertype:ip:tcp:tls"): the outer transport,
// not one quoted in an ICMP error or carried in a tunnel.
func firstTransport(protos string) string {
	for _, p := range strings.Split(protos, ":") {
		switch p {
		case "tcp", "udp", "icmp", "icmpv6":
			return p
		}
	}
	return ""
}

func addr4(a netip.Addr) string {
	if a.Is4() {
		return a.String()
	}
	return ""
}

func addr6(a netip.Addr) string {
	if a.Is6() {
		return a.String()
	}
	return ""
}

func FuzzDecode(f *testing.F) {
	s4, s6 := tcp4(), tcp6()
	seeds := []struct {
		link  layers.LinkType
		frame []byte
	}{
		{layers.LinkTypeEthernet, s4.Ethernet(mac1, mac2, 1, 2, 3)},
		{layers.LinkTypeEthernet, s6.IP().PPPoE(mac1, mac2, 1, 9)},
		{layers.LinkTypeLinuxSLL, udp4().SLL()},
		{layers.LinkTypeLinuxSLL2, s6.SLL2()},
		{layers.LinkTypeNull, s6.IP().Null(true)},
		{layers.LinkTypeLoop, s4.IP().Loop()},
		{layers.LinkTypeRaw, capgen.ICMPUnreachable{Src: v6b, Dst: v6a, Code: 1, Quote: s6.IP()}.Raw()},
		{layers.LinkTypeIEEE80211Radio, wifiFrame(udp4().IP(), false)},
		{layers.LinkTypeRaw, capgen.ICMPUnreachable{Src: v4b, Dst: v4a, Code: 13, Quote: s4.IP()}.Raw()},
		{decode.LinkTypePKTAP, capgen.PKTAP("apsd", 1, capgen.DLTEthernet, s4.Ethernet(mac1, mac2))},
		{decode.LinkTypePKTAPDarwin, s6.PKTAP("x", 2)},
	}
	for _, s := range seeds {
		f.Add(uint16(s.link), s.frame)
	}
	f.Fuzz(func(t *testing.T, link uint16, frame []byte) {
		d := decode.NewDecoder()
		var p decode.Packet
		err := d.Decode(layers.LinkType(link), frame, &p)
		checkSentinel(t, err)
		if err == nil && p.Payload != nil && len(p.Payload) > len(frame) {
			t.Fatal("payload longer than frame")
		}
	})
}

func BenchmarkDecode(b *testing.B) {
	cases := []struct {
		name  string
		link  layers.LinkType
		frame []byte
	}{
		{"ether-tcp4", layers.LinkTypeEthernet, capgen.TCP{Src: v4a, Dst: v4b, SrcPort: 1, DstPort: 443, Flags: capgen.ACK, Payload: make([]byte, 1200)}.Ethernet(mac1, mac2)},
		{"vlan-tcp6", layers.LinkTypeEthernet, tcp6().Ethernet(mac1, mac2, 10)},
		{"sll2-udp", layers.LinkTypeLinuxSLL2, udp4().SLL2()},
		{"pktap-ether", decode.LinkTypePKTAP, capgen.PKTAP("apsd", 1, capgen.DLTEthernet, tcp4().Ethernet(mac1, mac2))},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			d := decode.NewDecoder()
			var p decode.Packet
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				d.Decode(c.link, c.frame, &p)
			}
		})
	}
}

// BenchmarkGopacketParser measures gopacket's DecodingLayerParser on the
// same Ethernet/IPv4/TCP frame, for comparison with BenchmarkDecode.
func BenchmarkGopacketParser(b *testing.B) {
	frame := capgen.TCP{Src: v4a, Dst: v4b, SrcPort: 1, DstPort: 443, Flags: capgen.ACK, Payload: make([]byte, 1200)}.Ethernet(mac1, mac2)
	var eth layers.Ethernet
	var ip4 layers.IPv4
	var tcp layers.TCP
	var payload gopacket.Payload
	parser := gopacket.NewDecodingLayerParser(layers.LayerTypeEthernet, &eth, &ip4, &tcp, &payload)
	decoded := make([]gopacket.LayerType, 0, 4)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if err := parser.DecodeLayers(frame, &decoded); err != nil && !errors.Is(err, io.EOF) {
			_ = err
		}
	}
}

// decodeFile decodes every packet of a shared capture, calling fn with the
// decoded packet and Decode's error.
func decodeFile(t *testing.T, rel string, fn func(p *decode.Packet, err error)) {
	t.Helper()
	f, err := capture.Open(sharedtest.Path(t, rel))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	d := decode.NewDecoder()
	var cp capture.Packet
	var p decode.Packet
	for {
		if err := f.Next(&cp); err == io.EOF {
			return
		} else if err != nil {
			t.Fatal(err)
		}
		err := d.Decode(cp.LinkType, cp.Data, &p)
		p.WireLen = cp.WireLen
		fn(&p, err)
	}
}

func TestNamedSharedCaptures(t *testing.T) {
	t.Run("qinqinq", func(t *testing.T) {
		n := 0
		decodeFile(t, "pcaps/zeek-vlan_qinqinq.pcap", func(p *decode.Packet, err error) {
			if err != nil || p.VLAN != 30 || p.Proto != decode.ProtoTCP || (p.DstPort != 80 && p.SrcPort != 80) {
				t.Errorf("%v %+v", err, *p)
			}
			n++
		})
		if n != 14 {
			t.Errorf("%d packets", n)
		}
	})
	t.Run("pppoe-over-qinq", func(t *testing.T) {
		sni := 0
		decodeFile(t, "pcaps/zeek-pppoe_over_qinq-apple_tls.pcap", func(p *decode.Packet, err error) {
			if err != nil || p.VLAN != 3704 || p.Proto != decode.ProtoTCP {
				t.Errorf("%v %+v", err, *p)
			}
			if bytes.Contains(p.Payload, []byte("xp.apple.com")) {
				sni++
			}
		})
		if sni == 0 {
			t.Error("no payload names xp.apple.com")
		}
	})
	t.Run("sll-oversized-addr", func(t *testing.T) {
		ok := 0
		decodeFile(t, "pcaps/gopacket-linux_sll_oversized_addr.pcapng", func(p *decode.Packet, err error) {
			if err == nil && p.IPVersion == 4 {
				ok++
			}
		})
		if ok < 200 {
			t.Errorf("%d packets decoded", ok)
		}
	})
	t.Run("sll2", func(t *testing.T) {
		kinds := map[string]int{}
		decodeFile(t, "pcaps/zeek-linux_dlt_sll2.pcap", func(p *decode.Packet, err error) {
			kinds[strconv.Itoa(int(p.Proto))+"/"+errString(err)]++
		})
		want := map[string]int{"0/" + decode.ErrNotIP.Error(): 2, "1/": 2, "58/": 2} // ARP, ICMP, ICMPv6
		if len(kinds) != len(want) {
			t.Errorf("got %v", kinds)
		}
		for k, n := range want {
			if kinds[k] != n {
				t.Errorf("got %v, want %v", kinds, want)
			}
		}
	})
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// wifiFrame wraps an IP packet in radiotap + 802.11 QoS data (to the access
// point) + LLC/SNAP, as a Wi-Fi monitor-mode capture has it.
func wifiFrame(ip []byte, protected bool) []byte {
	rt := []byte{0, 0, 8, 0, 0, 0, 0, 0} // version 0, length 8, no fields
	fc1 := byte(0x01)                    // to DS
	if protected {
		fc1 |= 0x40
	}
	h := []byte{0x88, fc1, 0, 0, // QoS data, duration
		0x00, 0x1b, 0x17, 0x00, 0x01, 0x01, // address 1: BSSID
		0x3c, 0x22, 0xfb, 0x12, 0x34, 0x56, // address 2: the station (source)
		0x00, 0x1b, 0x17, 0x00, 0x01, 0x02, // address 3: destination
		0, 0, // sequence
		0, 0, // QoS control
		0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00} // LLC/SNAP, IPv4
	out := append(rt, h...)
	return append(out, ip...)
}

func TestDecodeWifi(t *testing.T) {
	ip := capgen.UDP{Src: netip.MustParseAddr("10.0.0.5"), Dst: netip.MustParseAddr("10.0.0.1"), SrcPort: 5353, DstPort: 53, Payload: []byte("hello"), TTL: 64}.IP()
	d := decode.NewDecoder()
	var p decode.Packet
	if err := d.Decode(layers.LinkTypeIEEE80211Radio, wifiFrame(ip, false), &p); err != nil {
		t.Fatal(err)
	}
	if p.Proto != decode.ProtoUDP || p.DstPort != 53 || string(p.Payload) != "hello" || p.SrcMAC != [6]byte{0x3c, 0x22, 0xfb, 0x12, 0x34, 0x56} {
		t.Errorf("decoded %+v", p)
	}
	if err := d.Decode(layers.LinkTypeIEEE80211Radio, wifiFrame(ip, true), &p); err != decode.ErrNotIP {
		t.Errorf("protected frame: %v, want ErrNotIP", err)
	}
	f := wifiFrame(ip, false)
	for i := range f {
		if err := d.Decode(layers.LinkTypeIEEE80211Radio, f[:i], &p); err != nil && err != decode.ErrTruncated && err != decode.ErrMalformed && err != decode.ErrNotIP {
			t.Fatalf("prefix %d: %v", i, err)
		}
	}
	if n := testing.AllocsPerRun(100, func() { _ = d.Decode(layers.LinkTypeIEEE80211Radio, f, &p) }); n != 0 {
		t.Errorf("%v allocations per radiotap frame", n)
	}
}
