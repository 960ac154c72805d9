package analyzer_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"

	"orchard/analyzer"
	"orchard/internal/capgen"
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
	t.Run("bench-mix-mapped", func(t *testing.T) {
		// Uncompressed, the mix is mapped and read in place: frames reach
		// the workers without a copy, in windows they hold.
		if testing.Short() {
			t.Skip("short")
		}
		plain := gunzipTemp(t, sharedtest.Path(t, "bench/ndpi-mix.pcap.gz"))
		demo := filepath.Join("..", "testdata", "demo-ipad.pcap")
		sameAsSingle(t, demo, plain, demo)
	})
}

// gunzipTemp decompresses a file into the test's temporary folder.
func gunzipTemp(t *testing.T, name string) string {
	t.Helper()
	in, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	zr, err := gzip.NewReader(in)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), strings.TrimSuffix(filepath.Base(name), ".gz"))
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(f, zr); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return out
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

func (r *recPackets) WritePacket(link layers.LinkType, ts int64, frame []byte, note string) error {
	r.lines = append(r.lines, fmt.Sprintf("%d %d %x %s", link, ts, frame, note))
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

// fuzzFrames splits fuzz input into frames: a link-type selector byte, a
// length byte, then that many bytes (the rest at the end).
func fuzzFrames(data []byte, fn func(link layers.LinkType, frame []byte)) {
	links := []layers.LinkType{layers.LinkTypeEthernet, layers.LinkTypeRaw, layers.LinkTypeLinuxSLL2, 258}
	for len(data) >= 2 {
		link, n := links[int(data[0])%len(links)], int(data[1])
		data = data[2:]
		if n > len(data) || n == 0 {
			n = len(data)
		}
		if n > 0 {
			fn(link, data[:n])
		}
		data = data[n:]
	}
}

// FuzzWorkersAgree: whatever the frames, several workers report exactly
// what one does (the fast flow hash, the shared frames and the ordered
// merge must never send a packet to the wrong worker or an event out of
// order).
func FuzzWorkersAgree(f *testing.F) {
	f.Add(fuzzSeed())
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 1<<16 {
			return
		}
		var reports [2][]byte
		for i, workers := range []int{1, 3} {
			sink := &evSink{}
			e, err := analyzer.New(analyzer.Config{Workers: workers, Sink: sink, AllHosts: true})
			if err != nil {
				t.Fatal(err)
			}
			ts := int64(1_700_000_000e9)
			fuzzFrames(data, func(link layers.LinkType, frame []byte) {
				ts += int64(frame[0]) * 1e8 // up to 25 s apart: idle expiry too
				e.FrameNS(link, frame, ts, len(frame))
			})
			r := e.Finish()
			r.Capture.Stats.PeakFlows = 0
			b, _ := json.Marshal(r)
			reports[i] = append(b, sink.buf.Bytes()...)
		}
		if !bytes.Equal(reports[0], reports[1]) {
			t.Fatalf("3 workers differ from 1:\n%s\n%s", reports[0], reports[1])
		}
	})
}

// fuzzSeed is a short exchange in fuzzFrames form: a TCP handshake to an
// Apple push address, the client's reset, a SYN and the ICMP unreachable
// quoting it, a DNS answer and an IPv4 datagram in two fragments.
func fuzzSeed() []byte {
	c, s := netip.MustParseAddr("192.168.1.20"), netip.MustParseAddr("17.57.144.10")
	syn := capgen.TCP{Src: c, Dst: s, SrcPort: 50000, DstPort: 5223, Flags: capgen.SYN, Seq: 1}
	blocked := capgen.TCP{Src: c, Dst: s, SrcPort: 50001, DstPort: 443, Flags: capgen.SYN}
	frames := [][]byte{
		syn.Raw(),
		blocked.Raw(),
		capgen.TCP{Src: s, Dst: c, SrcPort: 5223, DstPort: 50000, Flags: capgen.SYN | capgen.ACK, Seq: 9, Ack: 2}.Raw(),
		capgen.TCP{Src: c, Dst: s, SrcPort: 50000, DstPort: 5223, Flags: capgen.RST, Seq: 2}.Raw(),
		capgen.ICMPUnreachable{Src: netip.MustParseAddr("10.0.0.1"), Dst: c, Code: 13, Quote: blocked.IP()}.Raw(),
		capgen.UDP{Src: netip.MustParseAddr("192.168.1.1"), Dst: c, SrcPort: 53, DstPort: 40000,
			Payload: []byte{0x12, 0x34, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0, 4, 'm', 'e', 's', 'u', 5, 'a', 'p', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0, 0, 1, 0, 1,
				0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 17, 253, 1, 2}}.Raw(),
	}
	big := capgen.UDP{Src: c, Dst: s, SrcPort: 123, DstPort: 123, Payload: make([]byte, 120)}.Raw()
	hdr := append([]byte(nil), big[:20]...)
	f1 := append(append([]byte(nil), hdr...), big[20:84]...)
	binary.BigEndian.PutUint16(f1[2:], uint16(len(f1)))
	binary.BigEndian.PutUint16(f1[6:], 0x2000)
	f2 := append(append([]byte(nil), hdr...), big[84:]...)
	binary.BigEndian.PutUint16(f2[2:], uint16(len(f2)))
	binary.BigEndian.PutUint16(f2[6:], 64/8)
	frames = append(frames, f1, f2)
	var out []byte
	for _, fr := range frames {
		out = append(out, 1, byte(len(fr)))
		out = append(out, fr...)
	}
	return out
}
