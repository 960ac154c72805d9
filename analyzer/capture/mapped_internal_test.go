package capture

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
)

// A packet's window is held until the next call to Next, also for the
// last packet starting in a window: releasing it earlier hands its pages
// back while the caller still reads them (they fault in again, and stay).
func TestMappedWindowHeldUntilNext(t *testing.T) {
	var b bytes.Buffer
	hdr := make([]byte, 24)
	binary.LittleEndian.PutUint32(hdr[0:], 0xa1b2c3d4)
	binary.LittleEndian.PutUint16(hdr[4:], 2)
	binary.LittleEndian.PutUint16(hdr[6:], 4)
	binary.LittleEndian.PutUint32(hdr[16:], 65535)
	binary.LittleEndian.PutUint32(hdr[20:], 1)
	b.Write(hdr)
	rec := make([]byte, 16+1000)
	binary.LittleEndian.PutUint32(rec[8:], 1000)
	binary.LittleEndian.PutUint32(rec[12:], 1000)
	for b.Len() < 3*mapWindow {
		b.Write(rec)
	}
	name := filepath.Join(t.TempDir(), "w.pcap")
	if err := os.WriteFile(name, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if !f.Mapped() {
		t.Skip("files are not mapped on this system")
	}
	var p Packet
	windows := 0
	var last *Chunk
	for f.Next(&p) == nil {
		if p.Chunk != last {
			windows++
			last = p.Chunk
		}
		if p.Chunk.refs.Load() < 1 {
			t.Fatalf("packet %d: its window was let go before the next call to Next", f.Packets())
		}
	}
	if windows < 3 {
		t.Errorf("%d windows", windows)
	}
}
