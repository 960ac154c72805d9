package capture_test

import (
	"bytes"
	"testing"

	"orchard/capture"
)

// readHolding reads every packet of f, holding the chunk of every k-th
// (k 0: none), checks that Data lies at ChunkOff, and returns the held
// packets and the distinct chunks seen.
func readHolding(t *testing.T, f *capture.File, k int) ([][]byte, []*capture.Chunk, map[*capture.Chunk]bool) {
	t.Helper()
	var p capture.Packet
	var data [][]byte
	var held []*capture.Chunk
	seen := map[*capture.Chunk]bool{}
	for i := 0; f.Next(&p) == nil; i++ {
		if p.Chunk == nil || &p.Chunk.Bytes()[p.ChunkOff] != &p.Data[0] {
			t.Fatalf("packet %d: no chunk, or Data not at ChunkOff", i)
		}
		seen[p.Chunk] = true
		if k > 0 && i%k == 0 {
			p.Chunk.Retain()
			data, held = append(data, p.Data), append(held, p.Chunk)
		}
	}
	return data, held, seen
}

// checkHeld checks that held packets kept their bytes (frames fr, every
// k-th held), then lets go of them.
func checkHeld(t *testing.T, data [][]byte, held []*capture.Chunk, fr [][]byte, k int) {
	t.Helper()
	for j, d := range data {
		if !bytes.Equal(d, fr[k*j]) {
			t.Fatalf("held packet %d changed", k*j)
		}
		held[j].Release()
	}
}

// Packets of a pcap file keep their bytes for as long as their chunk is
// held, across many later reads and chunks; chunks nobody holds are reused.
func TestChunksHeld(t *testing.T) {
	var fr [][]byte
	for len(fr) < 12000 {
		fr = append(fr, frames(200)...) // about 8 MB: several chunks
	}
	raw := pcapBytes(t, false, fr)
	f := openBytes(t, raw)
	defer f.Close()
	data, held, seen := readHolding(t, f, 3)
	checkHeld(t, data, held, fr, 3)
	if len(seen) < 8 {
		t.Errorf("%d chunks for %d bytes", len(seen), len(raw))
	}

	// Nobody holding: a second file's chunks come round again.
	f2 := openBytes(t, raw)
	defer f2.Close()
	if _, _, seen := readHolding(t, f2, 0); len(seen) > 3 {
		t.Errorf("%d distinct chunks when none is held, want them reused", len(seen))
	}
}
