package analyzer_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"

	"orchard/analyzer"
	"orchard/internal/sharedtest"
)

// evSink records the event stream as JSON lines.
type evSink struct{ buf bytes.Buffer }

func (s *evSink) line(v any) {
	b, _ := json.Marshal(v)
	s.buf.Write(b)
	s.buf.WriteByte('\n')
}
func (s *evSink) Flow(e *analyzer.FlowEvent) { s.line(e) }
func (s *evSink) DNS(e *analyzer.DNSEvent)   { s.line(e) }
func (s *evSink) Finding(f *analyzer.Finding) {
	s.line(f)
}

// reportJSON analyses files with the given number of workers and returns
// the JSON report (without peak_flows, which depends on the split) and
// the event stream.
func reportJSON(t *testing.T, workers int, files ...string) (report, events []byte) {
	t.Helper()
	sink := &evSink{}
	e, err := analyzer.New(analyzer.Config{Workers: workers, Sink: sink})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if _, err := e.ReadFile(context.Background(), f, nil); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
	}
	r := e.Finish()
	r.Capture.Stats.PeakFlows = 0
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return b, sink.buf.Bytes()
}

func sameAsSingle(t *testing.T, files ...string) {
	t.Helper()
	want, wantEv := reportJSON(t, 1, files...)
	for _, n := range []int{2, 3} {
		got, gotEv := reportJSON(t, n, files...)
		if !bytes.Equal(got, want) {
			t.Errorf("%d workers: report differs from one worker's:\n%s", n, firstDiff(string(got), string(want)))
		}
		if !bytes.Equal(gotEv, wantEv) {
			t.Errorf("%d workers: event stream differs from one worker's:\n%s", n, firstDiff(string(gotEv), string(wantEv)))
		}
	}
}

// TestParallelSameReport checks that several workers give the report and
// event stream of one, on the demo capture and on every shared capture.
func TestParallelSameReport(t *testing.T) {
	t.Run("demo", func(t *testing.T) {
		sameAsSingle(t, filepath.Join("..", "testdata", "demo-ipad.pcap"))
	})
	t.Run("shared", func(t *testing.T) {
		for _, f := range sharedtest.Pcaps(t) {
			t.Run(filepath.Base(f), func(t *testing.T) { sameAsSingle(t, f) })
		}
	})
	t.Run("shared-all-in-one", func(t *testing.T) {
		sameAsSingle(t, sharedtest.Pcaps(t)...)
	})
	t.Run("bench-mix", func(t *testing.T) {
		if testing.Short() {
			t.Skip("short")
		}
		sameAsSingle(t, sharedtest.Path(t, "bench/ndpi-mix.pcap.gz"))
	})
}

// TestParallelSnapshot checks that a snapshot mid-way sees every packet
// fed so far, and that the final report still matches.
func TestParallelSnapshot(t *testing.T) {
	in := filepath.Join("..", "testdata", "demo-ipad.pcap")
	e, err := analyzer.New(analyzer.Config{Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.ReadFile(context.Background(), in, nil); err != nil {
		t.Fatal(err)
	}
	s := e.Snapshot()
	if s.Capture.Packets == 0 || s.Capture.Stats.TCP+s.Capture.Stats.UDP == 0 {
		t.Fatalf("snapshot saw nothing: %+v", s.Capture.Stats)
	}
	r := e.Finish()
	want, _ := reportJSON(t, 1, in)
	r.Capture.Stats.PeakFlows = 0
	got, _ := json.MarshalIndent(r, "", "  ")
	if !bytes.Equal(got, want) {
		t.Errorf("report after a snapshot differs:\n%s", firstDiff(string(got), string(want)))
	}
}

// recPackets records what an engine writes as evidence.
type recPackets struct{ lines []string }

func (r *recPackets) WritePacket(link layers.LinkType, ts int64, frame []byte) error {
	r.lines = append(r.lines, fmt.Sprintf("%d %d %x", link, ts, frame))
	return nil
}

// TestParallelEvidence checks that several workers write the evidence
// packets of one, in the same order.
func TestParallelEvidence(t *testing.T) {
	in := filepath.Join("..", "testdata", "demo-ipad.pcap")
	run := func(workers int) []string {
		e, err := analyzer.New(analyzer.Config{Workers: workers})
		if err != nil {
			t.Fatal(err)
		}
		r := &recPackets{}
		e.SetRecorder(r)
		if _, err := e.ReadFile(context.Background(), in, nil); err != nil {
			t.Fatal(err)
		}
		e.Finish()
		return r.lines
	}
	want := run(1)
	if len(want) == 0 {
		t.Fatal("no evidence written for the demo capture")
	}
	got := run(2)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("2 workers wrote %d evidence packets, 1 worker %d, or in another order", len(got), len(want))
	}
}

// TestParallelIdle checks that Idle expires flows on a quiet link as a
// single engine does.
func TestParallelIdle(t *testing.T) {
	in := filepath.Join("..", "testdata", "demo-ipad.pcap")
	run := func(workers int) []byte {
		e, err := analyzer.New(analyzer.Config{Workers: workers})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.ReadFile(context.Background(), in, nil); err != nil {
			t.Fatal(err)
		}
		s := e.Snapshot()
		last, err := time.Parse(time.RFC3339Nano, s.Capture.Last)
		if err != nil {
			t.Fatal(err)
		}
		e.Idle(last.Add(2 * time.Minute))
		r := e.Snapshot()
		r.Capture.Stats.PeakFlows = 0
		b, _ := json.MarshalIndent(r, "", "  ")
		e.Finish()
		return b
	}
	want := run(1)
	if got := run(2); !bytes.Equal(got, want) {
		t.Errorf("after Idle, 2 workers' snapshot differs:\n%s", firstDiff(string(got), string(want)))
	}
}
