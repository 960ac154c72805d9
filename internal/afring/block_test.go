package afring

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"
)

// testPacket is one packet to lay out in a crafted block.
type testPacket struct {
	data       []byte
	wire       int
	sec, nsec  uint32
	vlan       bool
	tci, tpid  uint16
	mac        int // 0: the kernel's usual 82 (a 48-byte header, a 20-byte address, aligned)
	nextOffset int // 0: computed
}

// buildBlock lays packets out as the kernel does in a TPACKET_V3 block.
func buildBlock(size int, seq uint64, pkts []testPacket) []byte {
	ne := binary.NativeEndian
	blk := make([]byte, size)
	ne.PutUint32(blk[blockStatusOff:], 1)
	ne.PutUint32(blk[blockNumOff:], uint32(len(pkts)))
	ne.PutUint32(blk[blockFirstOff:], BlockHeaderLen)
	ne.PutUint64(blk[blockSeqOff:], seq)
	off := BlockHeaderLen
	for i, p := range pkts {
		mac := p.mac
		if mac == 0 {
			mac = 82
		}
		h := blk[off:]
		ne.PutUint32(h[pktSecOff:], p.sec)
		ne.PutUint32(h[pktNsecOff:], p.nsec)
		ne.PutUint32(h[pktSnapOff:], uint32(len(p.data)))
		wire := p.wire
		if wire == 0 {
			wire = len(p.data)
		}
		ne.PutUint32(h[pktLenOff:], uint32(wire))
		status := uint32(1)
		if p.vlan {
			status |= statusVLANValid
			ne.PutUint32(h[pktVLANTCIOff:], uint32(p.tci))
			if p.tpid != 0 {
				status |= statusVLANTPIDValid
				ne.PutUint16(h[pktVLANTPID:], p.tpid)
			}
		}
		ne.PutUint32(h[pktStatusOff:], status)
		ne.PutUint16(h[pktMacOff:], uint16(mac))
		copy(h[mac:], p.data)
		next := (mac + len(p.data) + 15) &^ 15
		if p.nextOffset != 0 {
			next = p.nextOffset
		}
		if i < len(pkts)-1 {
			ne.PutUint32(h[pktNextOff:], uint32(next))
		}
		off += next
	}
	ne.PutUint32(blk[blockLenOff:], uint32(off))
	return blk
}

func frame(n int, fill byte) []byte {
	f := make([]byte, n)
	for i := range f {
		f[i] = fill + byte(i)
	}
	return f
}

func walk(blk []byte, ether bool) ([]Packet, error) {
	var w Walker
	w.Reset(blk, ether)
	var out []Packet
	var p Packet
	for w.Next(&p) {
		p.Data = bytes.Clone(p.Data)
		out = append(out, p)
	}
	return out, w.Err()
}

