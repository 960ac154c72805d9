package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"runtime"
	"testing"

	"orchard/analyzer"
	"orchard/internal/filltest"
)

// TestNDJSONSinkLines checks that the sink writes encoding/json's line for
// each event (HTML escaping off), and allocates nothing for one.
func TestNDJSONSinkLines(t *testing.T) {
	var fe analyzer.FlowEvent
	var de analyzer.DNSEvent
	var fd analyzer.Finding
	filltest.Fill(&fe)
	filltest.Fill(&de)
	filltest.Fill(&fd)
	var got, want bytes.Buffer
	w := bufio.NewWriterSize(&got, 64<<10)
	s := newNDJSONSink(w, true)
	enc := json.NewEncoder(&want)
	enc.SetEscapeHTML(false)
	for range 200 { // past the buffer's size, so that it flushes between events
		s.Flow(&fe)
		s.DNS(&de)
		s.Finding(&fd)
		for _, v := range []any{&fe, &de, &fd} {
			if err := enc.Encode(v); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), want.Bytes()) {
		t.Fatalf("the sink's %d bytes differ from encoding/json's %d", got.Len(), want.Len())
	}
	// Counted over all the runs: testing.AllocsPerRun rounds down, and an
	// event that outgrows the writer's free space allocates only once in
	// a few dozen.
	d := newNDJSONSink(bufio.NewWriterSize(io.Discard, 64<<10), false)
	d.Flow(&fe)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range 1000 {
		d.Flow(&fe)
		d.DNS(&de)
	}
	runtime.ReadMemStats(&after)
	if n := after.Mallocs - before.Mallocs; n > 4 {
		t.Errorf("%d allocations for 1000 event pairs", n)
	}
}
