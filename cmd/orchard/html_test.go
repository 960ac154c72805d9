package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestFormatHTML: --format html -o writes the page for the same findings
// --format json reports, and keeps the exit status of --fail-on.
func TestFormatHTML(t *testing.T) {
	js, _, code := runCLI(t, nil, "--format", "json", demoPcap)
	if code != exitOK {
		t.Fatalf("json: exit %d", code)
	}
	out := filepath.Join(t.TempDir(), "report.html")
	stdout, stderr, code := runCLI(t, nil, "--format", "html", "-o", out, "--fail-on", "error", demoPcap)
	if code != exitFindings || stdout != "" {
		t.Fatalf("html: exit %d, stdout %q, stderr %s", code, stdout, stderr)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	page := string(b)
	if !strings.HasPrefix(page, "<!DOCTYPE html>") || !strings.HasSuffix(strings.TrimSpace(page), "</html>") {
		t.Fatalf("not a whole HTML page: %.80q … %.80q", page, page[max(0, len(page)-80):])
	}
	for _, f := range findingNames(t, js) {
		name, host, _ := strings.Cut(f, " ")
		if !strings.Contains(page, name) || !strings.Contains(page, host) {
			t.Errorf("page lacks finding %s", f)
		}
	}
	if _, stderr, code := runCLI(t, nil, "--format", "htm", demoPcap); code != exitUsage || !strings.Contains(stderr, "html") {
		t.Errorf("--format htm: exit %d, %s", code, stderr)
	}
}
