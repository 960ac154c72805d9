package sensor

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"

	"orchard/analyzer"
	"orchard/internal/capgen"
)

// rec records what passes a Suppressor.
type rec struct{ lines []string }

func (r *rec) Flow(*analyzer.FlowEvent) { r.lines = append(r.lines, "flow") }
func (r *rec) DNS(*analyzer.DNSEvent)   { r.lines = append(r.lines, "dns") }
func (r *rec) Finding(f *analyzer.Finding) {
	r.lines = append(r.lines, fmt.Sprintf("%s %s %s:%d n=%d %s..%s", f.Finding, f.Client, f.Host, f.Port, f.Count, f.First, f.Last))
}

func fnd(name, client, host string, port uint16, at string) *analyzer.Finding {
	return &analyzer.Finding{Finding: name, Client: client, Host: host, Port: port, Count: 1, First: at, Last: at}
}

func TestSuppressor(t *testing.T) {
	type step struct {
		at     time.Duration // clock
		f      *analyzer.Finding
		repeat bool // FindingRepeated rather than Finding
	}
	push := func(at string) *analyzer.Finding {
		return fnd("tcp.syn_unanswered", "10.0.0.2", "courier.push.apple.com", 5223, at)
	}
	for _, tc := range []struct {
		name     string
		interval time.Duration
		steps    []step
		want     []string // after Close
	}{
		{
			name: "once, then counted, then at the end", interval: time.Hour,
			steps: []step{{0, push("t1"), false}, {time.Minute, push("t2"), true}, {2 * time.Minute, push("t3"), true}},
			want: []string{
				"tcp.syn_unanswered 10.0.0.2 courier.push.apple.com:5223 n=1 t1..t1",
				"tcp.syn_unanswered 10.0.0.2 courier.push.apple.com:5223 n=3 t1..t3",
			},
		},
		{
			name: "updated at most once an interval", interval: time.Hour,
			steps: []step{
				{0, push("t1"), false},
				{30 * time.Minute, push("t2"), true},
				{61 * time.Minute, push("t3"), true}, // due: passes with n=3
				{62 * time.Minute, push("t4"), true}, // not due
				{90 * time.Minute, push("t5"), true}, // not due
			},
			want: []string{
				"tcp.syn_unanswered 10.0.0.2 courier.push.apple.com:5223 n=1 t1..t1",
				"tcp.syn_unanswered 10.0.0.2 courier.push.apple.com:5223 n=3 t1..t3",
				"tcp.syn_unanswered 10.0.0.2 courier.push.apple.com:5223 n=5 t1..t5",
			},
		},
		{
			name: "nothing pending at the end", interval: time.Hour,
			steps: []step{{0, push("t1"), false}, {2 * time.Hour, push("t2"), true}},
			want: []string{
				"tcp.syn_unanswered 10.0.0.2 courier.push.apple.com:5223 n=1 t1..t1",
				"tcp.syn_unanswered 10.0.0.2 courier.push.apple.com:5223 n=2 t1..t2",
			},
		},
		{
			name: "keys apart: device, host, port, finding", interval: time.Hour,
			steps: []step{
				{0, push("t1"), false},
				{0, fnd("tcp.syn_unanswered", "10.0.0.3", "courier.push.apple.com", 5223, "t1"), false},
				{0, fnd("tcp.syn_unanswered", "10.0.0.2", "gs.apple.com", 5223, "t1"), false},
				{0, fnd("tcp.syn_unanswered", "10.0.0.2", "courier.push.apple.com", 443, "t1"), false},
				{0, fnd("tcp.reset", "10.0.0.2", "courier.push.apple.com", 5223, "t1"), false},
				// A second engine finding (another server) of the same key is
				// the same key here.
				{time.Second, push("t2"), false},
			},
			want: []string{
				"tcp.syn_unanswered 10.0.0.2 courier.push.apple.com:5223 n=1 t1..t1",
				"tcp.syn_unanswered 10.0.0.3 courier.push.apple.com:5223 n=1 t1..t1",
				"tcp.syn_unanswered 10.0.0.2 gs.apple.com:5223 n=1 t1..t1",
				"tcp.syn_unanswered 10.0.0.2 courier.push.apple.com:443 n=1 t1..t1",
				"tcp.reset 10.0.0.2 courier.push.apple.com:5223 n=1 t1..t1",
				"tcp.syn_unanswered 10.0.0.2 courier.push.apple.com:5223 n=2 t1..t2",
			},
		},
		{
			name: "interval 0 passes every occurrence", interval: 0,
			steps: []step{{0, push("t1"), false}, {0, push("t2"), true}},
			want: []string{
				"tcp.syn_unanswered 10.0.0.2 courier.push.apple.com:5223 n=1 t1..t1",
				"tcp.syn_unanswered 10.0.0.2 courier.push.apple.com:5223 n=2 t1..t2",
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &rec{}
			var now time.Time
			base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			occurred := 0
			s := &Suppressor{Next: r, Interval: tc.interval, Now: func() time.Time { return now }, Occurred: func(*analyzer.Finding) { occurred++ }}
			for _, st := range tc.steps {
				now = base.Add(st.at)
				if st.repeat {
					s.FindingRepeated(st.f)
				} else {
					s.Finding(st.f)
				}
			}
			s.Flow(&analyzer.FlowEvent{})
			s.Close()
			got := strings.Join(r.lines, "\n")
			want := strings.Join(append(tc.want[:len(tc.want):len(tc.want)], "flow"), "\n")
			// Close's lines come after the flow.
			if strings.ReplaceAll(got, "\nflow", "") != strings.Join(tc.want, "\n") || !strings.Contains(got, "flow") {
				t.Errorf("passed:\n%s\nwant:\n%s", got, want)
			}
			if occurred != len(tc.steps) {
				t.Errorf("Occurred heard %d occurrences of %d", occurred, len(tc.steps))
			}
		})
	}
}

