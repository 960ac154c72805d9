package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// capturePackets is the report's packet count and its finding names.
func capturePackets(t *testing.T, js string) (uint64, []string) {
	t.Helper()
	var r struct {
		Capture struct{ Packets uint64 }
	}
	if err := json.Unmarshal([]byte(js), &r); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, js)
	}
	return r.Capture.Packets, findingNames(t, js)
}

// TestNarrowing checks BPF filters (trailing and -f), --device, the time
// window and --count on the demo, against counts tshark gives for the same
// filters (udp.port == 53: 30 packets; tcp.port == 5223: 4).
func TestNarrowing(t *testing.T) {
	if !liveCapture {
		t.Skip("BPF on files needs a cgo build")
	}
	cases := []struct {
		name     string
		args     []string
		packets  uint64
		findings []string // each must be in the findings; with only, nothing else
		only     bool
	}{
		{"trailing BPF", []string{demoPcap, "udp", "port", "53"}, 30, []string{"dns.failure mesu.apple.com", "dns.sinkhole updates.cdn-apple.com", "dns.unanswered appldnld.apple.com"}, false},
		{"-r then BPF", []string{"-r", demoPcap, "port", "5223"}, 4, []string{"tcp.syn_unanswered 17.57.144.84"}, true},
		{"-f", []string{"-f", "tcp port 5223", demoPcap}, 4, nil, false},
		{"--device by IP", []string{"--device", "10.20.30.41", demoPcap}, 159, nil, false},
		{"--device by another IP", []string{"--device", "10.9.9.9", demoPcap}, 0, nil, true},
		{"--device by MAC", []string{"--device", "3C:22:FB:12:34:56", demoPcap}, 159, nil, false},
		{"--device by process", []string{"--device", "apsd", demoPcap}, 0, nil, false},
		{"--count", []string{"--count", "10", demoPcap}, 10, nil, false},
		{"--since/--until relative", []string{"--since", "20s", "--until", "30s", demoPcap}, 0, nil, false},
		{"--until absolute", []string{"--until", "2026-11-02T08:15:00.5Z", demoPcap}, 0, nil, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, stderr, code := runCLI(t, nil, append([]string{"--format", "json"}, c.args...)...)
			if code != exitOK {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			n, fs := capturePackets(t, out)
			if c.packets != 0 && n != c.packets || c.packets == 0 && c.only && n != 0 {
				t.Errorf("%d packets, want %d", n, c.packets)
			}
			for _, w := range c.findings {
				if !strings.Contains(strings.Join(fs, "\n"), w) {
					t.Errorf("findings %v lack %q", fs, w)
				}
			}
			if c.only && len(fs) != len(c.findings) {
				t.Errorf("findings %v, want only %v", fs, c.findings)
			}
		})
	}
	// Process: the PKTAP frames name apsd for the push connection only.
	out, _, _ := runCLI(t, nil, "--format", "json", "--device", "apsd", demoPcap)
	n, fs := capturePackets(t, out)
	if n == 0 || n > 40 || !strings.Contains(strings.Join(fs, ","), "tcp.syn_unanswered") {
		t.Errorf("--device apsd: %d packets, findings %v", n, fs)
	}
	// A time window: the packets in it only, fewer than the whole.
	out, _, _ = runCLI(t, nil, "--format", "json", "--since", "20s", "--until", "30s", demoPcap)
	if n, _ := capturePackets(t, out); n == 0 || n >= 159 {
		t.Errorf("--since 20s --until 30s: %d packets", n)
	}
	out, _, _ = runCLI(t, nil, "--format", "json", "--since", "2026-11-02T08:15:30Z", demoPcap)
	m, _ := capturePackets(t, out)
	out, _, _ = runCLI(t, nil, "--format", "json", "--since", "30s", demoPcap)
	if k, _ := capturePackets(t, out); m == 0 || k != m {
		t.Errorf("--since absolute %d packets, relative %d: want the same, not 0", m, k)
	}
	// Nothing left: said so, no verdict.
	out, _, _ = runCLI(t, nil, "--device", "10.9.9.9", demoPcap)
	if !strings.Contains(out, "No packet matched") || strings.Contains(out, "Apple services") {
		t.Errorf("no packet left:\n%s", out)
	}
	// A bad filter is a usage error, named.
	_, stderr, code := runCLI(t, nil, demoPcap, "port", "notanumber")
	if code != exitUsage || !strings.Contains(stderr, `filter "port notanumber"`) {
		t.Errorf("bad filter: exit %d, stderr %q", code, stderr)
	}
}
