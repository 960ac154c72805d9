package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestOutputsNeverDestroyInputs gives outputs that are the inputs (directly,
// through a symlink, a hard link) or each other, and checks each run is
// refused with exit 2 before anything is written, the capture intact.
func TestOutputsNeverDestroyInputs(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "ipad.pcap")
	demo := demoBytes(t)
	if err := os.WriteFile(in, demo, 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link.pcap")
	if err := os.Symlink(in, link); err != nil {
		t.Fatal(err)
	}
	hard := filepath.Join(dir, "hard.pcap")
	if err := os.Link(in, hard); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out.txt")
	cases := []struct {
		name string
		args []string
		msg  string
	}{
		{"-o is the capture", []string{"-o", in, in}, "-o " + in + " is the input"},
		{"--events is the capture", []string{"--events", in, in}, "--events"},
		{"-o through a symlink", []string{"-o", link, in}, "is the input"},
		{"-o through a hard link", []string{"-o", hard, in}, "is the input"},
		{"-o is a --catalog file", []string{"-o", in, "--catalog", in, demoPcap}, "is the input"},
		{"-o and --events alike", []string{"-o", out, "--events", out, in}, "are the same file"},
		{"-o and --events alike, through ./", []string{"-o", out, "--events", filepath.Join(dir, ".", "out.txt"), in}, "are the same file"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, stderr, code := runCLI(t, nil, c.args...)
			if code != exitUsage {
				t.Errorf("exit %d, want %d; stderr: %s", code, exitUsage, stderr)
			}
			if !strings.Contains(stderr, c.msg) || strings.Count(stderr, "\n") != 1 {
				t.Errorf("stderr %q: want one line with %q", stderr, c.msg)
			}
			b, err := os.ReadFile(in)
			if err != nil || string(b) != string(demo) {
				t.Fatalf("the capture was changed (%d bytes, %v)", len(b), err)
			}
			if _, err := os.Stat(out); err == nil {
				t.Errorf("%s was written", out)
			}
		})
	}
	// Paths swapped: the capture given as the evidence file, a new name as
	// the input. Nothing could be read, so the capture is not touched.
	_, stderr, code := runCLI(t, nil, "--write-evidence", in, filepath.Join(dir, "new.pcapng"))
	if code != exitInput || !strings.Contains(stderr, "new.pcapng: no such file") || strings.Contains(stderr, "evidence") {
		t.Errorf("swapped paths: exit %d, stderr %q", code, stderr)
	}
	if b, _ := os.ReadFile(in); string(b) != string(demo) {
		t.Fatalf("swapped paths: the capture was changed (%d bytes)", len(b))
	}
	// The refused runs left no temporary files behind.
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".tmp") {
			t.Errorf("temporary file left: %s", e.Name())
		}
	}
}

// TestOutputsAtomic checks outputs appear whole under their name, keep an
// existing file's mode, replace a symlink's target rather than the link,
// and that a failed write leaves the old file as it was.
func TestOutputsAtomic(t *testing.T) {
	dir := t.TempDir()
	rep := filepath.Join(dir, "report.json")
	if err := os.WriteFile(rep, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, stderr, code := runCLI(t, nil, "--format", "json", "-o", rep, demoPcap)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	b, _ := os.ReadFile(rep)
	if len(findingNames(t, string(b))) != 17 {
		t.Errorf("report file: %.200s", b)
	}
	if st, _ := os.Stat(rep); st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want the old file's 0600", st.Mode().Perm())
	}
	target := filepath.Join(dir, "target.ndjson")
	os.WriteFile(target, nil, 0o644)
	link := filepath.Join(dir, "events.ndjson")
	os.Symlink(target, link)
	if _, stderr, code := runCLI(t, nil, "--events", link, demoPcap); code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the symlink was replaced")
	}
	if b, _ := os.ReadFile(target); !strings.Contains(string(b), `"type":"capture"`) {
		t.Errorf("the symlink's target was not written: %.100s", b)
	}
	// A directory as the report's target: an error, the old file untouched.
	os.WriteFile(rep, []byte("old"), 0o644)
	_, stderr, code = runCLI(t, nil, "-o", rep, "--write-evidence", dir, demoPcap)
	if code != exitInput || !strings.Contains(stderr, "is a directory") {
		t.Errorf("evidence into a directory: exit %d, stderr %q", code, stderr)
	}
	if b, _ := os.ReadFile(rep); string(b) != "old" {
		t.Errorf("the report was replaced although the run failed: %.100s", b)
	}
}

// TestWriteErrorsFail checks that every output's write error is reported
// and makes the exit status 1 (/dev/full fails every write).
func TestWriteErrorsFail(t *testing.T) {
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Skip("no /dev/full")
	}
	for _, args := range [][]string{
		{"--events", "/dev/full", demoPcap},
		{"--write-evidence", "/dev/full", demoPcap},
		{"-o", "/dev/full", demoPcap},
		{"--format", "json", "-o", "/dev/full", demoPcap},
	} {
		_, stderr, code := runCLI(t, nil, args...)
		if code != exitInput || !strings.Contains(stderr, "/dev/full") || !strings.Contains(stderr, "no space left on device") {
			t.Errorf("%v: exit %d, stderr %q; want 1 and the error", args, code, stderr)
		}
	}
	// Standard output full: the report's error names it.
	f, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Skip(err)
	}
	defer f.Close()
	var errb strings.Builder
	code := run(t.Context(), []string{demoPcap}, strings.NewReader(""), f, &errb)
	if code != exitInput || !strings.Contains(errb.String(), "standard output") {
		t.Errorf("stdout on /dev/full: exit %d, stderr %q", code, errb.String())
	}
}

// TestNoEvidenceWhenNothingFlagged checks no evidence file is made, and a
// note says why, for a capture with nothing flagged.
func TestNoEvidenceWhenNothingFlagged(t *testing.T) {
	dir := t.TempDir()
	clean := filepath.Join(dir, "clean.pcap")
	writeCleanCapture(t, clean)
	ev := filepath.Join(dir, "ev.pcapng")
	_, stderr, code := runCLI(t, nil, "--write-evidence", ev, clean)
	if code != exitOK || !strings.Contains(stderr, "nothing was flagged") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
	if _, err := os.Stat(ev); err == nil {
		t.Error("an evidence file was written for a clean capture")
	}
}
