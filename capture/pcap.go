package capture

import (
	"encoding/binary"
	"fmt"
	"io"
	"time"

	"github.com/gopacket/gopacket/layers"
)

// Classic pcap magics, as read big-endian from the first 4 bytes.
const (
	pcapMicro     = 0xa1b2c3d4
	pcapNano      = 0xa1b23c4d
	pcapMicroSwap = 0xd4c3b2a1
	pcapNanoSwap  = 0x4d3cb2a1
)

func isPcapMagic(m uint32) bool {
	return m == pcapMicro || m == pcapNano || m == pcapMicroSwap || m == pcapNanoSwap
}

// How a pcap file's record headers order the captured and original
// lengths, as libpcap reads them: files before version 2.3 (and DG/UX's
// 543.0) swapped them; some 2.3 files did and some did not.
const (
	lenInOrder = iota
	lenSwapped
	lenMaybeSwapped // swapped when the "captured" length is the larger
)

// openPcap reads the 24-byte file header h and reads the records after it.
func (f *File) openPcap(h []byte) error {
	m := binary.BigEndian.Uint32(h)
	f.pcapBE = m == pcapMicro || m == pcapNano
	f.tsUnit = 1000
	if m == pcapNano || m == pcapNanoSwap {
		f.tsUnit = 1
	}
	var bo binary.ByteOrder = binary.LittleEndian
	if f.pcapBE {
		bo = binary.BigEndian
	}
	major, minor := bo.Uint16(h[4:6]), bo.Uint16(h[6:8])
	switch {
	case major == 2 && minor < 3, major == 543 && minor == 0:
		f.swapLen = lenSwapped
	case major == 2 && minor == 3:
		f.swapLen = lenMaybeSwapped
	case major == 2 && minor == 4:
		f.swapLen = lenInOrder
	default:
		return &FormatError{File: f.name, Offset: 0, Err: fmt.Errorf("pcap file header: version %d.%d, which libpcap does not read either", major, minor)}
	}
	// The low 16 bits name the link type; the high ones carry the FCS
	// length, which nobody needs here.
	f.linkType = layers.LinkType(bo.Uint32(h[20:24]) & 0xffff)
	// Records are read into chunks from here on, starting with what the
	// read buffer holds.
	if f.mapped != nil {
		f.cr = newMapReader(f.mapped, 24)
		return nil
	}
	if _, err := f.br.Discard(24); err != nil {
		return f.peekErr(0, err)
	}
	rest, _ := f.br.Peek(f.br.Buffered())
	f.cr = newChunkReader(f.out, rest, 24)
	f.br = nil
	return nil
}

// pcapNext reads the next pcap record straight from the read buffer or the
// mapping: the record is checked whole, and Data points into it (no copy).
func (f *File) pcapNext(p *Packet) error {
	rec, wire, err := f.pcapCheck()
	if err != nil {
		f.done = true
		return err
	}
	f.fillPcap(p, rec, wire)
	c, off := f.cr.at()
	p.Chunk, p.ChunkOff = c, off+16
	f.cr.discard(len(rec))
	f.packets++
	return nil
}

// fillPcap fills p from a whole pcap record (header and data) whose
// original length is wire.
func (f *File) fillPcap(p *Packet, rec []byte, wire uint32) {
	p.Data = rec[16:len(rec):len(rec)]
	// The 32-bit fraction times the unit, as libpcap reads it.
	p.Timestamp = time.Unix(int64(f.u32(rec[0:4], f.pcapBE)), int64(f.u32(rec[4:8], f.pcapBE)*f.tsUnit)).UTC()
	p.CapLen = len(rec) - 16
	p.WireLen = intLen(wire)
	p.Iface = 0
	p.LinkType = f.linkType
	p.Proc, p.PID = "", 0
}

// pcapCheck makes sure the next pcap record is whole and sane, and
// returns it (header and data) and its original length.
func (f *File) pcapCheck() ([]byte, uint32, error) {
	start := f.Offset()
	h, err := f.cr.peek(16)
	if len(h) == 0 && err == io.EOF {
		return nil, 0, io.EOF
	}
	if len(h) < 16 {
		return nil, 0, f.peekErr(start, err)
	}
	n, wire, err := f.recordLen(h, start)
	if err != nil {
		return nil, 0, err
	}
	b, err := f.cr.peek(n)
	if len(b) < n {
		return nil, 0, f.peekErr(start, err)
	}
	return b, wire, nil
}

// recordLen checks a pcap record header (at offset start) and returns the
// record's whole length and the packet's original length.
func (f *File) recordLen(h []byte, start int64) (int, uint32, error) {
	caplen := f.u32(h[8:12], f.pcapBE)
	wirelen := f.u32(h[12:16], f.pcapBE)
	if f.swapLen != lenInOrder && (f.swapLen == lenSwapped || caplen > wirelen) {
		caplen, wirelen = wirelen, caplen
	}
	if caplen > MaxCaptureLength {
		return 0, 0, &FormatError{File: f.name, Offset: start, Err: fmt.Errorf("record length %d exceeds the maximum %d", caplen, MaxCaptureLength)}
	}
	if caplen > wirelen {
		return 0, 0, &FormatError{File: f.name, Offset: start, Err: fmt.Errorf("captured length %d exceeds original length %d", caplen, wirelen)}
	}
	return 16 + int(caplen), wirelen, nil
}
