package capture_test

import (
	"bytes"
	"io"
	"os"
	"strconv"
	"testing"

	"orchard/capture"
	"orchard/internal/capgen"
)

// TestPcapOver4GiB reads a sparse pcap of more than 4 GiB (mapped): every
// record arrives with its frame, offsets count past 4 GiB, and offsets
// into a packet's chunk stay small (they go into 32-bit batch entries).
// Reading 4 GiB of holes costs about 20 s of page faults, so it runs by hand
// (ORCHARD_BIG_TESTS=1); the pcapng test of the same reader skips its
// large region and runs always.
func TestPcapOver4GiB(t *testing.T) {
	if os.Getenv("ORCHARD_BIG_TESTS") == "" {
		t.Skip("set ORCHARD_BIG_TESTS=1 to read a 4 GiB sparse pcap (20 s)")
	}
	fr := frames(8)
	path, n := capgen.TempSparsePcap(t, 4<<30+5<<20, t0, fr)
	f, err := capture.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var p capture.Packet
	got, maxOff := 0, 0
	for {
		err := f.Next(&p)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("packet %d: %v", got, err)
		}
		want := fr[got%len(fr)]
		if p.CapLen != capgen.SparseRecord-16 || !bytes.Equal(p.Data[:len(want)], want) {
			t.Fatalf("packet %d at offset %d: %d bytes, frame differs", got, f.Offset(), p.CapLen)
		}
		if p.Chunk != nil {
			if !bytes.Equal(p.Chunk.Bytes()[p.ChunkOff:p.ChunkOff+len(want)], want) {
				t.Fatalf("packet %d: its chunk holds other bytes at %d", got, p.ChunkOff)
			}
			maxOff = max(maxOff, p.ChunkOff)
		}
		got++
	}
	if got != n || f.Offset() != 24+int64(n)*capgen.SparseRecord || f.Offset() <= 4<<30 {
		t.Errorf("%d packets of %d, offset %d", got, n, f.Offset())
	}
	if f.Mapped() && maxOff > 8<<20 {
		t.Errorf("offsets into chunks reach %d", maxOff)
	}
}

// TestPcapNGOver4GiB reads a pcapng file whose packets lie past 4 GiB
// beyond a skipped region: mapped, read in place, offsets past 4 GiB,
// and offsets into chunks small.
func TestPcapNGOver4GiB(t *testing.T) {
	fr := frames(8)
	path := capgen.TempSparsePcapNG(t, 4<<30+12345*4, t0, fr[:2], fr)
	f, err := capture.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := readAll(t, f)
	if err != nil || len(got) != 10 {
		t.Fatalf("%d packets, %v", len(got), err)
	}
	for i, r := range got {
		if !bytes.Equal(r.data, append(fr[:2:2], fr...)[i]) {
			t.Errorf("packet %d differs", i)
		}
	}
	if !f.Mapped() && strconv.IntSize == 64 || f.Offset() < 4<<30 {
		t.Errorf("mapped %v, offset %d", f.Mapped(), f.Offset())
	}
}
