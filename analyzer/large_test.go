package analyzer_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/netip"
	"testing"
	"time"

	"orchard/analyzer"
	"orchard/internal/capgen"
)

// TestWorkersPast4GiB analyses a capture whose packets lie past 4 GiB (a
// sparse pcapng file, mapped): two workers take its frames in place and
// report what one does. Frame offsets past 2 GiB used to overflow the
// workers' batch entries.
func TestWorkersPast4GiB(t *testing.T) {
	var before, after [][]byte
	for i := 0; i < 600; i++ {
		u := capgen.UDP{Src: netip.MustParseAddr("10.0.0.2"), Dst: netip.MustParseAddr("17.248.147.6"), SrcPort: uint16(40000 + i%64), DstPort: 443, Payload: make([]byte, 40+i%7)}
		fr := u.Ethernet([6]byte{2}, [6]byte{4})
		if i < 10 {
			before = append(before, fr)
		} else {
			after = append(after, fr)
		}
	}
	path := capgen.TempSparsePcapNG(t, 4<<30+4096, time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC), before, after)
	report := func(workers int) []byte {
		e, err := analyzer.New(analyzer.Config{Workers: workers})
		if err != nil {
			t.Fatal(err)
		}
		if w, err := e.ReadFile(context.Background(), path, nil); err != nil || w != nil {
			t.Fatalf("%d workers: %v %v", workers, err, w)
		}
		r := e.Finish()
		if r.Capture.Packets != 600 {
			t.Errorf("%d workers: %d packets", workers, r.Capture.Packets)
		}
		r.Capture.Stats.PeakFlows = 0
		b, _ := json.Marshal(r)
		return b
	}
	if one, two := report(1), report(2); !bytes.Equal(one, two) {
		t.Errorf("two workers report otherwise than one:\n%s", firstDiff(string(two), string(one)))
	}
}
