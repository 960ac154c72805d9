package capture

import (
	"bufio"
	"encoding/binary"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// openSynthetic writes a pcap file of at least size bytes of records with
// n-byte frames into a temporary folder and opens it; it skips the test
// where files are not mapped.
func openSynthetic(t *testing.T, n, size int) *File {
	t.Helper()
	name := filepath.Join(t.TempDir(), "synthetic.pcap")
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
	rec := make([]byte, 16+n)
	binary.LittleEndian.PutUint32(rec[8:], uint32(n))
	binary.LittleEndian.PutUint32(rec[12:], uint32(n))
	for written := len(hdr); written < size; written += len(rec) {
		w.Write(rec)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := fh.Close(); err != nil {
		t.Fatal(err)
	}
	f, err := Open(name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	if !f.Mapped() {
		t.Skip("files are not mapped on this system")
	}
	return f
}

// A packet's window is held until the next call to Next, also for the
// last packet starting in a window: releasing it earlier hands its pages
// back while the caller still reads them (they fault in again, and stay).
func TestMappedWindowHeldUntilNext(t *testing.T) {
	f := openSynthetic(t, 1000, 3*mapWindow)
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
	const size = 128 << 20
	f := openSynthetic(t, 1450, size)
	base, peak := rssFile(), 0
	var p Packet
	var sum byte
	for i := 0; f.Next(&p) == nil; i++ {
		sum += p.Data[len(p.Data)-1] // read the last byte: the whole packet is touched
		if i%2000 == 0 {
			peak = max(peak, rssFile()-base)
		}
	}
	// The design bound: the window read, the next one, and the four the
	// page goroutine may have queued: 28 MiB.
	if peak > 48<<10 {
		t.Errorf("file pages resident grew by %d KiB reading a %d MiB file (want < 48 MiB)", peak, size>>20)
	}
	t.Logf("peak growth %d KiB (%d)", peak, sum)
}
