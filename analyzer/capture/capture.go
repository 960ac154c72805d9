package capture

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/klauspost/compress/gzip" // the standard library's API, about 1.3x faster to inflate
)

const (
	// MaxCaptureLength is the longest record accepted (libpcap's
	// MAXIMUM_SNAPLEN); longer records are format errors.
	MaxCaptureLength = 262144

	// bufSize is the read buffer over the decompressed stream. Every packet
	// record fits in it, so a record is checked whole before pcapgo reads it.
	bufSize = 1 << 20
	// maxPacketBlock bounds a pcapng packet block: the longest packet plus
	// 64 KiB of options.
	maxPacketBlock = MaxCaptureLength + 64<<10 + 32
	// maxWalk bounds the non-packet pcapng blocks checked ahead per packet.
	maxWalk = 4096
)

// Sentinel errors, matched with errors.Is.
var (
	// ErrNotCapture: the input is neither pcap nor pcapng (nor gzip of them).
	ErrNotCapture = errors.New("not a pcap or pcapng file")
	// ErrTruncated: the input ends inside a record (see TruncatedError).
	ErrTruncated = errors.New("capture file truncated")
	// ErrFormat: a record is malformed (see FormatError).
	ErrFormat = errors.New("malformed capture file")
)

// TruncatedError reports a capture that ends inside a record, as when the
// capturing program was killed. Every whole packet before it was delivered.
type TruncatedError struct {
	File    string
	Offset  int64 // offset of the incomplete record in the decompressed stream
	Packets int64 // packets delivered before it
}

// Error describes the truncation.
func (e *TruncatedError) Error() string {
	return fmt.Sprintf("%s: file ends inside the record at offset %d, after %d packets (capture cut short?)", e.File, e.Offset, e.Packets)
}

// Is reports whether target is ErrTruncated.
func (e *TruncatedError) Is(target error) bool { return target == ErrTruncated }

// FormatError reports a malformed record.
type FormatError struct {
	File   string
	Offset int64 // offset of the bad record in the decompressed stream
	Err    error
}

// Error describes the malformed record.
func (e *FormatError) Error() string {
	return fmt.Sprintf("%s: malformed record at offset %d: %v", e.File, e.Offset, e.Err)
}

// Unwrap returns the underlying error.
func (e *FormatError) Unwrap() error { return e.Err }

// Is reports whether target is ErrFormat.
func (e *FormatError) Is(target error) bool { return target == ErrFormat }

// Packet is one captured frame as read from the file.
type Packet struct {
	Data      []byte    // valid until the next call to Next (see Chunk)
	Timestamp time.Time // from the capture
	CapLen    int
	WireLen   int
	// LinkType is per packet: pcapng files can mix interfaces with
	// different link types.
	LinkType layers.LinkType
	Iface    int // pcapng interface index, 0 for pcap
	// Proc and PID name the process that sent or received the packet, from
	// the Apple process-information blocks `tcpdump -k` writes on macOS
	// ("" and 0 otherwise; PKTAP captures carry theirs in the frame).
	Proc string
	PID  int32
	// Chunk holds Data when it points into one (pcap files), at ChunkOff;
	// nil when Data is only valid until the next call to Next.
	Chunk    *Chunk
	ChunkOff int
}

// countReader counts the bytes read through it. The count may be read
// from another goroutine than the reads (gzip read-ahead).
type countReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// File reads packets from one capture. It is not safe for concurrent use.
type File struct {
	name   string
	closer io.Closer
	size   int64
	in     *countReader // bytes of the underlying file
	out    *countReader // bytes of the decompressed stream
	br     *bufio.Reader
	cr     records  // pcap records, after the file header
	mapped *mapping // the file, when mapped
	gz     *gzip.Reader
	ahead  *readAhead

	pcap     *pcapgo.Reader
	pcapBE   bool
	tsUnit   uint32 // nanoseconds per unit of the timestamp fraction
	linkType layers.LinkType

	ng   *pcapgo.NgReader
	ngBE bool
	// Apple pcapng extensions (tcpdump -k): the section's processes, and
	// the process index of the packet block ngCheck stopped at (-1: none).
	procs   []appleProc
	pktProc int

	packets int64
	done    bool
}

