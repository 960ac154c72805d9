package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"orchard/analyzer"
)

func TestDropWarning(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   *analyzer.LiveStats
		want []string // substrings; nil means no warning
	}{
		{"nil", nil, nil},
		{"none", &analyzer.LiveStats{Interface: "eth1", Received: 1000}, nil},
		{"kernel", &analyzer.LiveStats{Received: 1000, DroppedKernel: 25}, []string{"the kernel dropped 25 of 1000 packets (2.50%)", "findings may be incomplete", "port 5223"}},
		{"few", &analyzer.LiveStats{Received: 636220, DroppedKernel: 17}, nil},
		{"at the limit", &analyzer.LiveStats{Received: 100000, DroppedKernel: 100}, nil},
		{"above", &analyzer.LiveStats{Received: 100000, DroppedKernel: 101}, []string{"the kernel dropped 101 of 100000 packets (0.10%)"}},
		{"interface", &analyzer.LiveStats{Received: 10, DroppedIface: 3}, []string{"the interface dropped 3:"}},
		{"both", &analyzer.LiveStats{Received: 0, DroppedKernel: 1, DroppedIface: 2}, []string{"the kernel dropped 1 of 0 packets and the interface dropped 2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := dropWarning(tc.in)
			checkWarning(t, got, tc.want)
		})
	}
}

func testFinding() *analyzer.Finding {
	return &analyzer.Finding{Type: "finding", Finding: "tcp.syn_rejected", Severity: "error", Host: "gs.apple.com",
		Client: "10.0.0.2", Server: "17.253.1.1", Port: 443, Proto: "tcp", Count: 1,
		First: "2026-01-01T00:00:00Z", Last: "2026-01-01T00:00:00Z", Evidence: "SYN answered by RST after 0ms (TTL 64)"}
}

// A reader at the other end of a pipe sees each streamed line at once,
// though the sink writes through a 64 KiB buffer.
func TestNDJSONStreamsEachLine(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	s := newNDJSONSink(bufio.NewWriterSize(w, 64<<10), true)
	br := bufio.NewReader(r)
	for i := 0; i < 3; i++ {
		s.Finding(testFinding())
		if err := r.SetReadDeadline(time.Now().Add(2 * time.Second)); err != nil {
			t.Skipf("pipe deadlines unsupported: %v", err)
		}
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("line %d not flushed: %v", i, err)
		}
		var f analyzer.Finding
		if err := json.Unmarshal([]byte(line), &f); err != nil || f.Finding != "tcp.syn_rejected" || f.Host != "gs.apple.com" {
			t.Fatalf("line %d: %q (%v)", i, line, err)
		}
	}
}

// Without streaming (a file), findings wait for the final counts.
func TestNDJSONFileWaitsForFinalCounts(t *testing.T) {
	var b bytes.Buffer
	bw := bufio.NewWriter(&b)
	s := newNDJSONSink(bw, false)
	s.Finding(testFinding())
	_ = bw.Flush()
	if b.Len() != 0 {
		t.Fatalf("finding written before the end: %q", b.String())
	}
}

func TestLineSinkOneLinePerFinding(t *testing.T) {
	var b bytes.Buffer
	s := newLineSink(&b, false)
	s.Flow(&analyzer.FlowEvent{})
	s.DNS(&analyzer.DNSEvent{})
	s.Finding(testFinding())
	want := "2026-01-01T00:00:00Z ERROR tcp.syn_rejected gs.apple.com 17.253.1.1:443 10.0.0.2: SYN answered by RST after 0ms (TTL 64)\n"
	if b.String() != want {
		t.Fatalf("got  %q\nwant %q", b.String(), want)
	}
}

func TestLiveUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-i", "lo", "-f", "port 53", "port", "80"}, "either with -f or as trailing arguments"},
		{[]string{"-i", "lo", "-r", "x.pcap"}, "either -i or capture files"},
		{[]string{"-i", "lo", "--format", "xml"}, "--format"},
		{[]string{"-i", "lo", "-B", "0"}, "--buffer-size"},
		{[]string{"-i", "lo", "--snaplen", "-1"}, "--snaplen"},
		{[]string{"-i", "lo", "--capture", "dpdk"}, `--capture "dpdk": want afpacket or pcap`},
		{[]string{"-i", "lo", "--block-size", "1"}, "--block-size 1"},
		{[]string{"-i", "lo", "--health-stale", "0s"}, "--health-stale must be positive"},
		{[]string{"--metrics", ":9163", "x.pcap"}, "--metrics needs live capture (-i)"},
	} {
		var out, errb bytes.Buffer
		code := run(context.Background(), tc.args, nil, &out, &errb)
		if code != exitUsage || !strings.Contains(errb.String(), tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", tc.args, code, errb.String(), exitUsage, tc.want)
		}
	}
}

// A capture that cannot start says why in one line and exits 1: as root
// the interface does not exist, otherwise there is no permission.
func TestLiveStartErrorIsOneLine(t *testing.T) {
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"-i", "orchard-none0"}, nil, &out, &errb)
	if code != exitInput {
		t.Fatalf("exit %d, want %d; stderr %q", code, exitInput, errb.String())
	}
	msg := errb.String()
	if strings.Count(msg, "\n") != 1 || !strings.HasPrefix(msg, "orchard: ") {
		t.Fatalf("want one line, got %q", msg)
	}
	var want string
	switch {
	case !liveCapture:
		want = "built without cgo"
	case os.Geteuid() == 0 || defaultCapture == "afpacket":
		// AF_PACKET looks the interface up before opening a socket.
		want = "no such interface (orchard -D lists them)"
	default:
		want = "no permission to capture on orchard-none0"
	}
	if !strings.Contains(msg, want) {
		t.Fatalf("%q lacks %q", msg, want)
	}
	if out.Len() != 0 {
		t.Fatalf("report printed for a capture that never started: %q", out.String())
	}
}
