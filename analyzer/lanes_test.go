package analyzer_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"orchard/analyzer"
	"orchard/decode"
)

type rawFrame struct {
	link layers.LinkType
	data []byte
	ts   int64
	wire int
}

func readFrames(t *testing.T, name string) []rawFrame {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcapgo.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var out []rawFrame
	for {
		data, ci, err := r.ReadPacketData()
		if err != nil {
			break
		}
		out = append(out, rawFrame{r.LinkType(), data, ci.Timestamp.UnixNano(), ci.Length})
	}
	return out
}

// kernelLane picks a lane the way an AF_PACKET fanout group might: by a
// symmetric hash of the outer addresses and ports, so an ICMP error lands
// by its own addresses, not by the flow it quotes.
func kernelLane(f rawFrame, n int) int {
	var p decode.Packet
	if decode.NewDecoder().Decode(f.link, f.data, &p) != nil {
		return 0
	}
	return int(decode.AddrHash(p.Src, p.SrcPort, p.Dst, p.DstPort, p.Proto) % uint64(n))
}

func findingsJSON(t *testing.T, r *analyzer.Report) []byte {
	t.Helper()
	b, err := json.MarshalIndent(struct {
		F any
		S any
	}{r.Findings, r.Services}, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestLanesSameFindings feeds the demo capture through lanes, split as a
// fanout group would split it, in input order, and checks the findings
// and services are those of one engine (ICMP errors cross lanes).
func TestLanesSameFindings(t *testing.T) {
	in := filepath.Join("..", "testdata", "demo-ipad.pcap")
	frames := readFrames(t, in)
	one, err := analyzer.New(analyzer.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := one.ReadFile(context.Background(), in, nil); err != nil {
		t.Fatal(err)
	}
	want := one.Finish()
	for _, n := range []int{2, 3} {
		e, err := analyzer.New(analyzer.Config{Workers: n})
		if err != nil {
			t.Fatal(err)
		}
		lanes := e.Lanes()
		if len(lanes) != n {
			t.Fatalf("%d lanes for %d workers", len(lanes), n)
		}
		crossed := false
		for _, f := range frames {
			i := kernelLane(f, n)
			lanes[i].FrameNS(f.link, f.data, f.ts, f.wire)
			// Flush every lane, as a live capture does over time, so
			// forwarded ICMP errors follow their packet closely.
			for _, l := range lanes {
				l.Flush()
			}
			if _, k := decode.FrameHash(f.link, f.data); k == decode.HashDecode {
				crossed = true
			}
		}
		if !crossed {
			t.Fatal("the demo has no frame that needs a full decode: the test proves nothing about crossing lanes")
		}
		got := e.Finish()
		if got.Capture.Packets != want.Capture.Packets || got.Capture.Stats.TCP != want.Capture.Stats.TCP {
			t.Errorf("%d lanes: %d packets (%d TCP), one engine %d (%d)", n, got.Capture.Packets, got.Capture.Stats.TCP, want.Capture.Packets, want.Capture.Stats.TCP)
		}
		if g, w := findingsJSON(t, got), findingsJSON(t, want); !bytes.Equal(g, w) {
			t.Errorf("%d lanes: findings differ from one engine's:\n%s", n, firstDiff(string(g), string(w)))
		}
	}
}

// TestLanesConcurrent runs lanes on their own goroutines, with snapshots
// between, and checks every packet is counted (run it with -race).
func TestLanesConcurrent(t *testing.T) {
	frames := readFrames(t, filepath.Join("..", "testdata", "demo-ipad.pcap"))
	const n = 2
	e, err := analyzer.New(analyzer.Config{Workers: n})
	if err != nil {
		t.Fatal(err)
	}
	lanes := e.Lanes()
	parts := make([][]rawFrame, n)
	for _, f := range frames {
		i := kernelLane(f, n)
		parts[i] = append(parts[i], f)
	}
	const rounds = 20
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for i, l := range lanes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := 0; r < rounds; r++ {
				for _, f := range parts[i] {
					l.FrameNS(f.link, f.data, f.ts, f.wire)
				}
				l.Flush()
			}
			// A live lane keeps flushing until the capture stops: a
			// snapshot waits for every lane's progress.
			for {
				select {
				case <-stop:
					return
				case <-time.After(time.Millisecond):
					l.Flush()
				}
			}
		}()
	}
	for s := 0; s < 3; s++ {
		if r := e.Snapshot(); r == nil {
			t.Fatal("nil snapshot")
		}
	}
	close(stop)
	wg.Wait()
	r := e.Finish()
	if want := uint64(rounds * len(frames)); r.Capture.Packets != want {
		t.Errorf("counted %d packets, fed %d", r.Capture.Packets, want)
	}
	if len(r.Findings) == 0 {
		t.Error("no findings from the demo fed through lanes")
	}
}

// A lane's per-frame work (count, place, copy into its batch, hand full
// batches over) allocates nothing in steady state.
func TestLaneFrameAllocs(t *testing.T) {
	e, err := analyzer.New(analyzer.Config{Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	l := e.Lanes()[0]
	// An ARP request: the lane places and copies it, the worker finds it
	// is not IP, so only the hand-over path is measured.
	arp := make([]byte, 42)
	copy(arp, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 1, 0x08, 0x06})
	ts := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()
	for i := 0; i < 4096; i++ { // warm the batches up
		l.FrameNS(layers.LinkTypeEthernet, arp, ts, len(arp))
	}
	n := testing.AllocsPerRun(20000, func() {
		l.FrameNS(layers.LinkTypeEthernet, arp, ts, len(arp))
	})
	l.Flush()
	e.Finish()
	if n != 0 {
		t.Errorf("%.3f allocations a frame", n)
	}
}
