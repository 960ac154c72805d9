package main

import (
	"bufio"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// TestEvidenceWriterSortsMergesAndCaps feeds the writer packets out of
// time order, one of them twice for two findings, past its cap, and reads
// the file back.
func TestEvidenceWriterSortsMergesAndCaps(t *testing.T) {
	name := filepath.Join(t.TempDir(), "ev.pcapng")
	w, err := newEvidenceWriter(name)
	if err != nil {
		t.Fatal(err)
	}
	w.max = 4
	eth := layers.LinkTypeEthernet
	frame := func(b byte) []byte { return slices.Repeat([]byte{b}, 60) }
	w.WritePacket(eth, 300, frame(3), "tcp.reset a.apple.com:443")
	w.WritePacket(eth, 100, frame(1), "tcp.syn_unanswered b.apple.com:5223")
	w.WritePacket(eth, 200, frame(2), "dns.failure c.apple.com")
	w.WritePacket(eth, 200, frame(2), "DNS answer naming the host of tcp.reset a.apple.com:443")
	w.WritePacket(eth, 50, frame(9), "past the cap")
	note, err := w.Close()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(note, "stops at 4 packets: 1 more") {
		t.Errorf("note %q", note)
	}
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcapgo.NewNgReader(bufio.NewReader(f), pcapgo.DefaultNgReaderOptions)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for {
		data, ci, opts, err := r.ReadPacketDataWithOptions()
		if err != nil {
			break
		}
		got = append(got, string(rune('0'+data[0]))+" "+ci.Timestamp.Format("05.000000000")+" "+strings.Join(opts.Comments, " | "))
	}
	want := []string{
		"1 00.000000100 tcp.syn_unanswered b.apple.com:5223",
		"2 00.000000200 dns.failure c.apple.com | DNS answer naming the host of tcp.reset a.apple.com:443",
		"3 00.000000300 tcp.reset a.apple.com:443",
	}
	if !slices.Equal(got, want) {
		t.Errorf("evidence file:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
