package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestHonestSummary checks that unreadable inputs get no verdict and a
// capture without Apple traffic says so, instead of a clean bill.
func TestHonestSummary(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.pcap")
	os.WriteFile(empty, nil, 0o644)
	text := filepath.Join(dir, "notes.txt")
	os.WriteFile(text, []byte("hello, this is not a capture\n"), 0o644)
	clean := filepath.Join(dir, "clean.pcap")
	writeCleanCapture(t, clean)
	other := filepath.Join(dir, "other.pcap")
	writeHTTPCapture(t, other, "93.184.216.34", "example.com")
	cases := []struct {
		name    string
		args    []string
		code    int
		want    []string
		notWant []string
	}{
		{"missing file", []string{"/nonexistent/x.pcap"}, exitInput, []string{"error: /nonexistent/x.pcap: no such file", "Nothing could be read"}, nil},
		{"directory", []string{dir}, exitInput, []string{"is a directory", "Nothing could be read"}, nil},
		{"empty file", []string{empty}, exitInput, []string{"empty.pcap", "Nothing could be read"}, nil},
		{"text file", []string{text}, exitInput, []string{"not a pcap or pcapng file", "Nothing could be read"}, nil},
		{"no Apple traffic", []string{other}, exitOK, []string{"No Apple traffic in this capture"}, []string{"Apple services"}},
		{"healthy Apple traffic", []string{clean}, exitOK, []string{"No findings: the 1 Apple connection seen worked.", "Apple services"}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, stderr, code := runCLI(t, nil, c.args...)
			if code != c.code {
				t.Errorf("exit %d, want %d; stderr %s", code, c.code, stderr)
			}
			for _, w := range c.want {
				if !strings.Contains(out, w) {
					t.Errorf("report lacks %q:\n%s", w, out)
				}
			}
			for _, w := range append(c.notWant, "every Apple connection seen worked") {
				if strings.Contains(out, w) {
					t.Errorf("report has %q:\n%s", w, out)
				}
			}
			if c.code != exitOK && (strings.Contains(out, "Apple services") || strings.Contains(out, "No findings")) {
				t.Errorf("a verdict for nothing read:\n%s", out)
			}
		})
	}
}

// TestFlagErrors checks every bad flag gives one line naming it with a
// hint, and exit 2.
func TestFlagErrors(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--bogus", demoPcap}, "orchard: unknown flag --bogus (see orchard -h)\n"},
		{[]string{"-x", demoPcap}, "orchard: unknown flag -x (see orchard -h)\n"},
		{[]string{"-r"}, "orchard: flag -r needs a value (see orchard -h)\n"},
		{[]string{"--format"}, "orchard: flag --format needs a value (see orchard -h)\n"},
		{[]string{"--workers", "abc", demoPcap}, "orchard: --workers: invalid value \"abc\" (see orchard -h)\n"},
		{[]string{"--format", "xml", demoPcap}, "orchard: --format \"xml\": want " + orList(enumValues["format"]) + " (see orchard -h)\n"},
		{[]string{"--fail-on", "info", demoPcap}, "orchard: --fail-on \"info\": want warn or error (see orchard -h)\n"},
		{[]string{"--since", "yesterday", demoPcap}, "orchard: --since \"yesterday\": want an RFC 3339 time"},
		{[]string{"--device", "a b", demoPcap}, "orchard: --device \"a b\": want an IP address"},
		{nil, "orchard: no capture given"},
	}
	for _, c := range cases {
		out, stderr, code := runCLI(t, nil, c.args...)
		if code != exitUsage {
			t.Errorf("%v: exit %d, want 2", c.args, code)
		}
		if !strings.HasPrefix(stderr, c.want) || strings.Count(stderr, "\n") != 1 {
			t.Errorf("%v: stderr %q, want one line starting %q", c.args, stderr, c.want)
		}
		if out != "" {
			t.Errorf("%v: stdout %q", c.args, out)
		}
	}
}

// TestEnumsCaseInsensitive checks flag words are read in any case.
func TestEnumsCaseInsensitive(t *testing.T) {
	out, stderr, code := runCLI(t, nil, "--format", "JSON", "--fail-on", "ERROR", "--by", "Device", demoPcap)
	if code != exitFindings {
		t.Errorf("exit %d, want 3: %s", code, stderr)
	}
	if len(findingNames(t, out)) != 17 {
		t.Error("--format JSON did not give the JSON report")
	}
	if _, _, code := runCLI(t, nil, "--fail-on", "Warning", demoPcap); code != exitFindings {
		t.Errorf("--fail-on Warning: exit %d", code)
	}
}

// TestHelp checks -h, --help and help go to stdout, and the topics.
func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"-h"}, {"--help"}, {"help"}, {"help", "flags"}} {
		out, stderr, code := runCLI(t, nil, args...)
		if code != exitOK || stderr != "" || !strings.Contains(out, "Usage:") || !strings.Contains(out, "--write-evidence") || !strings.Contains(out, "Exit status:") {
			t.Errorf("%v: exit %d, stderr %q, stdout %.80q", args, code, stderr, out)
		}
	}
	for _, topic := range []string{"formats", "narrowing", "evidence", "outputs", "exit-status", "EXIT", "bpf", "catalog"} {
		out, _, code := runCLI(t, nil, "help", topic)
		if code != exitOK || len(out) < 100 {
			t.Errorf("help %s: exit %d, %d bytes", topic, code, len(out))
		}
	}
	_, stderr, code := runCLI(t, nil, "help", "nosuch")
	if code != exitUsage || !strings.Contains(stderr, "no help topic \"nosuch\"") {
		t.Errorf("help nosuch: exit %d, stderr %q", code, stderr)
	}
}

// TestExitPrecedence checks the documented order: an unreadable input (1)
// wins over findings at --fail-on (3).
func TestExitPrecedence(t *testing.T) {
	if _, _, code := runCLI(t, nil, "--fail-on", "error", demoPcap, "/nonexistent/x.pcap"); code != exitInput {
		t.Errorf("--fail-on with an unreadable file: exit %d, want 1", code)
	}
	out, _, _ := runCLI(t, nil, "-h")
	if !strings.Contains(out, "first in this order wins: 2, 70, 130/143, 1, 3, 0") {
		t.Error("-h does not document the precedence")
	}
}
