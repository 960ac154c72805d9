package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// --events-max-size rotates the event stream between lines: the files
// together hold the stream of one unrotated run, every line whole.
func TestEventsRotate(t *testing.T) {
	demo := filepath.Join("..", "..", "testdata", "demo-ipad.pcap")
	dir := t.TempDir()
	one := filepath.Join(dir, "one.ndjson")
	if _, errs, code := runCLI(t, nil, "--format", "json", "--events", one, demo); code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	rot := filepath.Join(dir, "rot.ndjson")
	if _, errs, code := runCLI(t, nil, "--format", "json", "--events", rot, "--events-max-size", "4000", "--events-keep", "100", demo); code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	want, err := os.ReadFile(one)
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(rot + "*")
	if len(files) < 3 {
		t.Fatalf("%d files for %d bytes at 4000 a file", len(files), len(want))
	}
	// Oldest first: rot.ndjson.N … rot.ndjson.1, rot.ndjson.
	var all strings.Builder
	for i := len(files) - 1; i >= 1; i-- {
		name := rot + "." + strconv.Itoa(i)
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) > 4000 && strings.Count(string(b), "\n") > 1 {
			t.Errorf("%s: %d bytes", name, len(b))
		}
		all.Write(b)
	}
	b, err := os.ReadFile(rot)
	if err != nil {
		t.Fatal(err)
	}
	all.Write(b)
	if all.String() != string(want) {
		t.Fatalf("rotated files differ from the unrotated stream (%d bytes against %d)", all.Len(), len(want))
	}
	for _, l := range strings.Split(strings.TrimSpace(all.String()), "\n") {
		if !json.Valid([]byte(l)) {
			t.Fatalf("line cut: %q", l)
		}
	}
}