// Open opens a capture file; "-" is standard input.
func Open(name string) (*File, error) {
	if name == "-" {
		return OpenReader(name, os.Stdin)
	}
	fh, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	if f, err := openMappedPcap(name, fh); f != nil || err != nil {
		if err != nil {
			fh.Close()
		}
		return f, err
	}
	f, err := OpenReader(name, fh)
	if err != nil {
		fh.Close()
		return nil, err
	}
	f.closer = fh
	return f, nil
}

// openMappedPcap opens a large pcap file by mapping it; it returns nil
// and no error for anything else, which the caller reads.
func openMappedPcap(name string, fh *os.File) (*File, error) {
	m := openMapped(fh)
	if m == nil {
		return nil, nil
	}
	mm := m.mm
	v := beUint32(mm[:4])
	if v != 0xa1b2c3d4 && v != 0xa1b23c4d && v != 0xd4c3b2a1 && v != 0x4d3cb2a1 {
		m.release()
		return nil, nil
	}
	f := &File{name: name, size: int64(len(mm)), closer: fh, mapped: m}
	f.br = bufio.NewReaderSize(bytes.NewReader(mm[:24]), 64)
	if err := f.openPcap(v == 0xa1b2c3d4 || v == 0xa1b23c4d, v == 0xa1b23c4d || v == 0x4d3cb2a1); err != nil {
		m.release()
		return nil, err
	}
	return f, nil
}

// Mapped reports whether the file is mapped into memory (see Chunk): a
// file that shrinks while mapped faults where its lost pages are read.
func (f *File) Mapped() bool { return f.mapped != nil }

