package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync/atomic"

	"github.com/mattn/go-isatty"

	"orchard/internal/crash"
)

// ctxReader reads a pipe, a FIFO or a terminal on a goroutine of its own so
// that a read blocked on a stalled producer returns as soon as ctx is
// cancelled: a signal stops orchard within a second on any input.
type ctxReader struct {
	ctx  context.Context
	data chan readChunk
	free chan []byte
	cur  readChunk
	off  int
	err  error
	n    atomic.Int64 // bytes delivered, for the progress line
}

type readChunk struct {
	b   []byte
	err error
}

const ctxReadChunk = 64 << 10

func newCtxReader(ctx context.Context, r io.Reader) *ctxReader {
	c := &ctxReader{ctx: ctx, data: make(chan readChunk, 2), free: make(chan []byte, 4)}
	for range 4 {
		c.free <- make([]byte, ctxReadChunk)
	}
	go c.pump(r)
	return c
}

// pump reads r until an error, handing the data over in chunks. It is left
// blocked in a read when ctx is cancelled; the process is about to end.
func (c *ctxReader) pump(r io.Reader) {
	defer crash.Guard()
	for {
		var b []byte
		select {
		case b = <-c.free:
		case <-c.ctx.Done():
			return
		}
		n, err := r.Read(b)
		select {
		case c.data <- readChunk{b[:n], err}:
		case <-c.ctx.Done():
			return
		}
		if err != nil {
			return
		}
	}
}

// Read returns the next bytes, or the context's cause once cancelled.
func (c *ctxReader) Read(p []byte) (int, error) {
	for c.off == len(c.cur.b) {
		if c.cur.b != nil {
			c.free <- c.cur.b[:cap(c.cur.b)]
			c.cur.b = nil
		}
		if c.err != nil {
			return 0, c.err
		}
		select {
		case ch := <-c.data:
			c.cur, c.off = ch, 0
			if ch.err != nil {
				c.err = ch.err
			}
		case <-c.ctx.Done():
			c.err = context.Cause(c.ctx)
			return 0, c.err
		}
	}
	n := copy(p, c.cur.b[c.off:])
	c.off += n
	c.n.Add(int64(n))
	return n, nil
}

// errStdinTerminal is the usage error for '-' with a terminal on stdin,
// where orchard would otherwise wait silently.
var errStdinTerminal = errors.New("standard input is a terminal, not a capture: pipe one in (tcpdump -w - | orchard -) or name a file")

// stdinIsTerminal reports whether stdin is a terminal.
func stdinIsTerminal(stdin io.Reader) bool {
	f, ok := stdin.(*os.File)
	return ok && isatty.IsTerminal(f.Fd())
}

// openInput returns the reader for one capture argument: nil for a regular
// file (the capture package opens and maps it itself), standard input when
// it is a regular file, a *ctxReader for other standard input and for FIFOs
// and devices, opened so that a signal also
// interrupts waiting for a FIFO's writer. The closer closes what was opened.
func openInput(ctx context.Context, name string, stdin io.Reader) (io.Reader, io.Closer, error) {
	if name == "-" {
		if f, ok := stdin.(*os.File); ok {
			if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
				return f, nil, nil
			}
		}
		return newCtxReader(ctx, stdin), nil, nil
	}
	st, err := os.Stat(name)
	if err != nil {
		return nil, nil, err
	}
	if st.IsDir() {
		return nil, nil, fmt.Errorf("%s: is a directory, not a capture file", name)
	}
	if st.Mode().IsRegular() {
		return nil, nil, nil
	}
	type opened struct {
		f   *os.File
		err error
	}
	done := make(chan opened, 1)
	go func() {
		defer crash.Guard()
		f, err := os.Open(name) // a FIFO blocks here until a writer opens it
		done <- opened{f, err}
	}()
	select {
	case o := <-done:
		if o.err != nil {
			return nil, nil, o.err
		}
		return newCtxReader(ctx, o.f), o.f, nil
	case <-ctx.Done():
		return nil, nil, context.Cause(ctx)
	}
}
