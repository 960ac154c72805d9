package analyzer

import (
	"bytes"
	"errors"
	"io"
	"net/netip"
	"runtime"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"

	"orchard/capture"
	"orchard/internal/capgen"
	"orchard/internal/stress"
)

// stressFrames returns the frames of a small stress input, and their times.
func stressFrames(tb testing.TB, kind string, s stress.Spec) (frames [][]byte, ts []int64) {
	tb.Helper()
	var buf bytes.Buffer
	if err := stress.Write(&buf, kind, s); err != nil {
		tb.Fatal(err)
	}
	f, err := capture.OpenReader(kind, &buf)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var p capture.Packet
	for {
		err := f.Next(&p)
		if errors.Is(err, io.EOF) {
			return frames, ts
		}
		if err != nil {
			tb.Fatal(err)
		}
		frames = append(frames, append([]byte(nil), p.Data...))
		ts = append(ts, p.Timestamp.UnixNano())
	}
}

// liveHeap is the heap in use after a collection.
func liveHeap() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

// TestStressMemoryBounds feeds small versions of the stress inputs, with
// many more flows than the flow table holds, and measures the live heap:
// once the table is full, what each flow of the cap costs (its state,
// everything its dissectors keep, and the judge's share), and that the
// heap stops growing with the input beyond what the judge keeps per
// finding (itself capped at maxTracked).
func TestStressMemoryBounds(t *testing.T) {
	const maxFlows = 2048
	for _, c := range []struct {
		kind string
		spec stress.Spec
		// perFlow bounds the heap per flow of the cap once the table is
		// full; growth bounds its growth per packet after that.
		perFlow, growth int64
	}{
		// syn and quic: a finding for every flow (each has its own
		// client and server), which the judge keeps up to its cap.
		{"syn", stress.Spec{N: 16 * maxFlows}, 768, 1024},
		{"quic", stress.Spec{N: 8 * maxFlows}, 2048, 1024},
		// dns: the DNS cache (4 entries a flow of the cap) fills too.
		{"dns", stress.Spec{N: 8 * maxFlows}, 2048, 160},
		// long: the table fills while every flow is in its handshake,
		// both TLS parsers and the ClientHello and chain held.
		{"long", stress.Spec{N: 4 * maxFlows, Bytes: 12 << 20}, 4608, 64},
	} {
		t.Run(c.kind, func(t *testing.T) {
			frames, ts := stressFrames(t, c.kind, c.spec)
			e, err := New(Config{MaxFlows: maxFlows, MaxDNS: 4 * maxFlows})
			if err != nil {
				t.Fatal(err)
			}
			base := liveHeap()
			// full is the first packet to find the table full (nothing
			// judged yet), q3 three quarters of the input.
			full, q3 := -1, 3*len(frames)/4
			var atFull, atQ3 int64
			for i, f := range frames {
				switch {
				case full < 0 && e.flows().table.Flows.N == maxFlows:
					full, atFull = i, liveHeap()
				case i == q3:
					atQ3 = liveHeap()
				}
				e.FrameNS(layers.LinkTypeEthernet, f, ts[i], len(f))
			}
			st := e.Stats()
			if st.PeakFlows != maxFlows || st.FlowsEvicted == 0 {
				t.Fatalf("peak flows %d, evicted %d: the input did not fill the table", st.PeakFlows, st.FlowsEvicted)
			}
			if st.StateDenied != 0 || st.BufferDenied != 0 {
				t.Errorf("state denied %d, buffers denied %d: the budgets should hold this input", st.StateDenied, st.BufferDenied)
			}
			if full < 0 || full > len(frames)/2 {
				t.Fatalf("the table was full at packet %d of %d", full, len(frames))
			}
			perFlow := (atFull - base) / maxFlows
			growth := (atQ3 - atFull) / int64(q3-full)
			t.Logf("%d frames, %d flows: %d bytes a flow of the cap, %d bytes of growth a packet after", len(frames), st.Flows, perFlow, growth)
			if perFlow > c.perFlow {
				t.Errorf("%d bytes of heap a flow of the cap, want at most %d", perFlow, c.perFlow)
			}
			if growth > c.growth {
				t.Errorf("heap grew %d bytes a packet with the table full, want at most %d", growth, c.growth)
			}
			e.Finish()
			if in := e.flows().table.Side.InUse; in != 0 {
				t.Errorf("%d bytes of dissector state still charged after the end", in)
			}
			runtime.KeepAlive(frames)
		})
	}
}

