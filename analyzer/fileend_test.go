package analyzer

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"

	"orchard/decode"
	"orchard/internal/capgen"
)

// TestFileEndCutsOff: a SYN right at the end of one file of a timeline,
// with the next file an hour later, is undecided: the answer may have come
// while nothing was captured. Outside a file's end it is an error.
func TestFileEndCutsOff(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, at time.Time, segs ...capgen.TCP) string {
		p := filepath.Join(dir, name)
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		w := capgen.NewPcap(f, layers.LinkTypeRaw)
		for i, s := range segs {
			if err := w.Write(at.Add(time.Duration(i)*time.Second), s.Raw(), 0); err != nil {
				t.Fatal(err)
			}
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		return p
	}
	at := time.Unix(0, t0)
	syn := func(port uint16) capgen.TCP {
		return capgen.TCP{Src: tClient, Dst: tServer, SrcPort: port, DstPort: 5223, Flags: decode.FlagSYN, Seq: 100}
	}
	answered := []capgen.TCP{
		{Src: tClient, Dst: tServer, SrcPort: 40000, DstPort: 443, Flags: decode.FlagSYN, Seq: 1},
		{Src: tServer, Dst: tClient, SrcPort: 443, DstPort: 40000, Flags: decode.FlagSYN | decode.FlagACK, Seq: 9, Ack: 2},
	}
	// The first file: a SYN 5 s before its end (decided), one at its end.
	first := write("first.pcap", at, syn(50000), answered[0], answered[1], answered[1], answered[1], syn(50001))
	// An hour later, the second file ends with a SYN too.
	second := write("second.pcap", at.Add(time.Hour), answered[0], answered[1], syn(50002))
	e, _ := newTestEngine(t, Config{})
	for _, f := range []string{first, second} {
		if _, err := e.ReadFile(context.Background(), f, nil); err != nil {
			t.Fatal(err)
		}
	}
	// A third capture keeps the timeline going past the second's SYN.
	feedUDP(e, []udpPkt{{7200, "192.168.1.30", "192.168.1.1", 40000, 9999, []byte("x")}})
	var got []string
	for _, f := range e.Finish().Findings {
		got = append(got, f.Finding+"/"+f.Severity)
		t.Log(f.Evidence)
	}
	if s := strings.Join(got, ","); s != "tcp.syn_unanswered/error,tcp.syn_unanswered/info" {
		t.Errorf("findings %q", s)
	}
}
