package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"orchard/shapes"
)

// TestLearnShapes learns the demo's server shapes into a file, reads it
// back with --shapes, and checks the flags' failures.
func TestLearnShapes(t *testing.T) {
	dir := t.TempDir()
	learned := filepath.Join(dir, "site.tsv")
	want, _, code := runCLI(t, nil, "--format", "json", demoPcap)
	if code != exitOK {
		t.Fatalf("plain run: exit %d", code)
	}
	out, stderr, code := runCLI(t, nil, "--format", "json", "--learn-shapes", learned, demoPcap)
	if code != exitOK || out != want {
		t.Fatalf("learning run: exit %d, report changed: %v; stderr %q", code, out != want, stderr)
	}
	if !strings.Contains(stderr, "the server shapes of 2 Apple hosts learned into "+learned) {
		t.Errorf("stderr %q", stderr)
	}
	b, err := os.ReadFile(learned)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"courier.push.apple.com\t13:1301:11ec:002b-0033:-\t50,358,96,53\t1\tdemo-ipad.pcap\n", "gateway.icloud.com\t13:1301:11ec:"} {
		if !strings.Contains(string(b), w) {
			t.Errorf("learned file lacks %q:\n%s", w, b)
		}
	}
	if _, err := shapes.Parse(strings.NewReader(string(b)), learned); err != nil {
		t.Errorf("learned file does not read back: %v", err)
	}
	// The learned shapes beside the embedded ones: the demo's answers are
	// its own, so nothing changes.
	out, stderr, code = runCLI(t, nil, "--format", "json", "--shapes", learned, "--shapes", learned, demoPcap)
	if code != exitOK || out != want {
		t.Errorf("--shapes run: exit %d, report changed: %v; stderr %q", code, out != want, stderr)
	}

	bad := filepath.Join(dir, "bad.tsv")
	if err := os.WriteFile(bad, []byte("# ok\ngdmf.apple.com\tnot-a-shape\t-\t1\tx\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"bad baseline line", []string{"--shapes", bad, demoPcap}, exitInput, bad + ":2: bad host or shape"},
		{"missing baseline", []string{"--shapes", filepath.Join(dir, "none.tsv"), demoPcap}, exitInput, "--shapes: open "},
		{"learning to stdout", []string{"--learn-shapes", "-", demoPcap}, exitInput, "--learn-shapes needs a file"},
		{"learning over the capture", []string{"--learn-shapes", demoPcap, demoPcap}, exitUsage, "refusing to overwrite a capture"},
		{"learning over the baseline read", []string{"--shapes", learned, "--learn-shapes", learned, demoPcap}, exitUsage, "refusing to overwrite"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, stderr, code := runCLI(t, nil, c.args...)
			if code != c.code || !strings.Contains(stderr, c.stderr) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", code, stderr, c.code, c.stderr)
			}
		})
	}
	if st, err := os.Stat(demoPcap); err != nil || st.Size() == 0 {
		t.Fatalf("the capture was harmed: %v", err)
	}
}
