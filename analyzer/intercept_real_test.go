package analyzer_test

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"orchard/analyzer"
	"orchard/internal/sharedtest"
	"orchard/shapes"
)

var updateShapes = flag.Bool("update-shapes", false, "rewrite servershapes.tsv from the shared captures")

// isSignalFinding reports a finding of the interception signals (timing,
// shape, downgrade) as opposed to a certificate's verdict.
func isSignalFinding(f *analyzer.Finding) bool {
	switch f.Finding {
	case analyzer.FindMiddlebox, analyzer.FindDowngraded:
		return true
	case analyzer.FindIntercepted:
		return strings.Contains(f.Evidence, "; confidence ")
	}
	return false
}

// TestServerShapesRealCaptures runs every shared capture, real traffic to
// real servers: none may show a middlebox, a downgrade or interception by
// the signals that need no certificate. With -update-shapes it rewrites
// the embedded baseline from what the captures' Apple servers answered.
func TestServerShapesRealCaptures(t *testing.T) {
	learn := shapes.New()
	for _, file := range sharedtest.Pcaps(t) {
		base := filepath.Base(file)
		t.Run(base, func(t *testing.T) {
			learn.Source = base
			sink := &eventSink{}
			analyse(t, analyzer.Config{Sink: sink, LearnShapes: learn}, file)
			for i := range sink.findings {
				if f := &sink.findings[i]; isSignalFinding(f) {
					t.Errorf("%s %s:%d (%s): %s", f.Finding, f.Host, f.Port, f.Server, f.Evidence)
				}
			}
		})
	}
	if learn.Hosts() == 0 {
		t.Fatal("no Apple server shape learned from the shared captures")
	}
	var buf bytes.Buffer
	if err := learn.WriteTSV(&buf); err != nil {
		t.Fatal(err)
	}
	if *updateShapes {
		if err := os.WriteFile(filepath.Join("..", "shapes", "servershapes.tsv"), buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	// Every shape learned is in the embedded baseline: it was refreshed
	// from these captures.
	embedded := shapes.Default()
	if embedded.Hosts() < learn.Hosts() {
		t.Errorf("the embedded baseline has %d hosts, the shared captures show %d: go test ./analyzer -run ServerShapesRealCaptures -update-shapes", embedded.Hosts(), learn.Hosts())
	}
}

var shapesFrom = flag.String("shapes-from", "", "comma-separated captures an admin trusts: add their Apple server shapes to servershapes.tsv")

// TestLearnServerShapes adds the server shapes of trusted captures to the
// embedded baseline and rewrites servershapes.tsv; it runs only when given
// captures: go test ./analyzer -run LearnServerShapes -shapes-from a.pcap,b.pcapng
func TestLearnServerShapes(t *testing.T) {
	if *shapesFrom == "" {
		t.Skip("no -shapes-from captures")
	}
	learn := shapes.Default()
	before := learn.Hosts()
	for _, file := range strings.Split(*shapesFrom, ",") {
		learn.Source = filepath.Base(file)
		analyse(t, analyzer.Config{LearnShapes: learn}, file)
	}
	var buf bytes.Buffer
	if err := learn.WriteTSV(&buf); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join("..", "shapes", "servershapes.tsv"), buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("servershapes.tsv: %d hosts (%d before)", learn.Hosts(), before)
}
