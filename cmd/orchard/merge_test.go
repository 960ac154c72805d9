package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"orchard/capture"
	"orchard/internal/capgen"
)

// splitDemo writes the demo's packets into parts files, packet i going to
// part pick(i), and returns their names.
func splitDemo(t *testing.T, dir string, parts int, pick func(i int) int) []string {
	t.Helper()
	f, err := capture.Open(demoPcap)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	bufs := make([]bytes.Buffer, parts)
	ws := make([]*capgen.Writer, parts)
	var p capture.Packet
	for i := 0; ; i++ {
		if err := f.Next(&p); err != nil {
			if !errors.Is(err, io.EOF) {
				t.Fatal(err)
			}
			break
		}
		k := pick(i)
		if ws[k] == nil {
			ws[k] = capgen.NewPcap(&bufs[k], p.LinkType)
		}
		if err := ws[k].WriteLen(p.Timestamp, p.Data, p.WireLen, 0); err != nil {
			t.Fatal(err)
		}
	}
	names := make([]string, parts)
	for k := range bufs {
		names[k] = filepath.Join(dir, "part"+string(rune('a'+k))+".pcap")
		if err := os.WriteFile(names[k], bufs[k].Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return names
}

// reportWithoutFiles is the JSON report with the file names blanked.
func reportWithoutFiles(t *testing.T, js string) string {
	t.Helper()
	var r map[string]any
	if err := json.Unmarshal([]byte(js), &r); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, js)
	}
	c := r["capture"].(map[string]any)
	delete(c, "files")
	delete(c, "warnings")
	b, _ := json.Marshal(r)
	return string(b)
}

// TestMergeByTime splits the demo in two (a first and a second half, then
// every other packet) and checks that every order of the files gives the
// demo's own report, and that overlapping files are noted.
func TestMergeByTime(t *testing.T) {
	wantR := map[string]string{}
	for _, w := range []string{"1", "2"} {
		want, _, _ := runCLI(t, nil, "--format", "json", "--workers", w, demoPcap)
		wantR[w] = reportWithoutFiles(t, want)
	}
	dir := t.TempDir()
	halves := splitDemo(t, filepath.Join(dir), 2, func(i int) int {
		if i < 80 {
			return 0
		}
		return 1
	})
	sub := filepath.Join(dir, "odd")
	os.Mkdir(sub, 0o755)
	alternate := splitDemo(t, sub, 3, func(i int) int { return i % 3 })
	cases := []struct {
		name    string
		files   []string
		overlap bool
	}{
		{"halves in order", halves, false},
		{"halves reversed", []string{halves[1], halves[0]}, false},
		{"interleaved thirds shuffled", []string{alternate[2], alternate[0], alternate[1]}, true},
	}
	for _, c := range cases {
		for _, workers := range []string{"1", "2"} {
			args := append([]string{"--format", "json", "--workers", workers}, c.files...)
			out, stderr, code := runCLI(t, nil, args...)
			if code != exitOK {
				t.Fatalf("%s: exit %d: %s", c.name, code, stderr)
			}
			if got := reportWithoutFiles(t, out); got != wantR[workers] {
				t.Errorf("%s, %s workers: report differs from the demo's:\n%s", c.name, workers, firstDiffLine(got, wantR[workers]))
			}
			if got := strings.Contains(stderr, "overlap in time"); got != c.overlap {
				t.Errorf("%s: overlap noted %v, want %v; stderr %q", c.name, got, c.overlap, stderr)
			}
		}
	}
	// A file that cannot be read does not stop the merge of the others.
	out, stderr, code := runCLI(t, nil, "--format", "json", halves[1], "/nonexistent/x.pcap", halves[0])
	if code != exitInput || !strings.Contains(stderr, "/nonexistent/x.pcap") {
		t.Errorf("with a missing file: exit %d, stderr %q", code, stderr)
	}
	if n := len(findingNames(t, out)); n != 17 {
		t.Errorf("with a missing file: %d findings, want 17", n)
	}
}

func firstDiffLine(a, b string) string {
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] != b[i] {
			lo := max(0, i-120)
			return "got:  …" + a[lo:min(len(a), i+120)] + "\nwant: …" + b[lo:min(len(b), i+120)]
		}
	}
	return "lengths differ"
}
