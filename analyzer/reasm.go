package analyzer

// stream keeps the first bytes of one direction of a TCP connection in
// sequence order: enough for the TLS and HTTP dissectors. It tolerates
// retransmissions, overlaps and a few out-of-order segments, and gives up
// cleanly on a gap it cannot fill.
type stream struct {
	buf []byte
	// pend holds out-of-order segments; allocated at the first, since
	// most streams never need it (the stream is part of every flow).
	pend  *[]pendingSeg
	pool  *bufPool // where buffers come from and go back to; nil: the heap
	limit int32
	base  uint32 // sequence number of buf[0]
	// wants holds the feeders (1<<feedTLS, …) that still read the
	// direction's bytes; none left, the buffer is let go (feeders.go).
	wants   uint8
	started bool
	gap     bool // a hole that was never filled: nothing more is appended
	full    bool // limit reached
}

// pending returns the out-of-order segments held.
func (s *stream) pending() []pendingSeg {
	if s.pend == nil {
		return nil
	}
	return *s.pend
}

// setPending replaces the out-of-order segments held.
func (s *stream) setPending(l []pendingSeg) {
	switch {
	case s.pend != nil:
		*s.pend = l
	case l != nil:
		s.pend = &l
	}
}

type pendingSeg struct {
	seq  uint32
	data []byte
}

// maxPending caps the out-of-order segments waiting for a hole. A
// post-quantum ClientHello (about 1.7 KB) cut into segments of 100 bytes
// or less and reordered needs a few dozen; what they hold together stays
// within the room the buffer has left either way.
const maxPending = 64

// start fixes the sequence number of the first byte (the SYN's seq + 1).
func (s *stream) start(seq uint32) {
	if s.started {
		return
	}
	s.started = true
	s.base = seq
}

// closed reports whether the stream will accept no more bytes.
func (s *stream) closed() bool { return s.gap || s.full || s.limit == 0 }

// add places a segment's payload; it reports whether the contiguous bytes grew.
func (s *stream) add(seq uint32, data []byte) bool {
	if len(data) == 0 || s.closed() {
		return false
	}
	if !s.started {
		s.start(seq)
	}
	grew := s.place(seq, data)
	if !grew {
		return false
	}
	// Drain pending segments that now fit.
	for progress := true; progress && len(s.pending()) > 0 && !s.closed(); {
		progress = false
		next := s.base + uint32(len(s.buf))
		pend := s.pending()
		for i := 0; i < len(pend); i++ {
			p := pend[i]
			if int32(p.seq-next) <= 0 {
				s.setPending(append(pend[:i], pend[i+1:]...))
				s.place(p.seq, p.data)
				progress = true
				break
			}
		}
	}
	return true
}

func (s *stream) place(seq uint32, data []byte) bool {
	next := s.base + uint32(len(s.buf))
	diff := int32(seq - next)
	if diff > 0 {
		// Out of order: keep a copy if it is near and there is room.
		if len(s.pending()) >= maxPending || int(diff) >= int(s.limit)-len(s.buf) {
			s.gap = true
			s.setPending(nil)
			return false
		}
		for _, p := range s.pending() {
			if p.seq == seq && len(p.data) >= len(data) {
				return false // duplicate
			}
		}
		// Pending bytes together stay within the room the buffer has left.
		room := int(s.limit) - len(s.buf) - int(diff)
		for _, p := range s.pending() {
			room -= len(p.data)
		}
		if room <= 0 {
			s.gap = true
			s.setPending(nil)
			return false
		}
		if len(data) > room {
			data = data[:room]
		}
		s.setPending(append(s.pending(), pendingSeg{seq: seq, data: append([]byte(nil), data...)}))
		return false
	}
	skip := int(-diff)
	if skip >= len(data) {
		return false // retransmission of bytes we have
	}
	data = data[skip:]
	room := int(s.limit) - len(s.buf)
	if room <= 0 {
		s.full = true
		return false
	}
	if len(data) >= room {
		data = data[:room]
		s.full = true
	}
	if need := len(s.buf) + len(data); need > cap(s.buf) && !s.grow(need) {
		// The engine's buffer budget is spent: keep what fits, stop here.
		data = data[:cap(s.buf)-len(s.buf)]
		s.full = true
	}
	s.buf = append(s.buf, data...)
	return len(data) > 0
}

// grow makes room for need bytes: a power of two from minBuf up to the
// limit. It reports false when the pool's budget refuses the buffer.
func (s *stream) grow(need int) bool {
	c := minBuf
	for c < need {
		c <<= 1
	}
	if c > int(s.limit) {
		c = max(int(s.limit), need)
	}
	nb := s.pool.get(c)
	if nb == nil {
		return false
	}
	nb = append(nb, s.buf...)
	s.pool.put(s.buf)
	s.buf = nb
	return true
}

// release drops the buffer once no dissector wants more bytes, back into
// the pool: nothing the dissectors return points into it (certificates are
// copied, names and headers are strings).
func (s *stream) release() {
	s.pool.put(s.buf)
	s.buf = nil
	s.pend = nil
	s.limit = 0
}

// Stream buffer sizes: powers of two from minBuf; the pool keeps at most
// poolKeep buffers of each size.
const (
	minBuf      = 1 << 10
	poolClasses = 9 // 1 KiB .. 256 KiB
	poolKeep    = 256
)

// bufPool recycles stream buffers of ended flows, by power-of-two size, and
// keeps the bytes handed out under a budget. It belongs to one engine and is
// not safe for concurrent use.
type bufPool struct {
	free   [poolClasses][][]byte
	inUse  int    // capacity of the buffers handed out and not yet put back
	budget int    // cap on inUse; 0: none
	denied uint64 // buffers refused for the budget
}

func poolClass(c int) int {
	for i := 0; i < poolClasses; i++ {
		if c == minBuf<<i {
			return i
		}
	}
	return -1
}

// get returns an empty buffer of capacity c, or nil when that would spend
// more than the budget.
func (p *bufPool) get(c int) []byte {
	if p != nil {
		if p.budget > 0 && p.inUse+c > p.budget {
			p.denied++
			return nil
		}
		p.inUse += c
		if i := poolClass(c); i >= 0 {
			if l := p.free[i]; len(l) > 0 {
				b := l[len(l)-1]
				p.free[i] = l[:len(l)-1]
				return b[:0]
			}
		}
	}
	return make([]byte, 0, c)
}

// put gives back a buffer nothing refers to any more.
func (p *bufPool) put(b []byte) {
	if p == nil || b == nil {
		return
	}
	p.inUse -= cap(b)
	if i := poolClass(cap(b)); i >= 0 && len(p.free[i]) < poolKeep {
		p.free[i] = append(p.free[i], b[:0])
	}
}
