package analyzer_test

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"

	"orchard/analyzer"
	"orchard/internal/capgen"
)

// failingRecorder fails every write after the first ok ones.
type failingRecorder struct{ ok, calls int }

func (r *failingRecorder) WritePacket(layers.LinkType, int64, []byte, string) error {
	if r.calls++; r.calls > r.ok {
		return errors.New("evidence.pcapng: no space left on device")
	}
	return nil
}

// TestEvidenceErrorsReported: packets the Recorder could not write, and
// packets of open flows not kept, are counted in the report's stats and
// warned of, with one worker and several.
func TestEvidenceErrorsReported(t *testing.T) {
	demo := filepath.Join("..", "testdata", "demo-ipad.pcap")
	// One UDP flow of 70 datagrams: 6 beyond what a flow keeps.
	long := filepath.Join(t.TempDir(), "long.pcap")
	f, err := os.Create(long)
	if err != nil {
		t.Fatal(err)
	}
	w := capgen.NewPcap(f, layers.LinkTypeEthernet)
	mac := [6]byte{2, 0, 0, 0, 0, 1}
	for i := 0; i < 70; i++ {
		fr := capgen.UDP{Src: netip.MustParseAddr("10.20.30.41"), Dst: netip.MustParseAddr("17.248.147.6"),
			SrcPort: 50000, DstPort: 443, Payload: make([]byte, 40)}.Ethernet(mac, mac)
		if err := w.Write(time.Unix(1_700_000_000, int64(i)*1e6), fr, 0); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	for _, workers := range []int{1, 2} {
		for _, c := range []struct {
			name            string
			in              string
			rec             analyzer.Recorder
			dropped, failed bool
			warn            string
		}{
			{"write errors", demo, &failingRecorder{ok: 3}, false, true, "evidence packets could not be written: evidence.pcapng: no space left on device"},
			{"writes", demo, &failingRecorder{ok: 1 << 30}, false, false, ""},
			{"a flow beyond what is kept", long, &failingRecorder{ok: 1 << 30}, true, false, "6 packets of open flows were not kept as evidence (at most 64 a flow, 256 MiB in all)"},
		} {
			e, err := analyzer.New(analyzer.Config{Workers: workers})
			if err != nil {
				t.Fatal(err)
			}
			e.SetRecorder(c.rec)
			if _, err := e.ReadFile(context.Background(), c.in, nil); err != nil {
				t.Fatal(err)
			}
			r := e.Finish()
			st := r.Capture.Stats
			if (st.EvidenceErrors > 0) != c.failed || (st.EvidenceDropped > 0) != c.dropped {
				t.Errorf("%d workers, %s: %d evidence errors, %d dropped", workers, c.name, st.EvidenceErrors, st.EvidenceDropped)
			}
			if c.failed && st.EvidenceErrors != uint64(c.rec.(*failingRecorder).calls-3) {
				t.Errorf("%d workers, %s: %d errors counted, %d writes failed", workers, c.name, st.EvidenceErrors, c.rec.(*failingRecorder).calls-3)
			}
			warned := strings.Join(r.Capture.Warnings, "\n")
			if c.warn != "" && !strings.Contains(warned, c.warn) || c.warn == "" && strings.Contains(warned, "evidence") {
				t.Errorf("%d workers, %s: warnings %q, want %q", workers, c.name, warned, c.warn)
			}
		}
	}
}