// OpenReader reads a capture from r; name is used in errors. Close does not
// close r. Size is known when r is an *os.File on a regular file.
func OpenReader(name string, r io.Reader) (*File, error) {
	f := &File{name: name, size: -1}
	if fh, ok := r.(*os.File); ok {
		if st, err := fh.Stat(); err == nil && st.Mode().IsRegular() {
			f.size = st.Size()
		}
	}
	f.in = &countReader{r: r}
	raw := bufio.NewReaderSize(f.in, 64<<10)
	head, err := raw.Peek(2)
	if len(head) < 2 && err != nil && err != io.EOF {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	var dec io.Reader = raw
	if len(head) == 2 && head[0] == 0x1f && head[1] == 0x8b {
		gz, err := gzip.NewReader(raw)
		if err != nil {
			return nil, fmt.Errorf("%s: gzip: %w", name, err)
		}
		f.gz = gz
		// Decompress on another core, ahead of the analysis.
		f.ahead = newReadAhead(gz)
		dec = f.ahead
	}
	f.out = &countReader{r: dec}
	f.br = bufio.NewReaderSize(f.out, bufSize)
	magic, err := f.br.Peek(4)
	if len(magic) < 4 {
		if err != nil && err != io.EOF {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if len(magic) == 0 {
			return nil, fmt.Errorf("%s: %w (empty file)", name, ErrNotCapture)
		}
	}
	switch m := beUint32(magic); {
	case len(magic) < 4:
		err = fmt.Errorf("%s: %w (starts with %s)", name, ErrNotCapture, hexBytes(magic))
	case m == 0xa1b2c3d4 || m == 0xa1b23c4d || m == 0xd4c3b2a1 || m == 0x4d3cb2a1:
		err = f.openPcap(m == 0xa1b2c3d4 || m == 0xa1b23c4d, m == 0xa1b23c4d || m == 0x4d3cb2a1)
	case m == 0x0a0d0d0a:
		err = f.openNg()
	default:
		err = fmt.Errorf("%s: %w (starts with %s)", name, ErrNotCapture, hexBytes(magic))
	}
	if err != nil {
		return nil, err
	}
	return f, nil
}

func beUint32(b []byte) uint32 {
	if len(b) < 4 {
		return 0
	}
	return binary.BigEndian.Uint32(b)
}

func hexBytes(b []byte) string {
	var s strings.Builder
	for i, c := range b {
		if i > 0 {
			s.WriteByte(' ')
		}
		fmt.Fprintf(&s, "%02x", c)
	}
	return s.String()
}

func (f *File) openPcap(bigEndian, nanos bool) error {
	f.pcapBE = bigEndian
	f.tsUnit = 1000
	if nanos {
		f.tsUnit = 1
	}
	if h, err := f.br.Peek(24); len(h) < 24 {
		return f.peekErr(0, err)
	}
	r, err := pcapgo.NewReader(f.br)
	if err != nil {
		return &FormatError{File: f.name, Offset: 0, Err: fmt.Errorf("pcap file header: %w", err)}
	}
	f.pcap = r
	f.linkType = r.LinkType()
	// Records are read into chunks from here on, starting with what the
	// read buffer holds.
	if f.mapped != nil {
		f.cr = newMapReader(f.mapped, 24)
	} else {
		rest, _ := f.br.Peek(f.br.Buffered())
		f.cr = newChunkReader(f.out, rest, 24)
	}
	f.br = nil
	return nil
}

func (f *File) openNg() error {
	// Check the section header block before pcapgo reads it.
	if err := f.ngCheck(true); err != nil {
		return err
	}
	r, err := pcapgo.NewNgReader(f.br, pcapgo.NgReaderOptions{WantMixedLinkType: true, SkipUnknownVersion: true})
	if err != nil {
		return f.readErr(0, fmt.Errorf("pcapng section header: %w", err))
	}
	f.ng = r
	return nil
}

// Name returns the name the file was opened with.
func (f *File) Name() string { return f.name }

// Packets returns the number of packets delivered so far.
func (f *File) Packets() int64 { return f.packets }

// Offset returns the bytes consumed of the decompressed stream.
func (f *File) Offset() int64 {
	if f.cr != nil {
		return f.cr.offset()
	}
	return f.out.n.Load() - int64(f.br.Buffered())
}

// InputOffset returns the bytes read from the underlying file (compressed
// bytes for gzip), for a progress bar against Size.
func (f *File) InputOffset() int64 {
	if f.mapped != nil {
		return f.cr.offset()
	}
	return f.in.n.Load()
}

// Size returns the size of the underlying file, or -1 for pipes and stdin.
func (f *File) Size() int64 { return f.size }

// Close releases the file. It does not close standard input or a reader
// given to OpenReader.
func (f *File) Close() error {
	f.done = true
	if f.cr != nil {
		f.cr.close()
		f.cr = nil
	}
	var err error
	switch {
	case f.ahead != nil:
		// The read-ahead goroutine owns the gzip reader, whose Close only
		// reports its error: stop the goroutine instead.
		f.ahead.close()
	case f.gz != nil:
		err = f.gz.Close()
	}
	if f.closer != nil {
		if cerr := f.closer.Close(); err == nil {
			err = cerr
		}
		f.closer = nil
	}
	return err
}

// Next reads the next packet into p. It returns io.EOF at the end of the
// capture. A capture cut short yields one *TruncatedError, any other damage
// one *FormatError, after which Next returns io.EOF.
func (f *File) Next(p *Packet) error {
	if f.done {
		return io.EOF
	}
	if f.ng == nil {
		return f.pcapNext(p)
	}
	start := f.Offset()
	if err := f.ngCheck(false); err != nil {
		f.done = true
		return err
	}
	data, ci, err := f.ng.ZeroCopyReadPacketData()
	if err != nil {
		f.done = true
		return f.readErr(start, err)
	}
	p.Data = data
	p.Timestamp = ci.Timestamp
	p.CapLen = ci.CaptureLength
	p.WireLen = intLen(uint32(ci.Length)) // pcapgo's int(uint32) wraps where int has 32 bits
	p.Iface = ci.InterfaceIndex
	p.Chunk = nil
	p.Proc, p.PID = "", 0
	if i := f.pktProc; i >= 0 && i < len(f.procs) {
		p.Proc, p.PID = f.procs[i].name, f.procs[i].pid
	}
	if iface, ierr := f.ng.Interface(ci.InterfaceIndex); ierr == nil {
		p.LinkType = iface.LinkType
	} else {
		p.LinkType = 0
	}
	f.packets++
	return nil
}

// pcapNext reads the next pcap record straight from the read buffer: the
// record is checked whole, and Data points into the buffer (no copy).
// pcapgo read the file header; records are simple enough to take here.
func (f *File) pcapNext(p *Packet) error {
	rec, err := f.pcapCheck()
	if err != nil {
		f.done = true
		return err
	}
	f.fillPcap(p, rec)
	c, off := f.cr.at()
	p.Chunk, p.ChunkOff = c, off+16
	f.cr.discard(len(rec))
	f.packets++
	return nil
}

// fillPcap fills p from a whole pcap record (header and data).
func (f *File) fillPcap(p *Packet, rec []byte) {
	p.Data = rec[16:len(rec):len(rec)]
	// As pcapgo computes it (32-bit fraction times the unit).
	p.Timestamp = time.Unix(int64(f.u32(rec[0:4], f.pcapBE)), int64(f.u32(rec[4:8], f.pcapBE)*f.tsUnit)).UTC()
	p.CapLen = len(rec) - 16
	p.WireLen = intLen(f.u32(rec[12:16], f.pcapBE))
	p.Iface = 0
	p.LinkType = f.linkType
	p.Proc, p.PID = "", 0
}

// readErr classifies an error met while reading the record at off.
func (f *File) readErr(off int64, err error) error {
	switch {
	case err == nil || err == io.EOF:
		// pcapgo returns io.EOF only at a block boundary, and the
		// checks before it make sure a record is whole.
		return io.EOF
	case errors.Is(err, io.ErrUnexpectedEOF):
		return &TruncatedError{File: f.name, Offset: off, Packets: f.packets}
	}
	var fe *FormatError
	var te *TruncatedError
	if errors.As(err, &fe) || errors.As(err, &te) {
		return err
	}
	return &FormatError{File: f.name, Offset: off, Err: err}
}

func (f *File) u32(b []byte, be bool) uint32 {
	if be {
		return binary.BigEndian.Uint32(b)
	}
	return binary.LittleEndian.Uint32(b)
}

// peekErr turns a short Peek of the record at off into an error.
func (f *File) peekErr(off int64, err error) error {
	if err == nil || err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
		return &TruncatedError{File: f.name, Offset: off, Packets: f.packets}
	}
	return &FormatError{File: f.name, Offset: off, Err: err}
}

// pcapCheck makes sure the next pcap record is whole and sane, and
// returns it (header and data) from the read buffer.
func (f *File) pcapCheck() ([]byte, error) {
	start := f.Offset()
	h, err := f.cr.peek(16)
	if len(h) == 0 && err == io.EOF {
		return nil, io.EOF
	}
	if len(h) < 16 {
		return nil, f.peekErr(start, err)
	}
	n, err := f.recordLen(h, start)
	if err != nil {
		return nil, err
	}
	b, err := f.cr.peek(n)
	if len(b) < n {
		return nil, f.peekErr(start, err)
	}
	return b, nil
}

// recordLen checks a pcap record header (at offset start) and returns the
// record's whole length.
func (f *File) recordLen(h []byte, start int64) (int, error) {
	caplen := f.u32(h[8:12], f.pcapBE)
	wirelen := f.u32(h[12:16], f.pcapBE)
	if caplen > MaxCaptureLength {
		return 0, &FormatError{File: f.name, Offset: start, Err: fmt.Errorf("record length %d exceeds the maximum %d", caplen, MaxCaptureLength)}
	}
	if caplen > wirelen {
		return 0, &FormatError{File: f.name, Offset: start, Err: fmt.Errorf("captured length %d exceeds original length %d", caplen, wirelen)}
	}
	return 16 + int(caplen), nil
}

// pcapng block types.
const (
	ngSHB = 0x0a0d0d0a
	ngIDB = 1
	ngPB  = 2
	ngSPB = 3
	ngISB = 5
	ngEPB = 6
)

// ngMinLen is the smallest valid length of each block type.
func ngMinLen(typ uint32) uint32 {
	switch typ {
	case ngSHB:
		return 28
	case ngIDB:
		return 20
	case ngPB, ngEPB:
		return 32
	case ngSPB:
		return 16
	case ngISB:
		return 24
	}
	return 12
}

// ngCheck walks the pcapng blocks up to and including the next packet
// block, checking lengths and options, so that pcapgo only ever reads
// whole, consistent blocks. With shbOnly it checks just the first block.
//
// Blocks that do not fit the read buffer (a name resolution or secrets
// block over 1 MiB) are left to pcapgo unchecked, and the walk stops there;
// if a new section of the other byte order followed such a block before
// the next packet, the next walk would misread it and report a FormatError.
// No capture tool writes that.
func (f *File) ngCheck(shbOnly bool) error {
	start := f.Offset()
	f.pktProc = -1
	be := f.ngBE
	pos := 0
	// Snap length of interface 0 in the current section, for simple
	// packet blocks.
	var snap0 uint32
	snap0Known := false
	if f.ng != nil && f.ng.NInterfaces() > 0 {
		if iface, err := f.ng.Interface(0); err == nil {
			snap0, snap0Known = iface.SnapLength, true
		}
	}
	for i := 0; i < maxWalk; i++ {
		off := start + int64(pos)
		h, err := f.br.Peek(pos + 12)
		if len(h) < pos+12 {
			if errors.Is(err, bufio.ErrBufferFull) {
				return nil
			}
			if len(h) == pos && err == io.EOF {
				if pos == 0 {
					return io.EOF
				}
				return nil
			}
			return f.peekErr(off, err)
		}
		b := h[pos:]
		typ := f.u32(b[0:4], be)
		if typ == ngSHB {
			switch {
			case binary.BigEndian.Uint32(b[8:12]) == 0x1a2b3c4d:
				be = true
			case binary.LittleEndian.Uint32(b[8:12]) == 0x1a2b3c4d:
				be = false
			default:
				return &FormatError{File: f.name, Offset: off, Err: fmt.Errorf("section header: bad byte-order magic % x", b[8:12])}
			}
		}
		length := f.u32(b[4:8], be)
		if length < ngMinLen(typ) || length%4 != 0 {
			return &FormatError{File: f.name, Offset: off, Err: fmt.Errorf("block type %#x: bad length %d", typ, length)}
		}
		isPacket := typ == ngEPB || typ == ngPB || typ == ngSPB
		if isPacket && length > maxPacketBlock {
			return &FormatError{File: f.name, Offset: off, Err: fmt.Errorf("packet block length %d exceeds the maximum %d", length, maxPacketBlock)}
		}
		if pos+int(length) > bufSize {
			// Too long to check from the buffer: a large non-packet
			// block (names, secrets). pcapgo reads it as a stream.
			f.ngBE = be
			return nil
		}
		blk, err := f.br.Peek(pos + int(length))
		if len(blk) < pos+int(length) {
			return f.peekErr(off, err)
		}
		blk = blk[pos:]
		if err := ngCheckBlock(typ, blk, be); err != nil {
			return &FormatError{File: f.name, Offset: off, Err: err}
		}
		switch typ {
		case ngSHB:
			snap0Known = false
			f.procs = f.procs[:0]
		case ngApplePIB:
			if len(f.procs) < maxProcs {
				f.procs = append(f.procs, parseApplePIB(blk, be))
			}
		case ngEPB:
			f.pktProc = appleProcIndex(blk, be)
		case ngIDB:
			if !snap0Known {
				snap0, snap0Known = f.u32(blk[12:16], be), true
			}
		case ngSPB:
			// pcapgo reads min(original length, interface 0's snap
			// length) bytes.
			if !snap0Known {
				return &FormatError{File: f.name, Offset: off, Err: errors.New("simple packet block before any interface")}
			}
			caplen := f.u32(blk[8:12], be)
			if snap0 != 0 && caplen > snap0 {
				caplen = snap0
			}
			if caplen > MaxCaptureLength || 16+caplen > length {
				return &FormatError{File: f.name, Offset: off, Err: fmt.Errorf("simple packet of %d bytes does not fit its block of %d", caplen, length)}
			}
		}
		pos += int(length)
		if isPacket || shbOnly {
			f.ngBE = be
			return nil
		}
		if typ == ngSHB {
			f.ngBE = be
		}
	}
	f.ngBE = be
	return nil
}

// Apple's pcapng extensions, as macOS `tcpdump -k` writes them: a process
// information block per process (pid, then options: 2 name, 3 path), and
// per-packet option 0x8001 holding the index of the packet's process.
const (
	ngApplePIB        = 0x80000001
	optAppleProcIndex = 0x8001
	maxProcs          = 4096
)

// appleProc is one process of an Apple process information block.
type appleProc struct {
	pid  int32
	name string
}

// blockBody returns a whole pcapng block's byte order and its body (the
// bytes between the two length fields).
func blockBody(blk []byte, be bool) (binary.ByteOrder, []byte) {
	if be {
		return binary.BigEndian, blk[8 : len(blk)-4]
	}
	return binary.LittleEndian, blk[8 : len(blk)-4]
}

// parseApplePIB reads a process information block (already bounds-checked
// as a whole): its pid and the process name (or the last element of its path).
func parseApplePIB(blk []byte, be bool) appleProc {
	bo, body := blockBody(blk, be)
	if len(body) < 4 {
		return appleProc{}
	}
	pr := appleProc{pid: int32(bo.Uint32(body))}
	eachOption(body[4:], bo, func(code uint16, val []byte) bool {
		v := strings.TrimRight(string(val), "\x00")
		switch {
		case code == 2:
			pr.name = v
		case code == 3 && pr.name == "":
			pr.name = v[strings.LastIndexByte(v, '/')+1:]
		}
		return true
	})
	if len(pr.name) > 64 {
		pr.name = pr.name[:64]
	}
	return pr
}

// appleProcIndex returns the process index option of an enhanced packet
// block (already bounds-checked as a whole), or -1.
func appleProcIndex(blk []byte, be bool) int {
	bo, body := blockBody(blk, be)
	if len(body) < 20 {
		return -1
	}
	caplen := intLen(bo.Uint32(body[12:16]))
	if caplen > len(body) { // before rounding it up, which could overflow
		return -1
	}
	start := 20 + (caplen+3)&^3
	if start > len(body) {
		return -1
	}
	idx := -1
	eachOption(body[start:], bo, func(code uint16, val []byte) bool {
		if code == optAppleProcIndex && len(val) == 4 {
			idx = int(bo.Uint32(val))
			return false
		}
		return true
	})
	return idx
}

// eachOption calls fn with each pcapng option (code, value) until
// opt_endofopt, the end of the bytes, or fn returning false.
func eachOption(opts []byte, bo binary.ByteOrder, fn func(code uint16, val []byte) bool) {
	for len(opts) >= 4 {
		code, n := bo.Uint16(opts), int(bo.Uint16(opts[2:]))
		if code == 0 || 4+n > len(opts) || !fn(code, opts[4:4+n]) {
			return
		}
		opts = opts[min(len(opts), 4+(n+3)&^3):]
	}
}

// ngCheckBlock checks a whole block's fixed fields and options.
func ngCheckBlock(typ uint32, blk []byte, be bool) error {
	u32 := func(b []byte) uint32 {
		if be {
			return binary.BigEndian.Uint32(b)
		}
		return binary.LittleEndian.Uint32(b)
	}
	length := uint32(len(blk))
	var opts uint32 // offset of the options
	switch typ {
	case ngSHB:
		opts = 24
	case ngIDB:
		opts = 16
	case ngISB:
		opts = 20
	case ngEPB, ngPB:
		caplen := u32(blk[20:24])
		if caplen > MaxCaptureLength {
			return fmt.Errorf("record length %d exceeds the maximum %d", caplen, MaxCaptureLength)
		}
		if 32+caplen > length {
			return fmt.Errorf("captured length %d exceeds block length %d", caplen, length)
		}
		opts = 28 + (caplen+3)&^3
	case ngSPB:
		return nil
	default:
		return nil // pcapgo skips other blocks by their length
	}
	if trailer := u32(blk[length-4:]); trailer != length {
		return fmt.Errorf("block type %#x: trailing length %d differs from %d", typ, trailer, length)
	}
	// Options: code, length, value padded to 4, until end of options.
	end := length - 4
	for opts < end {
		if opts+4 > end {
			return fmt.Errorf("block type %#x: option header overruns the block", typ)
		}
		var code, olen uint16
		if be {
			code, olen = binary.BigEndian.Uint16(blk[opts:]), binary.BigEndian.Uint16(blk[opts+2:])
		} else {
			code, olen = binary.LittleEndian.Uint16(blk[opts:]), binary.LittleEndian.Uint16(blk[opts+2:])
		}
		if code == 0 {
			break
		}
		opts += 4 + (uint32(olen)+3)&^3
		if opts > end {
			return fmt.Errorf("block type %#x: option %d overruns the block", typ, code)
		}
	}
	return nil
}

// Read-ahead of decompressed input: chunks of aheadChunk bytes, at most
// aheadChunks in flight.
const (
	aheadChunk  = 1 << 20
	aheadChunks = 4
)

// readAhead reads r in its own goroutine, a few chunks ahead of Read, so
// that decompression runs beside the analysis.
type readAhead struct {
	full chan aheadChunkT
	free chan []byte
	stop chan struct{}
	once sync.Once
	cur  []byte // unread part of buf
	buf  []byte
	err  error
}

type aheadChunkT struct {
	b   []byte
	err error
}

func newReadAhead(r io.Reader) *readAhead {
	ra := &readAhead{
		full: make(chan aheadChunkT, aheadChunks),
		free: make(chan []byte, aheadChunks+1),
		stop: make(chan struct{}),
	}
	for i := 0; i < aheadChunks+1; i++ {
		ra.free <- make([]byte, aheadChunk)
	}
	go ra.fill(r)
	return ra
}

func (ra *readAhead) fill(r io.Reader) {
	for {
		var b []byte
		select {
		case b = <-ra.free:
		case <-ra.stop:
			return
		}
		n := 0
		var err error
		for n < len(b) && err == nil {
			var k int
			k, err = r.Read(b[n:])
			n += k
		}
		select {
		case ra.full <- aheadChunkT{b: b[:n], err: err}:
		case <-ra.stop:
			return
		}
		if err != nil {
			return
		}
	}
}

// Read returns read-ahead bytes, then the reader's error.
func (ra *readAhead) Read(p []byte) (int, error) {
	for len(ra.cur) == 0 {
		if ra.err != nil {
			return 0, ra.err
		}
		if ra.buf != nil {
			ra.free <- ra.buf[:cap(ra.buf)]
			ra.buf = nil
		}
		c := <-ra.full
		ra.buf, ra.cur, ra.err = c.b, c.b, c.err
	}
	n := copy(p, ra.cur)
	ra.cur = ra.cur[n:]
	return n, nil
}

func (ra *readAhead) close() { ra.once.Do(func() { close(ra.stop) }) }
