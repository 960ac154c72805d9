package htmlreport_test

import (
	"bytes"
	"crypto/tls"
	"encoding/binary"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"golang.org/x/net/html"

	"orchard/analyzer"
	"orchard/catalog"
	"orchard/htmlreport"
	"orchard/internal/capgen"
)

// Hostile strings as they could arrive in a DNS name, an SNI, an HTTP
// header or a PKTAP process name.
var hostile = []string{
	`<script>alert(1)</script>.apple.com`,
	`"><img src=x onerror=alert(1)>`,
	`'><svg onload=alert(1)>`,
	`</style><script>alert(2)</script>`,
	`</title><script>alert(3)</script>`,
	`javascript:alert(4)`,
	`]]><desc onload=alert(5)>`,
	"\x00\x1b[31m\u202e<b>bidi</b>",
	"\xff\xfe invalid utf-8 <i>",
}

// checkInert fails when the page has anything that loads or runs, or when
// a hostile string is not shown as text.
func checkInert(t *testing.T, page []byte, doc *html.Node, shown ...string) {
	t.Helper()
	if bad := activeContent(doc); len(bad) > 0 {
		t.Errorf("hostile input injected markup: %v", bad)
	}
	for _, tag := range []string{"<script", "<img", "<svg onload", "<desc onload", "<b>", "<i>"} {
		if bytes.Contains(bytes.ToLower(page), []byte(tag)) {
			t.Errorf("page holds %q unescaped", tag)
		}
	}
	if !utf8.Valid(page) {
		t.Errorf("page is not valid UTF-8")
	}
	body := text(doc)
	for _, s := range shown {
		if !strings.Contains(body, s) {
			t.Errorf("hostile string %q is not shown as text", s)
		}
	}
}

// TestHostileReport puts hostile strings in every field of a report that
// comes from the wire or a file name.
func TestHostileReport(t *testing.T) {
	for _, h := range hostile {
		t.Run("", func(t *testing.T) {
			r := hostileReport(h)
			page, doc := render(t, r)
			shown := []string(nil)
			if strings.ToValidUTF8(h, "") == h && !strings.ContainsAny(h, "\x00\x1b") {
				shown = append(shown, h)
			}
			checkInert(t, page, doc, shown...)
		})
	}
}

func hostileReport(h string) *analyzer.Report {
	f := &analyzer.Finding{
		Type: "finding", Finding: "tcp.syn_unanswered", Severity: "error", Host: h, NameSource: "sni",
		Service: h, Section: h, Client: h, ClientMAC: h, Process: h, Server: h, Port: 443, Proto: h,
		Count: 1, First: "2026-11-02T08:15:01Z", Last: "2026-11-02T08:15:08Z", Evidence: h, Advice: h,
	}
	g := *f
	g.Finding, g.Severity, g.First, g.Last, g.Client = h, h, h, h, "10.0.0.1"
	return &analyzer.Report{
		Capture: analyzer.CaptureInfo{
			Files: []string{h}, First: "2026-11-02T08:15:00Z", Last: "2026-11-02T08:16:00Z", Duration: 60,
			Warnings: []string{h}, Errors: []string{h},
			Live: &analyzer.LiveStats{Interface: h, Received: 10, DroppedKernel: 1},
		},
		Findings: []*analyzer.Finding{f, &g},
		Services: []analyzer.ServiceSummary{{Section: h, Hosts: []string{h}, Flows: 1, Failed: 1, Verdict: h}},
		Devices:  []*analyzer.DeviceSummary{{Address: h, MAC: h, Processes: []string{h}}},
	}
}

// TestHostileCapture analyses a real capture whose DNS name, SNI and
// process name are markup, and checks the page shows them as text.
func TestHostileCapture(t *testing.T) {
	dnsName := `<script>alert(1)</script>.apple.com`
	sni := `"><img/src/onerror=alert(1)>.apple.com`
	proc := `<svg/onload=1>`
	path := filepath.Join(t.TempDir(), "hostile.pcap")
	if err := os.WriteFile(path, hostileCapture(t, dnsName, sni, proc), 0o644); err != nil {
		t.Fatal(err)
	}
	r := analyse(t, path)
	hosts := map[string]bool{}
	for _, f := range r.Findings {
		hosts[f.Host] = true
	}
	// The analyzer lower-cases names.
	for _, h := range []string{strings.ToLower(dnsName), strings.ToLower(sni)} {
		if !hosts[h] {
			t.Fatalf("no finding names %q (findings: %v); the test needs one", h, hosts)
		}
	}
	page, doc := render(t, r)
	checkInert(t, page, doc, strings.ToLower(dnsName), strings.ToLower(sni), proc)
	// Inside the SVG timeline too.
	svg := text(elements(doc, "svg")[0])
	if !strings.Contains(svg, strings.ToLower(sni)) {
		t.Errorf("timeline does not show the hostile SNI as text")
	}
}

