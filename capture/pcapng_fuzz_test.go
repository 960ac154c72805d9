package capture_test

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/gopacket/gopacket/layers"

	"orchard/capture"
	"orchard/internal/capgen"
)

// ngFromOps builds a pcapng file from fuzz input, 4 bytes a block: kind,
// count, mutation, argument. The count repeats the block (up to 8192
// times: block-count mutations), the mutation shifts or breaks its leading
// or trailing length (block-length mutations), so the fuzzer reaches deep
// into well-formed files as well as across hostile lengths.
func ngFromOps(ops []byte) []byte {
	var out []byte
	var bo capgen.Order = le
	fr := frames(4)
	for len(ops) >= 4 {
		kind, count, mut, arg := ops[0], ops[1], ops[2], ops[3]
		ops = ops[4:]
		var blk []byte
		switch kind % 10 {
		case 0, 1:
			bo = le
			if kind%10 == 1 {
				bo = be
			}
			versions := [][2]uint16{{1, 0}, {1, 2}, {2, 0}, {0, 9}}
			v := versions[arg%4]
			blk = capgen.NGSection(bo, v[0], v[1])
		case 2:
			var opts []capgen.NGOption
			if mut&0x80 != 0 {
				opts = append(opts, capgen.NGOption{Code: 9, Value: []byte{mut&0x7f ^ arg&0x80}})
			}
			if mut&0x40 != 0 {
				opts = append(opts, capgen.NGOption{Code: 14, Value: bo.AppendUint64(nil, uint64(arg)<<56)})
			}
			blk = capgen.NGInterface(bo, layers.LinkType(arg%4), uint32(arg)*8, opts...)
		case 3:
			f := fr[arg%4]
			blk = capgen.NGEnhanced(bo, uint32(arg>>6), uint64(arg)<<(mut%64), f, uint32(len(f))+uint32(mut))
		case 4:
			f := fr[arg%4]
			blk = capgen.NGSimple(bo, f, uint32(len(f))-uint32(mut%8))
		case 5:
			f := fr[arg%4]
			blk = capgen.NGEnhanced(bo, uint32(arg>>6)<<16, uint64(arg), f, uint32(len(f)))
			bo.PutUint32(blk, 2) // an obsolete packet block: same layout, 16-bit interface
		case 6:
			blk = capgen.NGNames(bo, int(arg))
		case 7:
			types := []uint32{5, 9, 10, 0xbad, 0x40000bad}
			blk = capgen.NGBlock(bo, types[arg%5], make([]byte, int(arg)*4))
		case 8:
			blk = capgen.NGBlock(bo, 0x80000001, append(bo.AppendUint32(nil, uint32(arg)), 2, 0, 4, 0, 'a', 'p', 's', 'd', 0, 0, 0, 0))
		case 9:
			blk = bo.AppendUint32(nil, uint32(arg)<<24|uint32(mut))
			blk = bo.AppendUint32(blk, uint32(count)<<(arg%32))
		}
		if kind%10 != 9 && len(blk) >= 12 {
			d := uint32(int32(int8(mut)>>2) * 4)
			switch mut & 3 {
			case 1:
				bo.PutUint32(blk[4:], bo.Uint32(blk[4:])+d)
			case 2:
				bo.PutUint32(blk[len(blk)-4:], bo.Uint32(blk[len(blk)-4:])+d)
			case 3:
				if arg&1 != 0 {
					bo.PutUint32(blk[4:], uint32(arg)<<24)
				}
			}
		}
		n := 1 + int(count%4)
		if count >= 0xf0 {
			n = int(count-0xef) * 512
		}
		for i := 0; i < n && len(out) < 4<<20; i++ { // a few MiB: fast runs
			out = append(out, blk...)
		}
	}
	return out
}

func FuzzPcapNGBlocks(f *testing.F) {
	f.Add([]byte{0, 0, 0, 0, 2, 0, 0, 1, 3, 2, 0, 0, 4, 0, 0, 1})
	f.Add([]byte{1, 0, 0, 0, 2, 1, 0x80, 9, 3, 0, 0, 1, 5, 0, 0, 0})
	f.Add([]byte{0, 0, 0, 0, 2, 0, 0, 0, 6, 0xff, 0, 3, 3, 0, 0, 0})          // 8192 name blocks, then a packet
	f.Add([]byte{0, 0, 0, 0, 2, 0xf8, 0, 0, 3, 0, 0, 0})                      // 4608 interfaces
	f.Add([]byte{0, 0, 0, 0, 2, 0, 0, 0, 8, 0, 0, 1, 3, 0, 3, 1, 0, 0, 0, 2}) // huge length, version 2.0
	f.Add([]byte{0, 0, 0, 0, 2, 0, 0, 0, 7, 0, 0, 200, 9, 3, 0x11, 7})
	f.Fuzz(func(t *testing.T, ops []byte) {
		b := ngFromOps(ops)
		c, err := capture.OpenReader("fuzz", bytes.NewReader(b))
		if err != nil {
			if !errors.Is(err, capture.ErrTruncated) && !errors.Is(err, capture.ErrFormat) && !errors.Is(err, capture.ErrNotCapture) {
				t.Fatalf("unexpected open error: %v", err)
			}
			return
		}
		var p capture.Packet
		for {
			err := c.Next(&p)
			if err == io.EOF {
				break
			}
			if err != nil {
				if !errors.Is(err, capture.ErrTruncated) && !errors.Is(err, capture.ErrFormat) {
					t.Fatalf("unexpected error kind: %v", err)
				}
				if c.Next(&p) != io.EOF {
					t.Fatal("Next after error is not io.EOF")
				}
				break
			}
			if len(p.Data) != p.CapLen || p.CapLen > capture.MaxCaptureLength || p.Timestamp.IsZero() {
				t.Fatalf("bad packet: %d/%d bytes at %v", len(p.Data), p.CapLen, p.Timestamp)
			}
			if p.Chunk != nil && !bytes.Equal(p.Chunk.Bytes()[p.ChunkOff:p.ChunkOff+p.CapLen], p.Data) {
				t.Fatal("the packet's chunk holds other bytes")
			}
		}
		if c.Offset() > int64(len(b)) {
			t.Fatalf("offset %d past the %d bytes", c.Offset(), len(b))
		}
	})
}