func TestWalker(t *testing.T) {
	eth := frame(60, 1)
	tagged := append(append(append([]byte{}, eth[:12]...), 0x81, 0x00, 0x20, 0x07), eth[12:]...)
	qinq := append(append(append([]byte{}, eth[:12]...), 0x88, 0xa8, 0x00, 0x05), eth[12:]...)
	for _, tc := range []struct {
		name  string
		blk   []byte
		ether bool
		want  []Packet
		err   string
	}{
		{
			name: "two packets",
			blk: buildBlock(4096, 7, []testPacket{
				{data: eth, sec: 1, nsec: 2},
				{data: frame(1500, 9), wire: 9000, sec: 3, nsec: 999999999},
			}),
			ether: true,
			want: []Packet{
				{Data: eth, TS: 1e9 + 2, WireLen: 60},
				{Data: frame(1500, 9), TS: 3e9 + 999999999, WireLen: 9000},
			},
		},
		{
			name:  "empty block (retired by its timeout)",
			blk:   buildBlock(4096, 1, nil),
			ether: true,
		},
		{
			name:  "VLAN tag put back",
			blk:   buildBlock(4096, 1, []testPacket{{data: eth, vlan: true, tci: 0x2007}}),
			ether: true,
			want:  []Packet{{Data: tagged, WireLen: 64}},
		},
		{
			name:  "802.1ad tag put back with its TPID",
			blk:   buildBlock(4096, 1, []testPacket{{data: eth, vlan: true, tci: 5, tpid: 0x88a8}}),
			ether: true,
			want:  []Packet{{Data: qinq, WireLen: 64}},
		},
		{
			name: "cooked packets keep no tag",
			blk:  buildBlock(4096, 1, []testPacket{{data: eth, vlan: true, tci: 0x2007}}),
			want: []Packet{{Data: eth, WireLen: 60}},
		},
		{
			name:  "no room for the tag: the frame as captured",
			blk:   buildBlock(4096, 1, []testPacket{{data: eth, vlan: true, tci: 1, mac: 48}}),
			ether: true,
			want:  []Packet{{Data: eth, WireLen: 60}},
		},
		{
			name: "block length beyond the block",
			blk: func() []byte {
				b := buildBlock(4096, 3, []testPacket{{data: eth}})
				binary.NativeEndian.PutUint32(b[blockLenOff:], 8192)
				return b
			}(),
			err: "ring block 3, offset 20: block length 8192 exceeds the block size 4096",
		},
		{
			name: "more packets than fit",
			blk: func() []byte {
				b := buildBlock(4096, 3, []testPacket{{data: eth}})
				binary.NativeEndian.PutUint32(b[blockNumOff:], 1000)
				return b
			}(),
			err: "offset 12: 1000 packets cannot fit",
		},
		{
			name: "first packet inside the header",
			blk: func() []byte {
				b := buildBlock(4096, 3, []testPacket{{data: eth}})
				binary.NativeEndian.PutUint32(b[blockFirstOff:], 8)
				return b
			}(),
			err: "offset 16: first packet at offset 8",
		},
		{
			name: "data past the block",
			blk: func() []byte {
				b := buildBlock(4096, 4, []testPacket{{data: eth}})
				binary.NativeEndian.PutUint32(b[BlockHeaderLen+pktSnapOff:], 5000)
				return b
			}(),
			err: "ring block 4, offset 48: packet data (offset 82, 5000 bytes) runs past",
		},
		{
			name: "data over the header",
			blk: func() []byte {
				b := buildBlock(4096, 4, []testPacket{{data: eth}})
				binary.NativeEndian.PutUint16(b[BlockHeaderLen+pktMacOff:], 20)
				return b
			}(),
			err: "packet data (offset 20, 60 bytes)",
		},
		{
			name: "next offset zero: the first packet, then stop",
			blk: func() []byte {
				b := buildBlock(4096, 5, []testPacket{{data: eth}, {data: eth}})
				binary.NativeEndian.PutUint32(b[BlockHeaderLen+pktNextOff:], 0)
				return b
			}(),
			want: []Packet{{Data: eth, WireLen: 60}},
			err:  "ring block 5, offset 48: next packet 0 bytes on",
		},
		{
			name: "next header past the block",
			blk: func() []byte {
				b := buildBlock(4096, 6, []testPacket{{data: eth}, {data: eth}})
				used := int(binary.NativeEndian.Uint32(b[blockLenOff:]))
				binary.NativeEndian.PutUint32(b[BlockHeaderLen+pktNextOff:], uint32(used-BlockHeaderLen-8))
				return b
			}(),
			want: []Packet{{Data: eth, WireLen: 60}},
			err:  "offset 328: packet header runs past the block's 336 bytes",
		},
		{
			name: "shorter than a block header",
			blk:  make([]byte, 20),
			err:  "ring block of 20 bytes is shorter than its 48-byte header",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := walk(tc.blk, tc.ether)
			if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
				t.Fatalf("error %v, want %q", err, tc.err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("%d packets, want %d", len(got), len(tc.want))
			}
			for i := range got {
				if !bytes.Equal(got[i].Data, tc.want[i].Data) || got[i].TS != tc.want[i].TS || got[i].WireLen != tc.want[i].WireLen {
					t.Errorf("packet %d: % x at %d, %d on the wire; want % x at %d, %d", i, got[i].Data, got[i].TS, got[i].WireLen, tc.want[i].Data, tc.want[i].TS, tc.want[i].WireLen)
				}
			}
		})
	}
}

// TestWalkerAllocs checks the walk allocates nothing, VLAN tags included.
func TestWalkerAllocs(t *testing.T) {
	pkts := make([]testPacket, 20)
	for i := range pkts {
		pkts[i] = testPacket{data: frame(100+i, byte(i)), vlan: i%2 == 0, tci: uint16(i)}
	}
	blk := buildBlock(1<<16, 1, pkts)
	orig := bytes.Clone(blk)
	var w Walker
	var p Packet
	n := 0
	allocs := testing.AllocsPerRun(100, func() {
		copy(blk, orig)
		w.Reset(blk, true)
		for w.Next(&p) {
			n++
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations a block", allocs)
	}
	if w.Err() != nil || n == 0 {
		t.Errorf("walk: %v after %d packets", w.Err(), n)
	}
}

// FuzzWalker walks arbitrary blocks: it must stay inside the block, end,
// and return packets that lie within it.
func FuzzWalker(f *testing.F) {
	eth := frame(60, 1)
	f.Add(buildBlock(4096, 1, []testPacket{{data: eth}, {data: frame(1000, 3), vlan: true, tci: 9}}), true)
	f.Add(buildBlock(512, 2, []testPacket{{data: eth, vlan: true, tpid: 0x88a8}}), false)
	f.Add(buildBlock(4096, 3, []testPacket{{data: eth, nextOffset: 48}, {data: eth, mac: 52}}), true)
	f.Add(make([]byte, 48), true)
	f.Fuzz(func(t *testing.T, blk []byte, ether bool) {
		var w Walker
		w.Reset(blk, ether)
		var p Packet
		n := 0
		for w.Next(&p) {
			n++
			if n > len(blk)/PacketHeaderLen {
				t.Fatalf("%d packets from %d bytes", n, len(blk))
			}
			if len(p.Data) > 0 && !inside(blk, p.Data) {
				t.Fatalf("packet data outside the block")
			}
			if p.WireLen < len(p.Data) {
				t.Fatalf("wire length %d under the captured %d", p.WireLen, len(p.Data))
			}
		}
		if n > w.Count() {
			t.Fatalf("%d packets walked, the block holds %d", n, w.Count())
		}
	})
}

// inside reports whether b is a subslice of blk.
func inside(blk, b []byte) bool {
	if len(blk) == 0 {
		return false
	}
	for i := 0; i+len(b) <= len(blk); i++ {
		if &blk[i] == &b[0] {
			return true
		}
	}
	return false
}
