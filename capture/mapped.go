package capture

import (
	"io"
	"os"
	"strconv"
	"sync/atomic"
)

// Uncompressed pcap files of at least minMapSize bytes are mapped into
// memory and their records read in place: no read copies. The mapping is
// cut into windows of mapWindow bytes; a window's pages go back to the
// kernel as soon as nobody holds it (the file moved past it and no worker
// holds a packet of it), so the resident size stays flat whatever the
// file's size. The page work — mapping in the window after the one being
// read (MADV_POPULATE_READ, one call rather than a fault per page) and
// handing back released ones — runs on a goroutine of its own, in order,
// off the reader's path. A file that shrinks while mapped faults on the
// next read of a lost page: the reader and workers turn that fault into
// an error (runtime/debug.SetPanicOnFault).
const (
	minMapSize = 1 << 20
	maxMapSize = 1 << 40
	mapWindow  = 4 << 20
)

// The records ahead are prefetched (see mapReader.ahead) this far ahead,
// this much at a time.
const (
	prefetchDist = 16 << 10
	prefetchStep = 2 << 10
)

// mapping is a mapped file, unmapped when the file, every window and
// every page operation let go.
type mapping struct {
	mm   []byte
	refs atomic.Int32
	ops  chan pageOp
}

// pageOp is page work on part of the mapping.
type pageOp struct {
	b        []byte
	populate bool // map in; else hand back
}

func (m *mapping) release() {
	if m.refs.Add(-1) == 0 {
		_ = unmapFile(m.mm)
		close(m.ops) // nobody holds it: nobody can queue more
	}
}

// queue hands page work to the mapping's goroutine, which holds the
// mapping until it is done. The queue is short: when the goroutine falls
// behind (a loaded machine), the caller waits rather than windows piling
// up mapped.
func (m *mapping) queue(b []byte, populate bool) {
	if len(b) == 0 {
		return
	}
	m.refs.Add(1)
	m.ops <- pageOp{b, populate}
}

// pages does the page work, in the order it was queued: a window is
// always mapped in before it is handed back.
func (m *mapping) pages() {
	for op := range m.ops {
		if op.populate {
			populate(op.b)
		} else {
			dropPages(op.b)
		}
		m.release()
	}
}

// mapReader reads the records of a mapped pcap file, after its header.
type mapReader struct {
	m     *mapping
	data  []byte // the records: the mapping after the file header
	base  int64  // the file offset of data[0]
	pos   int
	cur   *Chunk // the window holding pos
	start int    // the start of cur's window in data (may be negative: the header)
	end   int    // the end of cur's window in data
	ahead int    // data[:ahead] has been prefetched
}

// openMapped maps a large regular file, or returns nil (small files,
// 32-bit address spaces, or a failed mmap: the caller reads instead).
func openMapped(fh *os.File) *mapping {
	st, err := fh.Stat()
	if err != nil || !st.Mode().IsRegular() || st.Size() < minMapSize || st.Size() > maxMapSize || strconv.IntSize < 64 {
		return nil
	}
	mm := mapFile(fh, st.Size())
	if mm == nil {
		return nil
	}
	m := &mapping{mm: mm, ops: make(chan pageOp, 4)}
	m.refs.Store(1) // the file's hold
	go m.pages()
	return m
}

func newMapReader(m *mapping, base int) *mapReader {
	mr := &mapReader{m: m, data: m.mm[base:], base: int64(base)}
	mr.window()
	return mr
}

// window makes cur the window holding pos, letting go of the previous
// one. Windows are aligned in the file (so on pages), not in the records.
// A window's Bytes run from its start to the end of the mapping (a record
// may cross into the next window), so that offsets into them stay below
// mapWindow plus one record whatever the file's size.
func (mr *mapReader) window() {
	abs := int(mr.base) + mr.pos
	start := abs &^ (mapWindow - 1)
	end := min(start+mapWindow, len(mr.m.mm))
	c := &Chunk{buf: mr.m.mm[start:], m: mr.m, win: mr.m.mm[start:end]}
	c.refs.Store(1)
	mr.m.refs.Add(1)
	if mr.cur == nil {
		mr.m.queue(c.win, true)
	}
	mr.m.queue(mr.m.mm[end:min(end+mapWindow, len(mr.m.mm))], true) // the next one
	if mr.cur != nil {
		mr.cur.Release()
	}
	mr.cur, mr.start, mr.end = c, start-int(mr.base), end-int(mr.base)
}

func (mr *mapReader) peek(n int) ([]byte, error) {
	// Move to the next window only now: the caller is done with the
	// packet before (Data is valid until the next call to Next).
	if mr.pos >= mr.end && mr.pos < len(mr.data) {
		mr.window()
	}
	if mr.pos+prefetchDist > mr.ahead {
		// The walk is otherwise a wait for memory at every record
		// header: each header says where the next one is.
		end := min(mr.pos+prefetchDist+prefetchStep, len(mr.data))
		prefetch(mr.data[max(mr.ahead, mr.pos):end])
		mr.ahead = end
	}
	rest := mr.data[mr.pos:]
	if len(rest) < n {
		return rest, io.EOF
	}
	return rest[:n], nil
}

func (mr *mapReader) discard(n int) { mr.pos += n }

// skip jumps over n bytes: their pages are never touched.
func (mr *mapReader) skip(n int64) error {
	if n > int64(len(mr.data)-mr.pos) {
		mr.pos = len(mr.data)
		return io.ErrUnexpectedEOF
	}
	mr.pos += int(n)
	if mr.pos > mr.ahead {
		mr.ahead = mr.pos
	}
	return nil
}

func (mr *mapReader) offset() int64 { return mr.base + int64(mr.pos) }

func (mr *mapReader) at() (*Chunk, int) { return mr.cur, mr.pos - mr.start }

func (mr *mapReader) close() {
	if mr.cur != nil {
		mr.cur.Release()
		mr.cur = nil
	}
	mr.m.release()
}
