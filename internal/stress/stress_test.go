package stress

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"testing"

	"orchard/capture"
)

// TestPcapKinds writes small versions of the pcap inputs and reads them
// back: every frame whole, as many as the kind promises.
func TestPcapKinds(t *testing.T) {
	for _, c := range []struct {
		kind    string
		spec    Spec
		packets func(n int64) bool
	}{
		{"syn", Spec{N: 500}, func(n int64) bool { return n == 500 }},
		{"quic", Spec{N: 50}, func(n int64) bool { return n == 50 }},
		{"dns", Spec{N: 300}, func(n int64) bool { return n == 600 }},
		// A handshake of at least 6 packets a flow, then a round of 2.
		{"long", Spec{N: 40}, func(n int64) bool { return n >= 40*8 }},
		{"big", Spec{N: 10, Bytes: 2 << 20}, func(n int64) bool { return n > 1000 }},
	} {
		t.Run(c.kind, func(t *testing.T) {
			var buf bytes.Buffer
			if err := Write(&buf, c.kind, c.spec); err != nil {
				t.Fatal(err)
			}
			size := buf.Len()
			f, err := capture.OpenReader(c.kind, &buf)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			var p capture.Packet
			for {
				err := f.Next(&p)
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				if p.CapLen != p.WireLen || len(p.Data) < 54 {
					t.Fatalf("packet %d: %d of %d bytes", f.Packets(), p.CapLen, p.WireLen)
				}
			}
			if !c.packets(f.Packets()) {
				t.Errorf("%d packets", f.Packets())
			}
			if c.spec.Bytes > 0 && (int64(size) < c.spec.Bytes || int64(size) > c.spec.Bytes+64<<10) {
				t.Errorf("%d bytes, want about %d", size, c.spec.Bytes)
			}
		})
	}
}

// TestPcapngBombs walks the pcapng inputs block by block and checks what
// makes each a bomb: the count and type of blocks, and the huge packet.
func TestPcapngBombs(t *testing.T) {
	for _, c := range []struct {
		kind string
		spec Spec
		want map[uint32]int // blocks by type
		huge uint32         // length of the largest block, at least
	}{
		{"ng-skip", Spec{N: 4100, Bytes: 3 << 20}, map[uint32]int{blockSHB: 1, blockIDB: 1, blockISB: 4100, blockEPB: 3}, 3 << 20},
		{"ng-big", Spec{N: 1, Bytes: 2 << 20}, map[uint32]int{blockSHB: 1, blockIDB: 1, blockCustom: 1, blockEPB: 3}, 2 << 20},
		{"ng-idb", Spec{N: 5000}, map[uint32]int{blockSHB: 1, blockIDB: 5000, blockEPB: 1}, 0},
		{"ng-names", Spec{N: 2500}, map[uint32]int{blockSHB: 1, blockIDB: 1, blockNRB: 3, blockEPB: 1}, 0},
	} {
		t.Run(c.kind, func(t *testing.T) {
			var buf bytes.Buffer
			if err := Write(&buf, c.kind, c.spec); err != nil {
				t.Fatal(err)
			}
			b := buf.Bytes()
			got := map[uint32]int{}
			var largest uint32
			records := 0
			for off := 0; off < len(b); {
				if off+12 > len(b) {
					t.Fatalf("block at %d cut short", off)
				}
				typ, n := binary.LittleEndian.Uint32(b[off:]), binary.LittleEndian.Uint32(b[off+4:])
				if n%4 != 0 || n < 12 || off+int(n) > len(b) || binary.LittleEndian.Uint32(b[off+int(n)-4:]) != n {
					t.Fatalf("block at %d: bad length %d", off, n)
				}
				if typ == blockNRB {
					for r := off + 8; r+4 <= off+int(n)-4; {
						rt, rl := binary.LittleEndian.Uint16(b[r:]), int(binary.LittleEndian.Uint16(b[r+2:]))
						if rt == 0 {
							break
						}
						records++
						r += 4 + (rl+3)&^3
					}
				}
				got[typ]++
				largest = max(largest, n)
				off += int(n)
			}
			for typ, n := range c.want {
				if got[typ] != n {
					t.Errorf("%d blocks of type %#x, want %d", got[typ], typ, n)
				}
			}
			if largest < c.huge {
				t.Errorf("largest block %d bytes, want at least %d", largest, c.huge)
			}
			if c.kind == "ng-names" && records != c.spec.N {
				t.Errorf("%d name records, want %d", records, c.spec.N)
			}
		})
	}
}
