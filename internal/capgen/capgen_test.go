package capgen_test

import (
	"bytes"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"

	"orchard/internal/capgen"
)

// TestTsharkReadsOutput writes one frame per link layer and checks that
// tshark decodes each with good IP, TCP, UDP and ICMP checksums.
func TestTsharkReadsOutput(t *testing.T) {
	if _, err := exec.LookPath("tshark"); err != nil {
		t.Skip("tshark not installed")
	}
	a, b := netip.MustParseAddr("10.1.2.3"), netip.MustParseAddr("17.253.1.2")
	a6, b6 := netip.MustParseAddr("fd00::3"), netip.MustParseAddr("2620:149::2")
	m1, m2 := [6]byte{2, 0, 0, 0, 0, 1}, [6]byte{2, 0, 0, 0, 0, 2}
	seg := capgen.TCP{Src: a, Dst: b, SrcPort: 40000, DstPort: 443, Flags: capgen.SYN, Seq: 7, Payload: []byte("x")}
	seg6 := seg
	seg6.Src, seg6.Dst = a6, b6
	udp := capgen.UDP{Src: a6, Dst: b6, SrcPort: 40001, DstPort: 9999, Payload: []byte("query")}
	icmp := capgen.ICMPUnreachable{Src: b, Dst: a, Code: 13, Quote: seg.IP()}
	icmp6 := capgen.ICMPUnreachable{Src: b6, Dst: a6, Code: 1, Quote: seg6.IP()}

	links := []layers.LinkType{layers.LinkTypeEthernet, layers.LinkTypeLinuxSLL, layers.LinkTypeLinuxSLL2,
		layers.LinkTypeNull, layers.LinkTypeLoop, layers.LinkTypeRaw, capgen.LinkTypePKTAP}
	type fr struct {
		iface int
		data  []byte
		proto string // the last protocol tshark should name
	}
	frames := []fr{
		{0, seg.Ethernet(m1, m2), "tcp"},
		{0, seg6.Ethernet(m1, m2, 10, 20), "tcp"},
		{0, seg.IP().PPPoE(m1, m2, 5), "tcp"},
		{0, icmp.Ethernet(m2, m1), "icmp"},
		{1, udp.SLL(), "udp"},
		{2, seg6.SLL2(), "tcp"},
		{3, seg.Null(), "tcp"},
		{4, udp.IP().Loop(), "udp"},
		{5, icmp6.Raw(), "icmpv6"},
		{6, seg.PKTAP("apsd", 99), "tcp"},
	}
	var buf bytes.Buffer
	w := capgen.NewPcapNG(&buf, links...)
	for i, f := range frames {
		if err := w.Write(time.Unix(1700000000, int64(i)*1000), f.data, f.iface); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(t.TempDir(), "all.pcapng")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("tshark", "-r", path,
		"-o", "ip.check_checksum:TRUE", "-o", "tcp.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE",
		"-T", "fields", "-E", "separator=/t", "-E", "occurrence=f",
		"-e", "frame.protocols", "-e", "ip.checksum.status", "-e", "tcp.checksum.status",
		"-e", "udp.checksum.status", "-e", "icmp.checksum.status", "-e", "icmpv6.checksum.status", "-e", "_ws.expert").Output()
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	if len(lines) != len(frames) {
		t.Fatalf("tshark read %d frames, want %d:\n%s", len(lines), len(frames), out)
	}
	for i, l := range lines {
		cols := strings.Split(l, "\t")
		if !strings.Contains(":"+cols[0]+":", ":"+frames[i].proto+":") {
			t.Errorf("frame %d: protocols %s, want %s", i+1, cols[0], frames[i].proto)
		}
		if len(cols) > 6 && strings.Contains(cols[6], "Malformed") {
			t.Errorf("frame %d: %s", i+1, cols[6])
		}
		for _, st := range cols[1:6] {
			if st != "" && st != "1" { // 1: good
				t.Errorf("frame %d: bad checksum status in %q", i+1, l)
			}
		}
	}
}
