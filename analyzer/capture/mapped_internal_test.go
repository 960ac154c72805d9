package capture

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"strconv"
	"strings"
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

// rssFile returns the process's resident file-backed memory in KiB
// (Linux), or -1.
func rssFile() int {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "RssFile:" {
			n, _ := strconv.Atoi(f[1])
			return n
		}
	}
	return -1
}

// Reading a large mapped file keeps few of its pages resident: windows go
// back to the kernel once read.
func TestMappedResidentFlat(t *testing.T) {
	if testing.Short() || rssFile() < 0 {
		t.Skip("short, or no /proc/self/status")
	}
	name := filepath.Join(t.TempDir(), "big.pcap")
	fh, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriterSize(fh, 1<<20)
	hdr := make([]byte, 24)
	binary.LittleEndian.PutUint32(hdr[0:], 0xa1b2c3d4)
	binary.LittleEndian.PutUint16(hdr[4:], 2)
	binary.LittleEndian.PutUint16(hdr[6:], 4)
	binary.LittleEndian.PutUint32(hdr[16:], 65535)
	binary.LittleEndian.PutUint32(hdr[20:], 1)
	w.Write(hdr)
	rec := make([]byte, 16+1450)
	binary.LittleEndian.PutUint32(rec[8:], 1450)
	binary.LittleEndian.PutUint32(rec[12:], 1450)
	for n := 24; n < 96<<20; n += len(rec) {
		w.Write(rec)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	fh.Close()
	f, err := Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if !f.Mapped() {
		t.Skip("files are not mapped on this system")
	}
	base, peak := rssFile(), 0
	var p Packet
	var sum byte
	for i := 0; f.Next(&p) == nil; i++ {
		sum += p.Data[len(p.Data)-1] // read the last byte: the whole packet is touched
		if i%2000 == 0 {
			peak = max(peak, rssFile()-base)
		}
	}
	if peak > 32<<10 {
		t.Errorf("file pages resident grew by %d KiB reading a 96 MiB file (want < 32 MiB)", peak)
	}
	t.Logf("peak growth %d KiB (%d)", peak, sum)
}