// steadyAllocs feeds frames once to warm e up, then again in rounds, and
// returns the allocations a frame in those rounds.
func steadyAllocs(e *Engine, frames [][]byte) float64 {
	ts := int64(1_800_000_000) * int64(time.Second)
	feed := func() {
		for _, f := range frames {
			ts += int64(time.Microsecond)
			e.FrameNS(layers.LinkTypeEthernet, f, ts, len(f))
		}
	}
	feed()
	return testing.AllocsPerRun(3, feed) / float64(len(frames))
}

// TestDNSHeavySteadyState checks that a resolver's traffic (a query and a
// response of 20 answers on a new flow each time, many more than the flow
// table and the DNS cache hold) costs no allocation once warm, when its
// names repeat (new names cost their strings).
func TestDNSHeavySteadyState(t *testing.T) {
	// 1024 responses name about 2,050 hosts, which the decoder's name
	// table keeps.
	frames, _ := stressFrames(t, "dns", stress.Spec{N: 1024})
	e, err := New(Config{MaxFlows: 512, MaxDNS: 2048})
	if err != nil {
		t.Fatal(err)
	}
	if a := steadyAllocs(e, frames); a != 0 {
		t.Errorf("%.3f allocations a packet, want 0", a)
	}
	if st := e.Stats(); st.DNSResponses != 5*1024 || st.FlowsEvicted == 0 {
		t.Errorf("%d responses, %d flows evicted", st.DNSResponses, st.FlowsEvicted)
	}
}

// TestSYNFloodSteadyState checks that a flood of SYNs, each a new flow
// that evicts the oldest, costs no allocation once warm: to addresses
// outside Apple's (an Apple-bound flood makes findings, which the judge
// builds per flow).
func TestSYNFloodSteadyState(t *testing.T) {
	var frames [][]byte
	for i := 0; i < 8192; i++ {
		s := capgen.TCP{Src: netip.AddrFrom4([4]byte{10, 1, byte(i >> 8 & 7), byte(i)}), Dst: netip.AddrFrom4([4]byte{192, 0, 2, byte(i % 7)}),
			SrcPort: uint16(1024 + i), DstPort: 443, Flags: capgen.SYN, Seq: uint32(i) * 7919, TTL: 64}
		frames = append(frames, s.Ethernet([6]byte{2, 0, 0, 0, 0, 1}, [6]byte{2, 0, 0, 0, 0, 2}))
	}
	e, err := New(Config{MaxFlows: 1024})
	if err != nil {
		t.Fatal(err)
	}
	if a := steadyAllocs(e, frames); a != 0 {
		t.Errorf("%.3f allocations a packet, want 0", a)
	}
	if st := e.Stats(); st.Flows != 5*8192 || st.FlowsEvicted == 0 {
		t.Errorf("%d flows, %d evicted", st.Flows, st.FlowsEvicted)
	}
}

// benchStress times the engine on a stress input, fed again and again
// (each round's flows evict the last round's).
func benchStress(b *testing.B, frames [][]byte, per int, unit string) {
	e, err := New(Config{})
	if err != nil {
		b.Fatal(err)
	}
	ts := int64(1_800_000_000) * int64(time.Second)
	b.ReportAllocs()
	cpu := startCPU(b)
	for i := 0; i < b.N; i++ {
		f := frames[i%len(frames)]
		ts += 500
		e.FrameNS(layers.LinkTypeEthernet, f, ts, len(f))
	}
	cpu.report(b)
	b.ReportMetric(float64(b.N)/float64(per)/b.Elapsed().Seconds(), unit+"/s")
}

// BenchmarkDNSHeavy times query/response pairs of 20 answers, each pair
// on a new flow (N counts packets).
func BenchmarkDNSHeavy(b *testing.B) {
	frames, _ := stressFrames(b, "dns", stress.Spec{N: 200_000})
	benchStress(b, frames, 2, "responses")
}

// BenchmarkSYNFlood times unique SYNs to Apple, each a new flow that is
// judged when evicted.
func BenchmarkSYNFlood(b *testing.B) {
	frames, _ := stressFrames(b, "syn", stress.Spec{N: 400_000})
	benchStress(b, frames, 1, "SYNs")
}