// hostileCapture: a device resolves dnsName to an Apple address and gets
// no answer to its SYNs; then it sends a ClientHello for sni to another
// Apple address, which resets the connection. Frames carry PKTAP headers
// naming proc.
func hostileCapture(t *testing.T, dnsName, sni, proc string) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := capgen.NewPcap(&buf, capgen.LinkTypePKTAP)
	dev := netip.MustParseAddr("10.9.8.7")
	resolver := netip.MustParseAddr("10.9.0.53")
	srv1 := netip.MustParseAddr("17.1.2.3")
	srv2 := netip.MustParseAddr("17.1.2.4")
	at := time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC)
	put := func(p capgen.IPPacket, d time.Duration) {
		t.Helper()
		at = at.Add(d)
		if err := w.Write(at, p.PKTAP(proc, 77), 0); err != nil {
			t.Fatal(err)
		}
	}
	put(capgen.UDP{Src: dev, Dst: resolver, SrcPort: 53001, DstPort: 53, Payload: dnsMessage(false, dnsName, srv1)}.IP(), 0)
	put(capgen.UDP{Src: resolver, Dst: dev, SrcPort: 53, DstPort: 53001, Payload: dnsMessage(true, dnsName, srv1)}.IP(), 5*time.Millisecond)
	for i := range 4 {
		put(capgen.TCP{Src: dev, Dst: srv1, SrcPort: 50001, DstPort: 443, Flags: 0x02, Seq: 1000}.IP(), time.Duration(1<<i)*time.Second)
	}
	const syn, ack, psh, rst = 0x02, 0x10, 0x08, 0x04
	put(capgen.TCP{Src: dev, Dst: srv2, SrcPort: 50002, DstPort: 443, Flags: syn, Seq: 5000}.IP(), time.Second)
	put(capgen.TCP{Src: srv2, Dst: dev, SrcPort: 443, DstPort: 50002, Flags: syn | ack, Seq: 9000, Ack: 5001, TTL: 52}.IP(), 20*time.Millisecond)
	put(capgen.TCP{Src: dev, Dst: srv2, SrcPort: 50002, DstPort: 443, Flags: ack, Seq: 5001, Ack: 9001}.IP(), time.Millisecond)
	hello := clientHello(t, sni)
	put(capgen.TCP{Src: dev, Dst: srv2, SrcPort: 50002, DstPort: 443, Flags: psh | ack, Seq: 5001, Ack: 9001, Payload: hello}.IP(), time.Millisecond)
	put(capgen.TCP{Src: srv2, Dst: dev, SrcPort: 443, DstPort: 50002, Flags: rst | ack, Seq: 9001, Ack: 5001 + uint32(len(hello)), TTL: 250}.IP(), 3*time.Millisecond)
	if err := w.Err(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// dnsMessage is a query for name's A record, or its answer addr.
func dnsMessage(resp bool, name string, addr netip.Addr) []byte {
	m := make([]byte, 12)
	binary.BigEndian.PutUint16(m[0:], 0x4242)
	binary.BigEndian.PutUint16(m[4:], 1)
	if resp {
		binary.BigEndian.PutUint16(m[2:], 0x8180)
		binary.BigEndian.PutUint16(m[6:], 1)
	} else {
		binary.BigEndian.PutUint16(m[2:], 0x0100)
	}
	for _, l := range strings.Split(name, ".") {
		m = append(m, byte(len(l)))
		m = append(m, l...)
	}
	m = append(m, 0, 0, 1, 0, 1)
	if resp {
		a := addr.As4()
		m = append(m, 0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4)
		m = append(m, a[:]...)
	}
	return m
}

// clientHello returns the first flight crypto/tls sends for sni.
func clientHello(t *testing.T, sni string) []byte {
	t.Helper()
	c, s := net.Pipe()
	defer s.Close()
	go func() {
		_ = tls.Client(c, &tls.Config{ServerName: sni, InsecureSkipVerify: true}).Handshake()
		c.Close()
	}()
	_ = s.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 16<<10)
	n, err := s.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	return buf[:n]
}

// FuzzRender renders reports whose wire fields are arbitrary strings: the
// page must always render, parse, and hold nothing that loads or runs.
func FuzzRender(f *testing.F) {
	for _, h := range hostile {
		f.Add(h, h, h)
	}
	f.Add("mesu.apple.com", "tcp.syn_unanswered", "2026-11-02T08:15:01Z")
	cat, err := catalog.Default()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, host, name, when string) {
		r := hostileReport(host)
		r.Findings[1].Finding = name
		r.Findings[1].First = when
		r.Findings[0].Evidence = name + when
		var buf bytes.Buffer
		if err := htmlreport.Render(&buf, r, htmlreport.Options{Catalog: cat}); err != nil {
			t.Fatal(err)
		}
		doc, err := html.Parse(bytes.NewReader(buf.Bytes()))
		if err != nil {
			t.Fatal(err)
		}
		if bad := activeContent(doc); len(bad) > 0 {
			t.Fatalf("markup injected: %v", bad)
		}
	})
}
