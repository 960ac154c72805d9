package analyzer

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"

	"orchard/capture"
	"orchard/internal/capgen"
)

// udpPcap returns a pcap of n UDP packets.
func udpPcap(t *testing.T, n int) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := capgen.NewPcap(&buf, layers.LinkTypeEthernet)
	mac := [6]byte{2, 0, 0, 0, 0, 1}
	for i := 0; i < n; i++ {
		fr := capgen.UDP{Src: netip.MustParseAddr("192.0.2.7"), Dst: netip.MustParseAddr("198.51.100.9"),
			SrcPort: uint16(1024 + i), DstPort: 9999, Payload: make([]byte, 40)}.Ethernet(mac, mac)
		if err := w.Write(time.Unix(1_700_000_000, int64(i)*1000), fr, 0); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

// TestPartialWarningsTyped: an input analysed only in part gives a
// warning that stays typed: a truncation is the reader's
// *capture.TruncatedError (file and offset), other damage wraps its
// *capture.FormatError with the count of packets before it; from a file,
// a reader or a merge of several.
func TestPartialWarningsTyped(t *testing.T) {
	whole := udpPcap(t, 10)
	cut := whole[:len(whole)-10] // the last record loses 10 bytes
	// A record header whose captured length exceeds its original length.
	bad := binary.LittleEndian.AppendUint32(nil, 1_700_000_001)
	bad = binary.LittleEndian.AppendUint32(bad, 0)
	bad = binary.LittleEndian.AppendUint32(bad, 100)
	bad = binary.LittleEndian.AppendUint32(bad, 50)
	damaged := append(append([]byte(nil), whole...), append(bad, make([]byte, 100)...)...)
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cutName, badName, wholeName := write("cut.pcap", cut), write("damaged.pcap", damaged), write("whole.pcap", whole)

	check := func(t *testing.T, w error, name string, truncated bool) {
		t.Helper()
		var te *capture.TruncatedError
		var fe *capture.FormatError
		switch {
		case w == nil:
			t.Fatal("no warning")
		case truncated && !errors.As(w, &te):
			t.Fatalf("warning %T %v is not a *capture.TruncatedError", w, w)
		case truncated && (te.File != name || te.Packets != 9 || te.Offset != int64(len(whole)-(len(whole)-24)/10)):
			t.Errorf("truncated at %s offset %d after %d packets", te.File, te.Offset, te.Packets)
		case truncated && !errors.Is(w, capture.ErrTruncated):
			t.Error("errors.Is(ErrTruncated) fails")
		case !truncated && !errors.As(w, &fe):
			t.Fatalf("warning %T %v does not wrap a *capture.FormatError", w, w)
		case !truncated && (fe.File != name || fe.Offset != int64(len(whole)) || !strings.HasSuffix(w.Error(), "(analysed the 10 packets before it)")):
			t.Errorf("damage %v at %s offset %d", w, fe.File, fe.Offset)
		}
	}
	for _, c := range []struct {
		name      string
		file      string
		truncated bool
	}{{"cut short", cutName, true}, {"damaged", badName, false}} {
		t.Run(c.name, func(t *testing.T) {
			e, _ := newTestEngine(t, Config{})
			w, err := e.ReadFile(context.Background(), c.file, nil)
			if err != nil {
				t.Fatal(err)
			}
			check(t, w, c.file, c.truncated)

			f, err := os.Open(c.file)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			e, _ = newTestEngine(t, Config{})
			w, err = e.ReadFrom(context.Background(), c.file, f, nil)
			if err != nil {
				t.Fatal(err)
			}
			check(t, w, c.file, c.truncated)

			e, _ = newTestEngine(t, Config{})
			res, _ := e.ReadMerged(context.Background(), []Input{{Name: wholeName}, {Name: c.file}}, nil)
			if res[0].Warning != nil || res[0].Err != nil || res[1].Err != nil {
				t.Fatalf("merged: %+v", res)
			}
			check(t, res[1].Warning, c.file, c.truncated)
		})
	}
	e, _ := newTestEngine(t, Config{})
	if w, err := e.ReadFile(context.Background(), wholeName, nil); w != nil || err != nil {
		t.Errorf("a whole file: warning %v, error %v", w, err)
	}
}
