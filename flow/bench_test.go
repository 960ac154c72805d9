package flow

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"

	"orchard/capture"
	"orchard/internal/stress"
)

// nopSink ends flows and takes answers without looking at them: the
// engine's own work, without a judge's.
type nopSink struct{}

func (nopSink) FlowEnded(*Flow, bool) {}
func (nopSink) Answer(*Flow, Answer)  {}

// stressInput returns the frames of a stress input.
func stressInput(tb testing.TB, kind string, n int) [][]byte {
	tb.Helper()
	var buf bytes.Buffer
	if err := stress.Write(&buf, kind, stress.Spec{N: n}); err != nil {
		tb.Fatal(err)
	}
	r, err := capture.OpenReader(kind, &buf)
	if err != nil {
		tb.Fatal(err)
	}
	defer r.Close()
	var out [][]byte
	var p capture.Packet
	for {
		err := r.Next(&p)
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, append([]byte(nil), p.Data...))
	}
}

// testLimits are the analyzer's default limits.
var testLimits = Limits{MaxFlows: 65536, ClientBuffer: 16 << 10, ServerBuffer: 64 << 10, BufferBudget: 64 << 20, StateBudget: 64 << 20}

// benchFrames feeds frames to an engine over and over (each round's flows
// evict the last round's), 500 ns of capture time apart; N counts frames.
func benchFrames(b *testing.B, frames [][]byte) {
	e := NewEngine(testLimits, nopSink{})
	ts := int64(1_800_000_000) * int64(time.Second)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		f := frames[i]
		ts += 500
		e.Frame(layers.LinkTypeEthernet, f, ts, len(f), "", 0)
		if i++; i == len(frames) {
			i = 0
		}
	}
}

// BenchmarkFlowsDNSHeavy times the engine alone on the DNS stress input:
// a query and its response of 20 answers on a new UDP flow each.
func BenchmarkFlowsDNSHeavy(b *testing.B) {
	benchFrames(b, stressInput(b, "dns", 100_000))
}

// BenchmarkFlowsSYNFlood times the engine alone on unique SYNs, each a
// new flow that evicts the oldest.
func BenchmarkFlowsSYNFlood(b *testing.B) {
	benchFrames(b, stressInput(b, "syn", 400_000))
}
