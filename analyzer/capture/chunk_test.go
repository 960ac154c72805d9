package capture_test

import (
	"bytes"
	"testing"

	"orchard/analyzer/capture"
)

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
	var p capture.Packet
	type held struct {
		data []byte
		c    *capture.Chunk
	}
	var keep []held
	seen := map[*capture.Chunk]bool{}
	for i := 0; f.Next(&p) == nil; i++ {
		if p.Chunk == nil {
			t.Fatal("pcap packet without a chunk")
		}
		seen[p.Chunk] = true
		if &p.Chunk.Bytes()[p.ChunkOff] != &p.Data[0] {
			t.Fatalf("packet %d: Data is not at ChunkOff", i)
		}
		if i%3 == 0 { // hold every third packet
			p.Chunk.Retain()
			keep = append(keep, held{p.Data, p.Chunk})
		}
	}
	for j, h := range keep {
		if !bytes.Equal(h.data, fr[3*j]) {
			t.Fatalf("held packet %d changed", 3*j)
		}
		h.c.Release()
	}
	if len(seen) < 8 {
		t.Errorf("%d chunks for %d bytes", len(seen), len(raw))
	}

	// Nobody holding: a second file's chunks come round again.
	f2 := openBytes(t, raw)
	defer f2.Close()
	seen = map[*capture.Chunk]bool{}
	for f2.Next(&p) == nil {
		seen[p.Chunk] = true
	}
	if len(seen) > 3 {
		t.Errorf("%d distinct chunks when none is held, want them reused", len(seen))
	}
}
