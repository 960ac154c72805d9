package sensor

import (
	"time"

	"orchard/analyzer"
)

// Suppressor stands between the engine and a streaming sink so that a
// finding that recurs does not flood the stream, as Zeek suppresses its
// notices. A finding is identified by (finding, device, host, port), and
// the stream's contract is:
//
//   - the first occurrence passes through when it is decided;
//   - later ones are counted; the finding passes again, with the count so
//     far, the first and the last occurrence's time and the latest
//     evidence, when an occurrence comes at least Interval after it last
//     passed (so at most once per Interval);
//   - Close passes once more every finding with occurrences that have not
//     passed, so the stream ends with every count complete.
//
// Interval 0 passes every occurrence, each with its count so far. Flows
// and DNS events pass through unchanged. Like any Sink it is called from
// one goroutine at a time, and so is Close, after the last event. It keeps
// at most Max keys (default 65536); a new key beyond them passes every
// occurrence (counted in Overflow).
type Suppressor struct {
	Next     analyzer.Sink
	Interval time.Duration
	Max      int
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Occurred, if set, hears of every occurrence, suppressed or not.
	Occurred func(*analyzer.Finding)

	keys     map[suppressKey]*suppressed
	order    []*suppressed
	Overflow uint64
}

type suppressKey struct {
	finding, client, host string
	port                  uint16
}

type suppressed struct {
	f       analyzer.Finding // the latest occurrence, with the count and first time so far
	emitted time.Time        // when it last passed
	pending int              // occurrences since
}

// Flow passes the event through.
func (s *Suppressor) Flow(e *analyzer.FlowEvent) { s.Next.Flow(e) }

// DNS passes the event through.
func (s *Suppressor) DNS(e *analyzer.DNSEvent) { s.Next.DNS(e) }

// Finding is an occurrence of a finding the engine decided for the first
// time.
func (s *Suppressor) Finding(f *analyzer.Finding) { s.occur(f) }

// FindingRepeated is a later occurrence (analyzer.FindingRepeater).
func (s *Suppressor) FindingRepeated(f *analyzer.Finding) { s.occur(f) }

func (s *Suppressor) occur(f *analyzer.Finding) {
	if s.Occurred != nil {
		s.Occurred(f)
	}
	if s.keys == nil {
		s.keys = make(map[suppressKey]*suppressed)
	}
	now := s.now()
	k := suppressKey{f.Finding, f.Client, f.Host, f.Port}
	e := s.keys[k]
	if e == nil {
		max := s.Max
		if max <= 0 {
			max = 65536
		}
		if len(s.keys) >= max {
			s.Overflow++
			s.Next.Finding(f)
			return
		}
		e = &suppressed{f: *f, emitted: now}
		e.f.Count = 1
		s.keys[k] = e
		s.order = append(s.order, e)
		s.Next.Finding(&e.f)
		return
	}
	count, first := e.f.Count+1, e.f.First
	e.f = *f
	e.f.Count, e.f.First = count, first
	if f.First < first {
		e.f.First = f.First // RFC 3339 times of one zone compare as text
	}
	e.pending++
	if now.Sub(e.emitted) >= s.Interval {
		s.emit(e, now)
	}
}

func (s *Suppressor) emit(e *suppressed, now time.Time) {
	e.emitted, e.pending = now, 0
	f := e.f
	s.Next.Finding(&f)
}

// Close passes, in the order they were first seen, the findings with
// occurrences that have not passed yet.
func (s *Suppressor) Close() {
	now := s.now()
	for _, e := range s.order {
		if e.pending > 0 {
			s.emit(e, now)
		}
	}
}

func (s *Suppressor) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}
