package analyzer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"

	"orchard/capture"
)

// Progress is told how far a file has been read (bytes of the underlying
// file; total is -1 when unknown).
type Progress func(name string, done, total int64)

// ReadFile analyses one capture file ("-" is stdin). A file cut short is
// analysed up to its last whole packet and reported as a warning, a
// *capture.TruncatedError naming the file and the offset; a file damaged
// after some packets is analysed up to the damage, its warning wrapping
// the *capture.FormatError (errors.As finds either). A file that is not a
// capture returns an error naming it. Other files are unaffected either way.
func (e *Engine) ReadFile(ctx context.Context, name string, progress Progress) (warning, err error) {
	return e.ReadFrom(ctx, name, nil, progress)
}

// ReadFrom is ReadFile reading from r (stdin, a pipe) when r is not nil.
func (e *Engine) ReadFrom(ctx context.Context, name string, r io.Reader, progress Progress) (warning, err error) {
	var f *capture.File
	if r != nil {
		f, err = capture.OpenReader(name, r)
	} else {
		f, err = capture.Open(name)
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if f.Mapped() {
		// A mapped file that shrinks under us faults where its lost pages
		// are read, here or in a worker: an error for this file, not a crash.
		defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
		defer func() {
			if r := recover(); r != nil {
				if _, ok := r.(interface{ Addr() uintptr }); !ok {
					panic(r)
				}
				warning, err = nil, changedErr(name, f)
			}
			if e.run.sync() && err == nil {
				warning, err = nil, changedErr(name, f)
			}
		}()
	}
	// Where this file stops looking, for requests cut off by its end.
	var span timeline
	defer func() { e.ends.addSpan(&span, e.readerIndex()) }()
	var p capture.Packet
	for n := 0; ; n++ {
		if n&0x3fff == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			if progress != nil {
				progress(name, f.InputOffset(), f.Size())
			}
		}
		err := f.Next(&p)
		if err != nil {
			if err == io.EOF {
				break
			}
			if w := partial(err, f.Packets()); w != nil {
				return w, nil
			}
			return nil, err
		}
		if e.filter != nil && e.filtered(&p) {
			if e.filterStop {
				break
			}
			continue
		}
		ts := p.Timestamp.UnixNano()
		span.observe(ts)
		e.capturePacket(&p, ts)
	}
	if progress != nil {
		progress(name, f.InputOffset(), f.Size())
	}
	return nil, nil
}

// partial returns the warning of an input whose reading stopped at err
// after n packets, or nil when err leaves nothing analysed: a truncation
// as it is (a *capture.TruncatedError), other damage after some packets
// wrapped with their count.
func partial(err error, n int64) error {
	switch {
	case errors.Is(err, capture.ErrTruncated):
		return err
	case n > 0:
		// Analyse what came before the damage; say where it is.
		return fmt.Errorf("%w (analysed the %d packets before it)", err, n)
	}
	return nil
}

// changedErr reports a mapped file that shrank under the reader: where
// the reading was, and the file's size now.
func changedErr(name string, f *capture.File) error {
	now := ""
	if st, err := os.Stat(name); err == nil {
		now = fmt.Sprintf("; it is now %d bytes", st.Size())
	}
	return fmt.Errorf("%s: the file changed while being read (reading had reached offset %d, after %d packets%s)", name, f.Offset(), f.Packets(), now)
}
