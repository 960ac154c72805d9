package sensor

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"sync/atomic"
	"time"
)

// RotatingFile is an append-only file of lines (the NDJSON event stream)
// that rotates by size and by age, and reopens on request (SIGHUP, after
// logrotate moved it away). It rotates only between lines: the line being
// written always ends in the file it began in.
//
// Rotation renames NAME to NAME.1, NAME.1 to NAME.2 and so on, keeping
// Keep old files, and starts a new NAME. Write is not safe for concurrent
// use; Reopen may be called from any goroutine (it takes effect at the
// next line boundary of a Write).
type RotatingFile struct {
	Name    string
	MaxSize int64         // rotate once the file reaches this size (0: never)
	MaxAge  time.Duration // rotate once the file is this old (0: never)
	Keep    int           // old files kept
	// Now is the clock (default time.Now).
	Now func() time.Time

	f       *os.File
	size    int64
	opened  time.Time
	reopen  atomic.Bool
	rotated int
	midLine bool // the last byte written is not a newline
}

// OpenRotating opens (appending) or creates name.
func OpenRotating(name string, maxSize int64, maxAge time.Duration, keep int) (*RotatingFile, error) {
	r := &RotatingFile{Name: name, MaxSize: maxSize, MaxAge: maxAge, Keep: keep}
	if err := r.open(); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *RotatingFile) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func (r *RotatingFile) open() error {
	f, err := os.OpenFile(r.Name, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("events file: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("events file: %w", err)
	}
	r.f, r.size, r.opened, r.midLine = f, st.Size(), r.now(), false
	return nil
}

// Reopen asks the next Write to close and reopen the file by its name.
func (r *RotatingFile) Reopen() { r.reopen.Store(true) }

// Rotations is how many times the file rotated.
func (r *RotatingFile) Rotations() int { return r.rotated }

// Write appends p. A due rotation or reopen happens between lines: before
// any line of p that would pass the size (or comes after the age or a
// reopen request), never inside one.
func (r *RotatingFile) Write(p []byte) (int, error) {
	if r.f == nil {
		return 0, fmt.Errorf("events file %s: closed", r.Name)
	}
	done := 0
	for len(p) > 0 {
		// A line at a time (the last may be unfinished), so that a
		// buffered writer's large writes still turn the file at the
		// size, and only ever between lines.
		line := p
		if i := bytes.IndexByte(p, '\n'); i >= 0 {
			line = p[:i+1]
		}
		if !r.midLine && r.due(len(line)) {
			if err := r.turn(); err != nil {
				return done, err
			}
		}
		n, err := r.write(line)
		done += n
		if err != nil {
			return done, err
		}
		p = p[len(line):]
	}
	return done, nil
}

func (r *RotatingFile) write(p []byte) (int, error) {
	n, err := r.f.Write(p)
	r.size += int64(n)
	if n > 0 {
		r.midLine = p[n-1] != '\n'
	}
	if err != nil {
		err = fmt.Errorf("events file %s: %w", r.Name, err)
	}
	return n, err
}

// due reports whether the file should turn before it grows by n bytes.
func (r *RotatingFile) due(n int) bool {
	switch {
	case r.reopen.Load():
		return true
	case r.MaxSize > 0 && r.size > 0 && r.size+int64(n) > r.MaxSize:
		return true
	case r.MaxAge > 0 && r.now().Sub(r.opened) >= r.MaxAge:
		return true
	}
	return false
}

// turn reopens the file (when asked) or rotates it.
func (r *RotatingFile) turn() error {
	if err := r.f.Close(); err != nil {
		return fmt.Errorf("events file %s: %w", r.Name, err)
	}
	r.f = nil
	if !r.reopen.Swap(false) {
		if err := r.shift(); err != nil {
			return err
		}
		r.rotated++
	}
	return r.open()
}

// shift renames NAME.i to NAME.i+1, oldest first, dropping what is beyond
// Keep, then NAME to NAME.1.
func (r *RotatingFile) shift() error {
	if r.Keep <= 0 {
		return os.Remove(r.Name)
	}
	_ = os.Remove(r.Name + "." + strconv.Itoa(r.Keep))
	for i := r.Keep - 1; i >= 1; i-- {
		from := r.Name + "." + strconv.Itoa(i)
		if _, err := os.Stat(from); err == nil {
			if err := os.Rename(from, r.Name+"."+strconv.Itoa(i+1)); err != nil {
				return fmt.Errorf("events file: %w", err)
			}
		}
	}
	if err := os.Rename(r.Name, r.Name+".1"); err != nil {
		return fmt.Errorf("events file: %w", err)
	}
	return nil
}

// Close closes the file.
func (r *RotatingFile) Close() error {
	if r.f == nil {
		return nil
	}
	err := r.f.Close()
	r.f = nil
	return err
}
