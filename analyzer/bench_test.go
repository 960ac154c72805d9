package analyzer

import (
	"context"
	"errors"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"

	"orchard/capture"
	"orchard/internal/capgen"
	"orchard/internal/sharedtest"
)

// benchFrame is one frame of a capture held in memory.
type benchFrame struct {
	link layers.LinkType
	ts   int64
	wire int
	data []byte
}

// loadFrames reads a capture into memory. The bench mix is hundreds of
// captures end to end whose clocks jump by years; each jump becomes a
// ten-minute gap (longer than every flow timeout), as cmd/orchard-bench
// does, so flows expire as in one long session.
func loadFrames(tb testing.TB, name string) []benchFrame {
	tb.Helper()
	f, err := capture.Open(name)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var out []benchFrame
	var p capture.Packet
	var prev, now int64 = 0, 1_700_000_000 * int64(time.Second)
	for {
		err := f.Next(&p)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			tb.Fatal(err)
		}
		ts := p.Timestamp.UnixNano()
		if len(out) > 0 {
			d := ts - prev
			if d > int64(time.Hour) || d < -int64(time.Minute) {
				d = int64(10 * time.Minute)
			}
			now += d
		}
		prev = ts
		out = append(out, benchFrame{link: p.LinkType, ts: now, wire: p.WireLen, data: append([]byte(nil), p.Data...)})
	}
	return out
}

// BenchmarkEngine runs the whole analysis (decode, flows, dissectors,
// judgement, report) over a real capture held in memory: the shared bench
// mix (83k packets of several hundred protocols) when the shared corpus is
// present, and the demo capture. One op is one pass over the capture with
// a fresh engine.
func BenchmarkEngine(b *testing.B) {
	b.Run("mix", func(b *testing.B) {
		benchEngine(b, loadFrames(b, sharedtest.Path(b, "bench/ndpi-mix.pcap.gz")))
	})
	b.Run("demo", func(b *testing.B) {
		benchEngine(b, loadFrames(b, filepath.Join("..", "testdata", "demo-ipad.pcap")))
	})
}

func benchEngine(b *testing.B, frames []benchFrame) {
	var size int64
	for _, f := range frames {
		size += int64(len(f.data))
	}
	b.SetBytes(size)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		e, err := New(Config{})
		if err != nil {
			b.Fatal(err)
		}
		for i := range frames {
			f := &frames[i]
			e.FrameNS(f.link, f.data, f.ts, f.wire)
		}
		e.Finish()
	}
	if el := b.Elapsed().Seconds(); el > 0 {
		n := float64(len(frames)) * float64(b.N)
		b.ReportMetric(n/el, "packets/s")
		b.ReportMetric(el*1e9/n, "ns/packet")
	}
}

// established builds the packets of a few established TCP and UDP flows:
// handshake first, then data segments and datagrams that only update
// counters.
func established(tb testing.TB) (setup, steady [][]byte) {
	tb.Helper()
	var s, d [][]byte
	macC := [6]byte{2, 0, 0, 0, 0, 1}
	macS := [6]byte{2, 0, 0, 0, 0, 2}
	for i := 0; i < 8; i++ {
		c := netip.AddrFrom4([4]byte{10, 0, 0, byte(1 + i)})
		srv := netip.AddrFrom4([4]byte{17, 253, 144, 10})
		cp := uint16(50000 + i)
		tcp := func(fromClient bool, seq, ack uint32, flags uint8, data []byte) []byte {
			t := capgen.TCP{Src: c, Dst: srv, SrcPort: cp, DstPort: 443, Seq: seq, Ack: ack, Flags: flags, Payload: data}
			if !fromClient {
				t.Src, t.Dst, t.SrcPort, t.DstPort = srv, c, 443, cp
			}
			return t.Ethernet(macC, macS)
		}
		s = append(s,
			tcp(true, 1000, 0, capgen.SYN, nil),
			tcp(false, 5000, 1001, capgen.SYN|capgen.ACK, nil),
			tcp(true, 1001, 5001, capgen.ACK, nil),
			tcp(true, 1001, 5001, capgen.ACK|capgen.PSH, []byte("\x16\x03\x01\x00\x05hello")),
			capgen.UDP{Src: c, Dst: srv, SrcPort: cp, DstPort: 4500, Payload: []byte{0, 0, 0, 0, 1, 2, 3, 4}}.Ethernet(macC, macS),
		)
		// Data beyond what the dissectors keep, pure ACKs, UDP: counted only.
		d = append(d,
			tcp(true, 1001+1<<20, 5001, capgen.ACK|capgen.PSH, make([]byte, 100)),
			tcp(false, 5001, 1101, capgen.ACK, nil),
			capgen.UDP{Src: srv, Dst: c, SrcPort: 4500, DstPort: cp, Payload: []byte{0, 0, 0, 0, 5, 6, 7, 8}}.Ethernet(macS, macC),
		)
	}
	return s, d
}

// TestSteadyStateAllocs checks that packets of established flows cost no
// allocation.
func TestSteadyStateAllocs(t *testing.T) {
	e, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	setup, steady := established(t)
	ts := int64(1_700_000_000) * int64(time.Second)
	for _, f := range setup {
		ts += int64(time.Millisecond)
		e.FrameNS(layers.LinkTypeEthernet, f, ts, len(f))
	}
	for _, f := range steady { // warm up: first data packets may grow buffers
		ts += int64(time.Millisecond)
		e.FrameNS(layers.LinkTypeEthernet, f, ts, len(f))
	}
	allocs := testing.AllocsPerRun(200, func() {
		for _, f := range steady {
			ts += int64(time.Microsecond)
			e.FrameNS(layers.LinkTypeEthernet, f, ts, len(f))
		}
	})
	if allocs != 0 {
		t.Errorf("%.1f allocations per round of %d established-flow packets, want 0", allocs, len(steady))
	}
	if got := e.Stats().Flows; got != 16 {
		t.Errorf("flows = %d, want 16", got)
	}
}

// BenchmarkReadFile times the command-line path (file reading included) on
// the capture named by $ORCHARD_BENCH_FILE, e.g. the one cmd/orchard-bench
// builds with --keep, with one and two workers.
func BenchmarkReadFile(b *testing.B) {
	name := os.Getenv("ORCHARD_BENCH_FILE")
	if name == "" {
		b.Skip("set ORCHARD_BENCH_FILE to a capture")
	}
	for _, w := range []int{1, 2} {
		b.Run("workers="+strconv.Itoa(w), func(b *testing.B) {
			b.ReportAllocs()
			var n uint64
			for b.Loop() {
				e, err := New(Config{Workers: w})
				if err != nil {
					b.Fatal(err)
				}
				if _, err := e.ReadFile(context.Background(), name, nil); err != nil {
					b.Fatal(err)
				}
				n += e.Finish().Capture.Packets
			}
			if el := b.Elapsed().Seconds(); el > 0 {
				b.ReportMetric(float64(n)/el, "packets/s")
			}
		})
	}
}
