package analyzer

import (
	"context"
	"fmt"
	"io"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"orchard/capture"
)

// Input is one capture for ReadMerged: a file to open by Name, or a stream
// (stdin, a FIFO) read from R when R is not nil.
type Input struct {
	Name string
	R    io.Reader
}

// InputResult is what reading one Input gave: a warning (cut short,
// damaged after some packets), or an error when nothing of it was read.
type InputResult struct {
	// Warning is set when the input was analysed only in part (see
	// ReadFile: a *capture.TruncatedError, or damage wrapped with the
	// count of packets before it) or changed while it was read.
	Warning error
	Err     error
	Packets int64
	// First and Last are the input's first and last packet times (Unix
	// nanoseconds), 0 when it had none.
	First, Last int64
}

// mergeSource is one open input of a merge, with its next packet.
type mergeSource struct {
	in   int
	f    *capture.File
	p    capture.Packet
	ts   int64
	done bool
}

// ReadMerged analyses several captures as one timeline: packets are handed
// to the analysis in time-stamp order across the inputs, as mergecap does
// by default, whatever the order the inputs are given in (ties keep that
// order). Each input's packets stay in their own order. An input that
// cannot be opened, or fails, gets its error in its result and the others
// are read on. Inputs whose time spans overlap are named in the returned
// note (empty when none do). progress, when not nil, is told the bytes read
// of all inputs together, under the name "N files".
func (e *Engine) ReadMerged(ctx context.Context, inputs []Input, progress Progress) ([]InputResult, string) {
	res := make([]InputResult, len(inputs))
	var srcs []*mergeSource
	defer func() {
		for _, s := range srcs {
			s.f.Close()
		}
	}()
	for i, in := range inputs {
		var f *capture.File
		var err error
		if in.R != nil {
			f, err = capture.OpenReader(in.Name, in.R)
		} else {
			f, err = capture.Open(in.Name)
		}
		if err != nil {
			res[i].Err = err
			continue
		}
		srcs = append(srcs, &mergeSource{in: i, f: f})
	}
	h := mergeHeap{}
	for _, s := range srcs {
		if e.advance(s, &res[s.in]) {
			h.push(s)
		}
	}
	total := int64(0)
	for _, s := range srcs {
		if s.f.Size() < 0 {
			total = -1
			break
		}
		total += s.f.Size()
	}
	name := fmt.Sprintf("%d files", len(inputs))
	for n := 0; len(h) > 0; n++ {
		if n&0x3fff == 0 {
			if ctx.Err() != nil {
				break
			}
			if progress != nil {
				done := int64(0)
				for _, s := range srcs {
					done += s.f.InputOffset()
				}
				progress(name, done, total)
			}
		}
		s := h[0]
		if !e.mergeStep(s, &res[s.in]) {
			break // the packet filter ended the reading
		}
		if e.advance(s, &res[s.in]) {
			h.fix()
		} else {
			h.pop()
		}
	}
	if e.run.sync() {
		// A worker faulted on a mapped window: the file that shrank is
		// not known; name the mapped inputs.
		for _, s := range srcs {
			if s.f.Mapped() && res[s.in].Err == nil {
				res[s.in].Warning = fmt.Errorf("%s or another mapped input changed while being read", s.f.Name())
			}
		}
	}
	for _, s := range srcs {
		res[s.in].Packets = s.f.Packets()
	}
	return res, overlapNote(inputs, res)
}

// advance reads s's next packet; false when s is done (its end, or an
// error recorded in r).
func (e *Engine) advance(s *mergeSource, r *InputResult) (ok bool) {
	if s.f.Mapped() {
		defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
		defer faultTo(s.f, r, &ok)
	}
	err := s.f.Next(&s.p)
	if err != nil {
		s.done = true
		switch w := partial(err, s.f.Packets()); {
		case err == io.EOF:
		case w != nil:
			r.Warning = w
		default:
			r.Err = err
		}
		return false
	}
	s.ts = s.p.Timestamp.UnixNano()
	if r.First == 0 || s.ts < r.First {
		r.First = s.ts
	}
	r.Last = max(r.Last, s.ts)
	return true
}

// mergeStep hands s's current packet to the analysis, through the packet
// filter; false when the filter ended the reading.
func (e *Engine) mergeStep(s *mergeSource, r *InputResult) bool {
	if e.filter != nil && e.filtered(&s.p) {
		return !e.filterStop
	}
	if s.f.Mapped() {
		defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
		defer faultTo(s.f, r, nil)
	}
	e.capturePacket(&s.p, s.ts)
	return true
}

// faultTo, deferred while a mapped file's pages are read, turns the fault
// of a file that shrank into r's error (and *ok false); other panics go on.
func faultTo(f *capture.File, r *InputResult, ok *bool) {
	x := recover()
	if x == nil {
		return
	}
	if _, isFault := x.(interface{ Addr() uintptr }); !isFault {
		panic(x)
	}
	r.Err = changedErr(f.Name(), f)
	if ok != nil {
		*ok = false
	}
}

// overlapNote names the inputs whose time spans overlap: the first few
// pairs, and how many more (a directory of a sensor's files can overlap in
// thousands of pairs).
func overlapNote(inputs []Input, res []InputResult) string {
	const shown = 3
	var pairs []string
	n := 0
	for i := range res {
		for j := i + 1; j < len(res); j++ {
			a, b := res[i], res[j]
			if a.Packets == 0 || b.Packets == 0 || a.Last < b.First || b.Last < a.First {
				continue
			}
			if n++; n <= shown {
				pairs = append(pairs, inputs[i].Name+" ("+spanString(a.First, a.Last)+") and "+inputs[j].Name+" ("+spanString(b.First, b.Last)+")")
			}
		}
	}
	if n == 0 {
		return ""
	}
	s := "inputs overlap in time (" + strings.Join(pairs, "; ")
	if n > shown {
		s += "; and " + strconv.Itoa(n-shown) + " more pairs"
	}
	return s + "): their packets were merged by time stamp, as one capture"
}

// spanString is an input's time span for messages.
func spanString(first, last int64) string {
	return time.Unix(0, first).UTC().Format(time.RFC3339Nano) + " → " + time.Unix(0, last).UTC().Format(time.RFC3339Nano)
}

// mergeHeap is a min-heap of sources by (next packet time, input order).
type mergeHeap []*mergeSource

func (h mergeHeap) less(i, j int) bool {
	if h[i].ts != h[j].ts {
		return h[i].ts < h[j].ts
	}
	return h[i].in < h[j].in
}

func (h *mergeHeap) push(s *mergeSource) {
	*h = append(*h, s)
	q := *h
	for i := len(q) - 1; i > 0; {
		p := (i - 1) / 2
		if !q.less(i, p) {
			break
		}
		q[i], q[p] = q[p], q[i]
		i = p
	}
}

func (h *mergeHeap) pop() {
	q := *h
	n := len(q) - 1
	q[0] = q[n]
	*h = q[:n]
	h.fix()
}

// fix restores the heap after the root's key grew.
func (h mergeHeap) fix() {
	for i := 0; ; {
		l, r, m := 2*i+1, 2*i+2, i
		if l < len(h) && h.less(l, m) {
			m = l
		}
		if r < len(h) && h.less(r, m) {
			m = r
		}
		if m == i {
			return
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
}
