package analyzer

import (
	"bytes"
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"

	"orchard/internal/capgen"
)

// A mapped capture that shrinks while it is read gives an error naming
// the file, not a crash, with one worker or several; the packets before
// the damage are analysed.
func TestReadFileShrinking(t *testing.T) {
	var buf bytes.Buffer
	w := capgen.NewPcap(&buf, layers.LinkTypeEthernet)
	mac := [6]byte{2, 0, 0, 0, 0, 1}
	for i := 0; i < 40000; i++ {
		fr := capgen.UDP{
			Src: netip.MustParseAddr("192.0.2.7"), Dst: netip.MustParseAddr("198.51.100.9"),
			SrcPort: uint16(1024 + i%5000), DstPort: 9999, Payload: make([]byte, 40),
		}.Ethernet(mac, mac)
		if err := w.Write(time.Unix(1_700_000_000, int64(i)*1000), fr, 0); err != nil {
			t.Fatal(err)
		}
	}
	for _, workers := range []int{1, 2} {
		name := filepath.Join(t.TempDir(), "shrinking.pcap")
		if err := os.WriteFile(name, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		e, _ := newTestEngine(t, Config{Workers: workers})
		calls := 0
		_, err := e.ReadFile(context.Background(), name, func(string, int64, int64) {
			if calls++; calls == 2 {
				if err := os.Truncate(name, 200_000); err != nil {
					t.Fatal(err)
				}
			}
		})
		if err == nil || !strings.Contains(err.Error(), name) || !strings.Contains(err.Error(), "changed while being read (reading had reached offset ") || !strings.Contains(err.Error(), "it is now 200000 bytes") {
			t.Fatalf("workers=%d: err %v, want the file named as changed", workers, err)
		}
		if rep := e.Finish(); rep.Capture.Packets < 16384 {
			t.Errorf("workers=%d: %d packets analysed before the damage", workers, rep.Capture.Packets)
		}
	}
}
