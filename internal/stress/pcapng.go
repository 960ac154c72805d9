package stress

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"time"

	"orchard/internal/capgen"
)

// Block types of pcapng.
const (
	blockSHB    = 0x0a0d0d0a
	blockIDB    = 0x00000001
	blockNRB    = 0x00000004
	blockISB    = 0x00000005
	blockEPB    = 0x00000006
	blockCustom = 0x00000bad
)

// ng writes little-endian pcapng blocks.
type ng struct {
	w   *bufio.Writer
	err error
	hdr [28]byte
}

func (n *ng) put(b []byte) {
	if n.err == nil {
		_, n.err = n.w.Write(b)
	}
}

// begin writes the header of a block whose body is size bytes (padding
// excluded); the caller writes the body, then calls end.
func (n *ng) begin(typ uint32, size int) {
	binary.LittleEndian.PutUint32(n.hdr[0:], typ)
	binary.LittleEndian.PutUint32(n.hdr[4:], uint32(12+pad4(size)))
	n.put(n.hdr[:8])
}

func (n *ng) end(size int) {
	var z [4]byte
	n.put(z[:pad4(size)-size])
	binary.LittleEndian.PutUint32(n.hdr[0:], uint32(12+pad4(size)))
	n.put(n.hdr[:4])
}

func (n *ng) block(typ uint32, body []byte) {
	n.begin(typ, len(body))
	n.put(body)
	n.end(len(body))
}

func pad4(n int) int { return (n + 3) &^ 3 }

func (n *ng) section() {
	b := make([]byte, 16)
	binary.LittleEndian.PutUint32(b[0:], 0x1a2b3c4d)
	binary.LittleEndian.PutUint16(b[4:], 1)
	binary.LittleEndian.PutUint64(b[8:], ^uint64(0))
	n.block(blockSHB, b)
}

func (n *ng) iface() {
	b := make([]byte, 8)
	binary.LittleEndian.PutUint16(b[0:], 1) // Ethernet
	binary.LittleEndian.PutUint32(b[4:], 262144)
	n.block(blockIDB, b)
}

// packet writes an Enhanced Packet Block on interface 0.
func (n *ng) packet(ts time.Time, frame []byte) {
	n.epbHeader(ts, len(frame))
	n.put(frame)
	n.end(20 + len(frame))
}

func (n *ng) epbHeader(ts time.Time, caplen int) {
	n.begin(blockEPB, 20+caplen)
	var b [20]byte
	us := uint64(ts.UnixMicro())
	binary.LittleEndian.PutUint32(b[4:], uint32(us>>32))
	binary.LittleEndian.PutUint32(b[8:], uint32(us))
	binary.LittleEndian.PutUint32(b[12:], uint32(caplen))
	binary.LittleEndian.PutUint32(b[16:], uint32(caplen))
	n.put(b[:])
}

// hugePacket writes an Enhanced Packet Block of size bytes of frame (a
// SYN at its start, zeros after): the length check of a reader is all
// that stands between it and a buffer of that size.
func (n *ng) hugePacket(size int64) {
	if size > 1<<32-64 {
		size = 1<<32 - 64
	}
	n.epbHeader(Start.Add(time.Second), int(size))
	syn := samplePacket()
	zero := make([]byte, 64<<10)
	left := size
	k := min(int64(len(syn)), left)
	n.put(syn[:k])
	left -= k
	for left > 0 && n.err == nil {
		k := min(int64(len(zero)), left)
		n.put(zero[:k])
		left -= k
	}
	n.end(20 + int(size))
}

func samplePacket() []byte {
	s := capgen.TCP{Src: clientAddr(1), Dst: appleAddr(1), SrcPort: 50000, DstPort: 443, Flags: capgen.SYN, Seq: 1, TTL: 64}
	return s.Ethernet(clientMAC, routerMAC)
}

// writeNGSkip writes a section with one interface, s.N interface
// statistics blocks (non-packet blocks a reader skips), then an Enhanced
// Packet Block of s.Bytes and a normal packet.
func writeNGSkip(w *bufio.Writer, s Spec) error {
	n := &ng{w: w}
	n.section()
	n.iface()
	n.packet(Start, samplePacket())
	isb := make([]byte, 12)
	for i := 0; i < s.N && n.err == nil; i++ {
		binary.LittleEndian.PutUint32(isb[8:], uint32(i))
		n.block(blockISB, isb)
	}
	n.hugePacket(s.Bytes)
	n.packet(Start.Add(2*time.Second), samplePacket())
	return n.err
}

// writeNGBigBlock writes a section with one interface, a custom block of
// 1.5 MiB (s.N of them), then an Enhanced Packet Block of s.Bytes.
func writeNGBigBlock(w *bufio.Writer, s Spec) error {
	n := &ng{w: w}
	n.section()
	n.iface()
	n.packet(Start, samplePacket())
	const size = 3 << 19
	body := make([]byte, size)
	binary.LittleEndian.PutUint32(body, 32473) // private enterprise number
	for i := 0; i < s.N; i++ {
		n.block(blockCustom, body)
	}
	n.hugePacket(s.Bytes)
	n.packet(Start.Add(2*time.Second), samplePacket())
	return n.err
}

// writeNGIDB writes a section with s.N interface description blocks, then
// a packet on the first interface.
func writeNGIDB(w *bufio.Writer, s Spec) error {
	n := &ng{w: w}
	n.section()
	for i := 0; i < s.N && n.err == nil; i++ {
		n.iface()
	}
	n.packet(Start, samplePacket())
	return n.err
}

// writeNGNames writes a section with one interface and s.N IPv4
// name-resolution records, 1000 to a block, then a packet.
func writeNGNames(w *bufio.Writer, s Spec) error {
	n := &ng{w: w}
	n.section()
	n.iface()
	var body []byte
	flush := func() {
		if len(body) > 0 {
			body = append(body, 0, 0, 0, 0) // nrb_record_end
			n.block(blockNRB, body)
			body = body[:0]
		}
	}
	for i := 0; i < s.N && n.err == nil; i++ {
		name := fmt.Sprintf("h%d.example.com", i)
		rl := 4 + len(name) + 1
		body = binary.LittleEndian.AppendUint16(body, 1) // nrb_record_ipv4
		body = binary.LittleEndian.AppendUint16(body, uint16(rl))
		a := clientAddr(i).As4()
		body = append(body, a[:]...)
		body = append(body, name...)
		body = append(body, 0)
		for len(body)%4 != 0 {
			body = append(body, 0)
		}
		if (i+1)%1000 == 0 {
			flush()
		}
	}
	flush()
	n.packet(Start, samplePacket())
	return n.err
}
