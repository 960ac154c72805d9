package analyzer

import (
	"net/netip"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"

	"orchard/internal/capgen"
)

// chanSink passes DNS events to a channel (the judge runs on its own
// goroutine with several workers).
type chanSink struct{ dns chan string }

func (s *chanSink) Flow(*FlowEvent)  {}
func (s *chanSink) Finding(*Finding) {}
func (s *chanSink) DNS(e *DNSEvent)  { s.dns <- e.Query }

// With several workers, Flush hands a part-filled batch over: a live
// capture's quiet link gets its events without waiting for more packets.
func TestFlushPartBatch(t *testing.T) {
	sink := &chanSink{dns: make(chan string, 4)}
	e, err := New(Config{Workers: 2, Sink: sink})
	if err != nil {
		t.Fatal(err)
	}
	fr := capgen.UDP{Src: netip.MustParseAddr("192.0.2.53"), Dst: netip.MustParseAddr("192.0.2.10"),
		SrcPort: 53, DstPort: 50000, Payload: bigDNSAnswer(1)}.Raw()
	e.FrameNS(layers.LinkTypeRaw, fr, 1_700_000_000e9, len(fr))
	select {
	case q := <-sink.dns:
		t.Fatalf("DNS event for %s before the batch was handed over", q)
	case <-time.After(50 * time.Millisecond):
	}
	e.Flush()
	select {
	case q := <-sink.dns:
		if q != "mesu.apple.com" {
			t.Errorf("query %q", q)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no DNS event after Flush")
	}
	e.Finish()
}