func TestSuppressorBounded(t *testing.T) {
	r := &rec{}
	s := &Suppressor{Next: r, Interval: time.Hour, Max: 2}
	for i := 0; i < 4; i++ {
		s.Finding(fnd("tcp.reset", fmt.Sprintf("10.0.0.%d", i), "gs.apple.com", 443, "t"))
	}
	s.Finding(fnd("tcp.reset", "10.0.0.3", "gs.apple.com", 443, "t"))
	if len(s.keys) != 2 || s.Overflow != 3 || len(r.lines) != 5 {
		t.Errorf("%d keys, %d overflowed, %d passed", len(s.keys), s.Overflow, len(r.lines))
	}
}

// The engine calls FindingRepeated on a Sink that has it: the Suppressor
// sees the recurrences of a finding it was given once.
var _ analyzer.FindingRepeater = (*Suppressor)(nil)

// Two connections of one device to the same push server, each SYN
// unanswered, are one finding seen twice: the engine tells the Suppressor
// of the second time, and it passes once when decided and once, with the
// count 2, at the end.
func TestSuppressorEngine(t *testing.T) {
	r := &rec{}
	s := &Suppressor{Next: r, Interval: time.Hour}
	e, err := analyzer.New(analyzer.Config{Sink: s})
	if err != nil {
		t.Fatal(err)
	}
	ipad, push := netip.MustParseAddr("10.20.30.41"), netip.MustParseAddr("17.57.144.84")
	web, gw := netip.MustParseAddr("198.51.100.7"), [6]byte{2, 0, 0, 0, 0, 1}
	dev := [6]byte{2, 0, 0, 0, 0, 2}
	t0 := time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC).UnixNano()
	send := func(at time.Duration, seg capgen.TCP, fromDev bool) {
		src, dst := dev, gw
		if !fromDev {
			src, dst = gw, dev
		}
		b := seg.Ethernet(src, dst)
		e.FrameNS(layers.LinkTypeEthernet, b, t0+int64(at), len(b))
	}
	const syn, ack = 0x02, 0x10
	for c, start := range []time.Duration{0, 30 * time.Second} {
		for i, d := range []time.Duration{0, time.Second, 3 * time.Second, 7 * time.Second} {
			send(start+d, capgen.TCP{Src: ipad, Dst: push, SrcPort: uint16(50000 + c), DstPort: 5223, Flags: syn, Seq: uint32(1000 * (c + 1)), IPID: uint16(i)}, true)
		}
	}
	// A working connection later on: the capture sees both directions and
	// goes on well past the retries.
	at := 120 * time.Second
	send(at, capgen.TCP{Src: ipad, Dst: web, SrcPort: 50100, DstPort: 443, Flags: syn, Seq: 1}, true)
	send(at+time.Millisecond, capgen.TCP{Src: web, Dst: ipad, SrcPort: 443, DstPort: 50100, Flags: syn | ack, Seq: 9, Ack: 2}, false)
	send(at+2*time.Millisecond, capgen.TCP{Src: ipad, Dst: web, SrcPort: 50100, DstPort: 443, Flags: ack, Seq: 2, Ack: 10}, true)
	e.Finish()
	s.Close()
	var got []string
	for _, l := range r.lines {
		if strings.HasPrefix(l, "tcp.syn_unanswered") {
			got = append(got, l)
		}
	}
	if len(got) != 2 || !strings.Contains(got[0], " n=1 ") || !strings.Contains(got[1], " n=2 ") {
		t.Errorf("tcp.syn_unanswered passed as:\n%s", strings.Join(got, "\n"))
	}
}
