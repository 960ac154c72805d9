package analyzer_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"

	"orchard/analyzer"
	"orchard/internal/capgen"
	"orchard/internal/demo"
)

var update = flag.Bool("update", false, "rewrite golden files")

func analyse(t *testing.T, cfg analyzer.Config, files ...string) *analyzer.Report {
	t.Helper()
	e, err := analyzer.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if _, err := e.ReadFile(context.Background(), f, nil); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
	}
	return e.Finish()
}

// TestDemoGolden checks the whole report of the bundled demo capture.
func TestDemoGolden(t *testing.T) {
	in := filepath.Join("..", "testdata", "demo-ipad.pcap")
	r := analyse(t, analyzer.Config{}, in)
	r.Capture.Files = []string{"testdata/demo-ipad.pcap"}
	got, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("..", "testdata", "demo-ipad.golden.json")
	if *update {
		if err := os.WriteFile(golden, append(got, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./analyzer -run Golden -update)", err)
	}
	if !bytes.Equal(bytes.TrimSpace(got), bytes.TrimSpace(want)) {
		t.Errorf("report differs from %s; rerun with -update after checking:\n%s", golden, firstDiff(string(got), string(want)))
	}
}

// TestDemoRegenerated builds the demo anew (fresh keys and handshakes) and
// checks that every finding the scenario plants is found, and nothing else.
func TestDemoRegenerated(t *testing.T) {
	b, err := demo.Capture()
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "demo.pcap")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	r := analyse(t, analyzer.Config{}, p)
	var got []string
	for _, f := range r.Findings {
		got = append(got, f.Finding+" "+f.Host)
	}
	sort.Strings(got)
	want := []string{
		"apns.fallback 27-courier.push.apple.com",
		"dns.failure mask.icloud.com",
		"dns.failure mesu.apple.com",
		"dns.sinkhole updates.cdn-apple.com",
		"dns.unanswered appldnld.apple.com",
		"http.proxy_denied idmsa.apple.com",
		"ntp.bad time.apple.com",
		"ntp.unanswered time-ios.apple.com",
		"port.unlisted albert.apple.com",
		"tcp.icmp_unreachable gs.apple.com",
		"tcp.reset albert.apple.com",
		"tcp.syn_rejected iosapps.itunes.apple.com",
		"tcp.syn_unanswered 27-courier.push.apple.com",
		"tls.handshake_aborted gdmf.apple.com",
		"tls.hello_unanswered iprofiles.apple.com",
		"tls.intercepted mdmenrollment.apple.com",
		"udp.unanswered gateway.icloud.com",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// The blocked non-Apple host is a true negative unless --all-hosts.
	for _, f := range r.Findings {
		if f.Server == "93.184.215.14" {
			t.Errorf("finding for a non-Apple host: %+v", f)
		}
	}
	r = analyse(t, analyzer.Config{AllHosts: true}, p)
	found := false
	for _, f := range r.Findings {
		if f.Server == "93.184.215.14" && f.Finding == "tcp.syn_unanswered" {
			found = true
		}
	}
	if !found {
		t.Error("--all-hosts: the blocked non-Apple host is not reported")
	}
}

func firstDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := 0; i < len(al) && i < len(bl); i++ {
		if al[i] != bl[i] {
			return "line " + strconv.Itoa(i+1) + ":\n  got:  " + al[i] + "\n  want: " + bl[i]
		}
	}
	return "lengths differ"
}

// TestAppleProcessNames: a pcapng file as macOS `tcpdump -k` writes it names
// the process behind each packet; findings and devices carry it, with one
// worker or two.
func TestAppleProcessNames(t *testing.T) {
	var buf bytes.Buffer
	w := capgen.NewPcapNG(&buf, layers.LinkTypeEthernet)
	timed := w.AddProcess(142, "timed")
	ntp := make([]byte, 48)
	ntp[0] = 0x23 // NTPv4 client
	frame := capgen.UDP{Src: netip.MustParseAddr("10.0.0.2"), Dst: netip.MustParseAddr("17.253.4.125"), SrcPort: 50123, DstPort: 123, Payload: ntp, TTL: 64}.Ethernet([6]byte{2, 0, 0, 0, 0, 2}, [6]byte{2, 0, 0, 0, 0, 1})
	for i := 0; i < 3; i++ {
		w.WriteProc(time.Unix(1700000000+int64(i), 0), frame, 0, timed)
	}
	p := filepath.Join(t.TempDir(), "mac-k.pcapng")
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, workers := range []int{1, 2} {
		r := analyse(t, analyzer.Config{Workers: workers}, p)
		if len(r.Findings) != 1 || r.Findings[0].Finding != analyzer.FindNTPUnanswered || r.Findings[0].Process != "timed" {
			t.Errorf("workers=%d: findings %+v, want ntp.unanswered from timed", workers, r.Findings)
		}
		if len(r.Devices) != 1 || strings.Join(r.Devices[0].Processes, ",") != "timed" {
			t.Errorf("workers=%d: devices %+v", workers, r.Devices)
		}
	}
}
