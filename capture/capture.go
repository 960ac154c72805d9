package capture

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gopacket/gopacket/layers"
)

const (
	// MaxCaptureLength is the longest record accepted (libpcap's
	// MAXIMUM_SNAPLEN); longer records are format errors.
	MaxCaptureLength = 262144

	// bufSize is the read buffer over the decompressed stream while the
	// file header is read; the records are then read into chunks.
	bufSize = 64 << 10
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

// ReadError reports a failed read of the input (an I/O error, a directory)
// at an offset of the decompressed stream.
type ReadError struct {
	File   string
	Offset int64
	Err    error
}

// Error names the file, the offset and the failure.
func (e *ReadError) Error() string {
	return fmt.Sprintf("%s: read error at offset %d: %v", e.File, e.Offset, e.Err)
}

// Unwrap returns the underlying error.
func (e *ReadError) Unwrap() error { return e.Err }

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
	// Chunk holds Data (pcap and pcapng, mapped or read), at ChunkOff,
	// which stays below a few MiB whatever the file's size; nil when Data
	// is only valid until the next call to Next.
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
	cr     records    // pcap records, after the file header
	mapped *mapping   // the file, when mapped
	ahead  *readAhead // decompression, when compressed

	pcapBE   bool
	tsUnit   uint32 // nanoseconds per unit of the timestamp fraction
	linkType layers.LinkType
	swapLen  uint8 // pcap before 2.4: captured and original lengths swapped (see pcapHeader)

	ng *ngState // pcapng: the section being read

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
	if f, err := openMappedFile(name, fh); f != nil || err != nil {
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

// openMappedFile opens a large pcap or pcapng file by mapping it; it
// returns nil and no error for anything else (compressed files), which the
// caller reads.
func openMappedFile(name string, fh *os.File) (*File, error) {
	m := openMapped(fh)
	if m == nil {
		return nil, nil
	}
	mm := m.mm
	v := beUint32(mm[:4])
	f := &File{name: name, size: int64(len(mm)), closer: fh, mapped: m}
	var err error
	switch {
	case isPcapMagic(v):
		err = f.openPcap(mm[:24])
	case v == ngSHB:
		err = f.openNg()
	default:
		m.release()
		return nil, nil
	}
	if err != nil {
		if f.cr != nil {
			f.cr.close() // lets go of the mapping
		} else {
			m.release()
		}
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
	dec, err := f.decoder(raw)
	if err != nil {
		return nil, err
	}
	if err := f.open(dec); err != nil {
		if f.ahead != nil {
			f.ahead.close()
		}
		return nil, err
	}
	return f, nil
}

// open reads the file header of the decompressed stream dec.
func (f *File) open(dec io.Reader) error {
	name := f.name
	f.out = &countReader{r: dec}
	f.br = bufio.NewReaderSize(f.out, bufSize)
	magic, err := f.br.Peek(4)
	if len(magic) < 4 {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return f.peekErr(0, err) // a compressed stream cut short
		}
		if err != nil && err != io.EOF {
			return f.peekErr(0, err)
		}
		if len(magic) == 0 {
			return fmt.Errorf("%s: %w (empty file)", name, ErrNotCapture)
		}
	}
	switch m := beUint32(magic); {
	case len(magic) < 4:
		err = fmt.Errorf("%s: %w (starts with %s)", name, ErrNotCapture, hexBytes(magic))
	case isPcapMagic(m):
		h, perr := f.br.Peek(24)
		if len(h) < 24 {
			return f.peekErr(0, perr)
		}
		err = f.openPcap(h)
	case m == ngSHB:
		err = f.openNg()
	default:
		err = fmt.Errorf("%s: %w (starts with %s)", name, ErrNotCapture, hexBytes(magic))
	}
	return err
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
	if f.ahead != nil {
		// The read-ahead goroutine owns the decompressor: stop it.
		f.ahead.close()
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
	if _, err := f.ngWalk(p); err != nil {
		f.done = true
		return err
	}
	f.packets++
	return nil
}

// u32 reads a 32-bit field in the byte order be says.
func (f *File) u32(b []byte, be bool) uint32 {
	if be {
		return binary.BigEndian.Uint32(b)
	}
	return binary.LittleEndian.Uint32(b)
}

// peekErr turns a short peek of the record at off into an error.
func (f *File) peekErr(off int64, err error) error {
	var pe *fs.PathError // what os.File reads fail with
	switch {
	case err == nil || err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF):
		return &TruncatedError{File: f.name, Offset: off, Packets: f.packets}
	case errors.As(err, &pe):
		return &ReadError{File: f.name, Offset: off, Err: err}
	}
	return &FormatError{File: f.name, Offset: off, Err: err}
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

// newReadAhead reads r on a goroutine of its own, which calls done (if not
// nil) when it stops: at the end of r, or after close.
func newReadAhead(r io.Reader, done func()) *readAhead {
	ra := &readAhead{
		full: make(chan aheadChunkT, aheadChunks),
		free: make(chan []byte, aheadChunks+1),
		stop: make(chan struct{}),
	}
	for i := 0; i < aheadChunks+1; i++ {
		ra.free <- make([]byte, aheadChunk)
	}
	go ra.fill(r, done)
	return ra
}

func (ra *readAhead) fill(r io.Reader, done func()) {
	if done != nil {
		defer done()
	}
	defer func() {
		// A panic here (a bug) is raised again on the reading goroutine,
		// where the program's crash handling sees it.
		if x := recover(); x != nil {
			select {
			case ra.full <- aheadChunkT{err: &aheadPanic{x, debug.Stack()}}:
			case <-ra.stop:
			}
		}
	}()
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
		if p, ok := c.err.(*aheadPanic); ok {
			panic(p)
		}
		ra.buf, ra.cur, ra.err = c.b, c.b, c.err
	}
	n := copy(p, ra.cur)
	ra.cur = ra.cur[n:]
	return n, nil
}

// aheadPanic carries a panic of the read-ahead goroutine, with its stack,
// to the goroutine that reads.
type aheadPanic struct {
	value any
	stack []byte
}

func (p *aheadPanic) Error() string {
	return fmt.Sprintf("%v (in the read-ahead goroutine)\n%s", p.value, p.stack)
}

func (ra *readAhead) close() { ra.once.Do(func() { close(ra.stop) }) }
