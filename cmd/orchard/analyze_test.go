package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"orchard/capture"
)

const demoPcap = "../../testdata/demo-ipad.pcap"

// runCLI runs orchard with args and returns stdout, stderr and the exit status.
func runCLI(t *testing.T, stdin io.Reader, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	if stdin == nil {
		stdin = strings.NewReader("")
	}
	code := run(context.Background(), args, stdin, &out, &errb)
	return out.String(), errb.String(), code
}

func demoBytes(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile(demoPcap)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func findingNames(t *testing.T, js string) []string {
	t.Helper()
	var r struct {
		Findings []struct {
			Finding, Host string
		}
	}
	if err := json.Unmarshal([]byte(js), &r); err != nil {
		t.Fatalf("report is not JSON: %v\n%s", err, js)
	}
	var out []string
	for _, f := range r.Findings {
		out = append(out, f.Finding+" "+f.Host)
	}
	return out
}

func TestExitStatus(t *testing.T) {
	clean := filepath.Join(t.TempDir(), "clean.pcap")
	writeCleanCapture(t, clean)
	cases := []struct {
		name string
		args []string
		want int
	}{
		{"demo", []string{demoPcap}, exitOK},
		{"fail-on error", []string{"--fail-on", "error", demoPcap}, exitFindings},
		{"fail-on warn", []string{"--fail-on=warn", "-r", demoPcap}, exitFindings},
		{"fail-on clean capture", []string{"--fail-on", "warn", clean}, exitOK},
		{"fail-on info is a usage error", []string{"--fail-on", "info", demoPcap}, exitUsage},
		{"bad format", []string{"--format", "xml", demoPcap}, exitUsage},
		{"bad flag", []string{"--no-such-flag", demoPcap}, exitUsage},
		{"no input", nil, exitUsage},
		{"missing file", []string{"/nonexistent/x.pcap"}, exitInput},
		{"help", []string{"-h"}, exitOK},
		{"version", []string{"version"}, exitOK},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, stderr, code := runCLI(t, nil, c.args...)
			if code != c.want {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, c.want, stderr)
			}
		})
	}
}

func TestHelpHasExamples(t *testing.T) {
	stderr, _, _ := runCLI(t, nil, "-h")
	for _, want := range []string{"Examples:", "orchard ipad.pcap", "--fail-on", "--write-evidence", "-i IFACE", "Exit status"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("help lacks %q", want)
		}
	}
}

