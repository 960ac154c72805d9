package capture

import (
	"io"
	"sync/atomic"
)

// chunkSize is the size of the buffers pcap records are read into; a
// record of the longest length fits in one.
const chunkSize = 1 << 20

// chunkPool bounds the idle chunks a file keeps for reuse.
const chunkPool = 64

// A Chunk is where the Data of a capture's packets lie: a buffer of
// whole records read from the file, or a window of a mapped file. The
// file holds it while reading from it; anyone who keeps a packet's Data
// past the next call to Next (a reader handing frames to other
// goroutines) holds it with Retain and lets go with Release. Only once
// nobody holds it is a buffer reused, or a window's pages handed back.
// This spares a copy of every packet.
type Chunk struct {
	buf  []byte
	refs atomic.Int32
	pool chan *Chunk // a read chunk goes back here
	// A window of a mapped file (buf is the whole mapping): its pages
	// are handed back to the kernel when nobody holds it.
	m   *mapping
	win []byte
}

// Retain holds the chunk: its bytes stay as they are until Release.
func (c *Chunk) Retain() { c.refs.Add(1) }

// Release lets go of the chunk; the last holder gives it back for reuse.
func (c *Chunk) Release() {
	if c.refs.Add(-1) != 0 {
		return
	}
	if c.m != nil {
		c.m.queue(c.win, false)
		c.m.release()
		return
	}
	select {
	case c.pool <- c:
	default: // enough idle ones: let the garbage collector have it
	}
}

// Bytes returns the chunk's buffer (packets' Data are slices of it).
func (c *Chunk) Bytes() []byte { return c.buf }

// records is where pcap records come from: a stream read into chunks, or
// a mapped file.
type records interface {
	// peek returns the next n bytes without consuming them, or fewer and
	// the error that ended the input.
	peek(n int) ([]byte, error)
	// discard consumes n bytes, which peek returned.
	discard(n int)
	// skip consumes n bytes, peeked or not, without keeping them; it
	// returns io.ErrUnexpectedEOF (or the read error) when the input ends
	// first.
	skip(n int64) error
	// offset is the input offset of the next unread byte.
	offset() int64
	// at returns the chunk holding the next unread byte, and its offset there.
	at() (*Chunk, int)
	close()
}

// chunkReader reads a stream into chunks, keeping whole records in one.
type chunkReader struct {
	r    io.Reader
	pool chan *Chunk
	cur  *Chunk
	pos  int   // next unread byte in cur.buf
	end  int   // bytes of cur.buf filled
	base int64 // stream offset of cur.buf[0]
	err  error // the read error that ended the stream (io.EOF at the end)
	idle int   // reads in a row that returned nothing
}

// newChunkReader reads r, which starts at input offset base with the
// bytes already read in first.
func newChunkReader(r io.Reader, first []byte, base int64) *chunkReader {
	cr := &chunkReader{r: r, pool: make(chan *Chunk, chunkPool), base: base}
	cr.cur = cr.get()
	cr.end = copy(cr.cur.buf, first)
	return cr
}

func (cr *chunkReader) get() *Chunk {
	var c *Chunk
	select {
	case c = <-cr.pool:
	default:
		c = &Chunk{buf: make([]byte, chunkSize), pool: cr.pool}
	}
	c.refs.Store(1) // the reader's own hold
	return c
}

func (cr *chunkReader) offset() int64 { return cr.base + int64(cr.pos) }

func (cr *chunkReader) peek(n int) ([]byte, error) {
	for cr.end-cr.pos < n {
		if cr.err != nil {
			return cr.cur.buf[cr.pos:cr.end], cr.err
		}
		if len(cr.cur.buf)-cr.pos < n {
			// Not enough room left: carry the partial record over to a
			// fresh chunk, and let go of this one.
			nc := cr.get()
			cr.end = copy(nc.buf, cr.cur.buf[cr.pos:cr.end])
			cr.base += int64(cr.pos)
			cr.pos = 0
			cr.cur.Release()
			cr.cur = nc
		}
		k, err := cr.r.Read(cr.cur.buf[cr.end:])
		cr.end += k
		cr.note(k, err)
	}
	return cr.cur.buf[cr.pos : cr.pos+n], nil
}

// note keeps the outcome of a read of k bytes: the error that ends the
// stream, or too many reads in a row that returned nothing.
func (cr *chunkReader) note(k int, err error) {
	switch {
	case err != nil:
		cr.err = err
	case k > 0:
		cr.idle = 0
	default:
		if cr.idle++; cr.idle >= 100 {
			cr.err = io.ErrNoProgress
		}
	}
}

func (cr *chunkReader) discard(n int) { cr.pos += n }

func (cr *chunkReader) skip(n int64) error {
	if avail := int64(cr.end - cr.pos); n <= avail {
		cr.pos += int(n)
		return nil
	}
	// Read the rest into a chunk of our own (the current one may be held)
	// and drop it.
	n -= int64(cr.end - cr.pos)
	cr.base += int64(cr.end)
	cr.pos, cr.end = 0, 0
	nc := cr.get()
	cr.cur.Release()
	cr.cur = nc
	for n > 0 {
		if cr.err != nil {
			if cr.err == io.EOF {
				return io.ErrUnexpectedEOF
			}
			return cr.err
		}
		k, err := cr.r.Read(cr.cur.buf)
		if int64(k) > n {
			cr.pos, cr.end = int(n), k
			n = 0
		} else {
			cr.base += int64(k)
			n -= int64(k)
		}
		cr.note(k, err)
	}
	return nil
}

func (cr *chunkReader) at() (*Chunk, int) { return cr.cur, cr.pos }

func (cr *chunkReader) close() {
	if cr.cur != nil {
		cr.cur.Release()
		cr.cur = nil
	}
}
