package analyzer

import (
	"bytes"
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"orchard/internal/stress"
)

// pausingSink holds the judge on its first event, so the reader runs far
// ahead of it, as it does by chance on a loaded machine.
type pausingSink struct {
	once  sync.Once
	pause time.Duration
}

func (s *pausingSink) hold()            { s.once.Do(func() { time.Sleep(s.pause) }) }
func (s *pausingSink) Flow(*FlowEvent)  { s.hold() }
func (s *pausingSink) DNS(*DNSEvent)    { s.hold() }
func (s *pausingSink) Finding(*Finding) { s.hold() }

// TestParallelEndsInOrder checks that a file's end is seen by the verdicts
// of the packets after it only, however far the reader runs ahead of the
// judge. A SYN flood that overflows the flow table, all within the 3 s a
// SYN's answer may take before the file ends: the flows evicted while the
// file was read are failures, those still open at its end undecided. A
// judge that saw the end as soon as the reader filed it called flows
// undecided by chance, and the report changed from run to run.
func TestParallelEndsInOrder(t *testing.T) {
	var capBuf bytes.Buffer
	if err := stress.Write(&capBuf, "syn", stress.Spec{N: 20_000}); err != nil {
		t.Fatal(err)
	}
	report := func(pause time.Duration) (*Report, []byte) {
		t.Helper()
		e, err := New(Config{Workers: 2, MaxFlows: 1024, Sink: &pausingSink{pause: pause}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.ReadFrom(context.Background(), "syn.pcap", bytes.NewReader(capBuf.Bytes()), nil); err != nil {
			t.Fatal(err)
		}
		r := e.Finish()
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		return r, b
	}
	r, want := report(0)
	undecided, failed := 0, 0
	for _, s := range r.Services {
		undecided += s.Undecided
		failed += s.Failed
	}
	if undecided == 0 || failed == 0 || undecided > 2048 {
		t.Fatalf("%d flows undecided and %d failed: want the flows open at the end (about the table's 1024) undecided and the evicted ones failed", undecided, failed)
	}
	for i := 0; i < 2; i++ {
		if _, got := report(200 * time.Millisecond); !bytes.Equal(got, want) {
			t.Fatalf("the report changed when the judge ran behind the reader:\n%.600s\nwant\n%.600s", got, want)
		}
	}
}