func TestTableReport(t *testing.T) {
	out, _, code := runCLI(t, nil, "--no-color", demoPcap)
	if code != exitOK {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{"Findings (17) for device 10.20.30.41", "tls.intercepted", "mdmenrollment.apple.com [sni]", "Zscaler", "Apple services", "INTERCEPTED", "BLOCKED"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "\x1b[") {
		t.Error("colour codes with --no-color")
	}
	out, _, _ = runCLI(t, nil, "--by", "device", demoPcap)
	if !strings.Contains(out, "Devices") || !strings.Contains(out, "3c:22:fb:12:34:56") {
		t.Errorf("--by device:\n%s", out)
	}
}

// TestInputsAgree reads the demo from a file, stdin and gzip: one answer.
func TestInputsAgree(t *testing.T) {
	want, _, _ := runCLI(t, nil, "--format", "json", demoPcap)
	wantF := findingNames(t, want)
	gz := filepath.Join(t.TempDir(), "demo.pcap.gz")
	var zb bytes.Buffer
	zw := gzip.NewWriter(&zb)
	zw.Write(demoBytes(t))
	zw.Close()
	if err := os.WriteFile(gz, zb.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, args := range map[string][]string{"stdin": {"--format", "json", "-"}, "gzip": {"--format", "json", gz}} {
		out, stderr, code := runCLI(t, bytes.NewReader(demoBytes(t)), args...)
		if code != exitOK {
			t.Fatalf("%s: exit %d: %s", name, code, stderr)
		}
		if got := findingNames(t, out); strings.Join(got, ",") != strings.Join(wantF, ",") {
			t.Errorf("%s: findings %v, want %v", name, got, wantF)
		}
	}
}

func TestBadAndTruncatedFiles(t *testing.T) {
	dir := t.TempDir()
	notCap := filepath.Join(dir, "notes.txt")
	os.WriteFile(notCap, []byte("<html>not a capture</html>"), 0o644)
	b := demoBytes(t)
	cut := filepath.Join(dir, "cut.pcap")
	os.WriteFile(cut, b[:len(b)-30], 0o644)

	// A file that is not a capture: one clear error naming it, exit 1, the
	// other file still analysed.
	out, stderr, code := runCLI(t, nil, "--format", "json", notCap, demoPcap)
	if code != exitInput {
		t.Errorf("exit %d, want 1", code)
	}
	if !strings.Contains(stderr, "notes.txt") || !strings.Contains(stderr, "not a pcap or pcapng file") {
		t.Errorf("stderr: %s", stderr)
	}
	if n := len(findingNames(t, out)); n != 17 {
		t.Errorf("the good file gave %d findings, want 17", n)
	}

	// A truncated file: analysed up to the last whole packet, one warning
	// with the file and offset, exit 0.
	out, stderr, code = runCLI(t, nil, "--format", "json", cut)
	if code != exitOK {
		t.Errorf("truncated: exit %d: %s", code, stderr)
	}
	if !strings.Contains(stderr, "cut.pcap") || !strings.Contains(stderr, "offset") {
		t.Errorf("truncated: warning %q should name the file and offset", stderr)
	}
	var r struct {
		Capture struct {
			Warnings []string
			Packets  int
		}
	}
	json.Unmarshal([]byte(out), &r)
	if len(r.Capture.Warnings) == 0 || r.Capture.Packets != 158 {
		t.Errorf("truncated: capture %+v, want a warning and 158 packets", r.Capture)
	}
}

func TestNDJSONEvents(t *testing.T) {
	out, _, code := runCLI(t, nil, "--format", "ndjson", demoPcap)
	if code != exitOK {
		t.Fatalf("exit %d", code)
	}
	types := map[string]int{}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var ev map[string]any
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("line is not JSON: %v: %s", err, sc.Text())
		}
		typ, _ := ev["type"].(string)
		types[typ]++
		switch typ {
		case "flow":
			for _, k := range []string{"proto", "client", "client_port", "server", "port", "first", "last", "packets_client", "packets_server", "bytes_client", "bytes_server", "syn_retries"} {
				if _, ok := ev[k]; !ok {
					t.Errorf("flow event lacks %q: %s", k, sc.Text())
				}
			}
		case "dns":
			for _, k := range []string{"ts", "client", "server", "query", "qtype", "rcode", "answers"} {
				if _, ok := ev[k]; !ok {
					t.Errorf("dns event lacks %q: %s", k, sc.Text())
				}
			}
		case "finding":
			for _, k := range []string{"finding", "severity", "host", "name_source", "client", "server", "port", "proto", "count", "first", "last", "evidence"} {
				if _, ok := ev[k]; !ok {
					t.Errorf("finding event lacks %q: %s", k, sc.Text())
				}
			}
		}
	}
	if !strings.Contains(lines(out)[len(lines(out))-1], `"type":"capture"`) {
		t.Error("the stream does not end with the capture summary")
	}
	if types["flow"] != 31 || types["dns"] != 14 || types["finding"] != 17 || types["capture"] != 1 {
		t.Errorf("event counts %v, want 31 flows, 14 dns, 17 findings, 1 capture", types)
	}
}

func lines(s string) []string { return strings.Split(strings.TrimSpace(s), "\n") }

func TestCSV(t *testing.T) {
	out, _, _ := runCLI(t, nil, "--format", "csv", demoPcap)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if lines[0] != strings.Join(csvHeader, ",") || len(lines) != 18 {
		t.Errorf("csv: %d lines, header %q", len(lines), lines[0])
	}
}

// TestWriteEvidence checks that the evidence file holds the flagged flows'
// packets and their DNS answers, and nothing of the healthy flows.
func TestWriteEvidence(t *testing.T) {
	ev := filepath.Join(t.TempDir(), "evidence.pcapng")
	_, stderr, code := runCLI(t, nil, "--write-evidence", ev, demoPcap)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	n := 0
	eachPacket(t, ev, func(p *capture.Packet) {
		n++
		if bytes.Contains(p.Data, []byte("hotspot-detect")) || bytes.Contains(p.Data, []byte("gateway.icloud.com")) {
			t.Errorf("evidence holds a healthy flow's packet")
		}
	})
	if n < 30 {
		t.Errorf("evidence has %d packets, want the flagged flows' (≥ 30)", n)
	}
	if _, err := exec.LookPath("tshark"); err == nil {
		out, err := exec.Command("tshark", "-r", ev, "-Y", "dns.qry.name == \"mdmenrollment.apple.com\" || tls.handshake.extensions_server_name == \"mdmenrollment.apple.com\"").Output()
		if err != nil || len(bytes.TrimSpace(out)) == 0 {
			t.Errorf("tshark finds no mdmenrollment packets in the evidence: %v", err)
		}
	}
}
