package flow

// Stream keeps the first bytes of one direction of a TCP connection in
// sequence order: enough for the TLS and HTTP dissectors. It tolerates
// retransmissions, overlaps and a few out-of-order segments, and gives up
// cleanly on a gap it cannot fill.
type Stream struct {
	Buf []byte
	// pend holds out-of-order segments; allocated at the first, since
	// most streams never need it (the stream is part of every flow).
	pend  *[]pendingSeg
	Pool  *bufPool // where buffers come from and go back to; nil: the heap
	Limit int32
	base  uint32 // sequence number of buf[0]
	// wants holds the feeders (1<<feedTLS, …) that still read the
	// direction's bytes; none left, the buffer is let go (the analyzer's feeders).
	Wants   uint8
	started bool
	Gap     bool // a hole that was never filled: nothing more is appended
	Full    bool // limit reached
}

// Pending returns the out-of-order segments held.
func (s *Stream) Pending() []pendingSeg {
	if s.pend == nil {
		return nil
	}
	return *s.pend
}

// setPending replaces the out-of-order segments held.
func (s *Stream) setPending(l []pendingSeg) {
	switch {
	case s.pend != nil:
		*s.pend = l
	case l != nil:
		s.pend = &l
	}
}

type pendingSeg struct {
	seq  uint32
	Data []byte
}

// maxPending caps the out-of-order segments waiting for a hole. A
// post-quantum ClientHello (about 1.7 KB) cut into segments of 100 bytes
// or less and reordered needs a few dozen; what they hold together stays
// within the room the buffer has left either way.
const MaxPending = 64

// Start fixes the sequence number of the first byte (the SYN's seq + 1).
func (s *Stream) Start(seq uint32) {
	if s.started {
		return
	}
	s.started = true
	s.base = seq
}

// Closed reports whether the stream will accept no more bytes.
func (s *Stream) Closed() bool { return s.Gap || s.Full || s.Limit == 0 }

// Add places a segment's payload; it reports whether the contiguous bytes grew.
func (s *Stream) Add(seq uint32, data []byte) bool {
	if len(data) == 0 || s.Closed() {
		return false
	}
	if !s.started {
		s.Start(seq)
	}
	grew := s.place(seq, data)
	if !grew {
		return false
	}
	// Drain pending segments that now fit.
	for progress := true; progress && len(s.Pending()) > 0 && !s.Closed(); {
		progress = false
		next := s.base + uint32(len(s.Buf))
		pend := s.Pending()
		for i := 0; i < len(pend); i++ {
			p := pend[i]
			if int32(p.seq-next) <= 0 {
				s.setPending(append(pend[:i], pend[i+1:]...))
				s.place(p.seq, p.Data)
				progress = true
				break
			}
		}
	}
	return true
}

func (s *Stream) place(seq uint32, data []byte) bool {
	next := s.base + uint32(len(s.Buf))
	diff := int32(seq - next)
	if diff > 0 {
		// Out of order: keep a copy if it is near and there is room.
		if len(s.Pending()) >= MaxPending || int(diff) >= int(s.Limit)-len(s.Buf) {
			s.Gap = true
			s.setPending(nil)
			return false
		}
		for _, p := range s.Pending() {
			if p.seq == seq && len(p.Data) >= len(data) {
				return false // duplicate
			}
		}
		// Pending bytes together stay within the room the buffer has left.
		room := int(s.Limit) - len(s.Buf) - int(diff)
		for _, p := range s.Pending() {
			room -= len(p.Data)
		}
		if room <= 0 {
			s.Gap = true
			s.setPending(nil)
			return false
		}
		if len(data) > room {
			data = data[:room]
		}
		s.setPending(append(s.Pending(), pendingSeg{seq: seq, Data: append([]byte(nil), data...)}))
		return false
	}
	skip := int(-diff)
	if skip >= len(data) {
		return false // retransmission of bytes we have
	}
	data = data[skip:]
	room := int(s.Limit) - len(s.Buf)
	if room <= 0 {
		s.Full = true
		return false
	}
	if len(data) >= room {
		data = data[:room]
		s.Full = true
	}
	if need := len(s.Buf) + len(data); need > cap(s.Buf) && !s.grow(need) {
		// The engine's buffer budget is spent: keep what fits, stop here.
		data = data[:cap(s.Buf)-len(s.Buf)]
		s.Full = true
	}
	s.Buf = append(s.Buf, data...)
	return len(data) > 0
}

// grow makes room for need bytes: a power of two from minBuf up to the
// limit. It reports false when the pool's budget refuses the buffer.
func (s *Stream) grow(need int) bool {
	c := minBuf
	for c < need {
		c <<= 1
	}
	if c > int(s.Limit) {
		c = max(int(s.Limit), need)
	}
	nb := s.Pool.get(c)
	if nb == nil {
		return false
	}
	nb = append(nb, s.Buf...)
	s.Pool.put(s.Buf)
	s.Buf = nb
	return true
}

// Release drops the buffer once no dissector wants more bytes, back into
// the pool: nothing the dissectors return points into it (certificates are
// copied, names and headers are strings).
func (s *Stream) Release() {
	s.Pool.put(s.Buf)
	s.Buf = nil
	s.pend = nil
	s.Limit = 0
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
	InUse  int    // capacity of the buffers handed out and not yet put back
	Budget int    // cap on inUse; 0: none
	Denied uint64 // buffers refused for the budget
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
		if p.Budget > 0 && p.InUse+c > p.Budget {
			p.Denied++
			return nil
		}
		p.InUse += c
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
	p.InUse -= cap(b)
	if i := poolClass(cap(b)); i >= 0 && len(p.free[i]) < poolKeep {
		p.free[i] = append(p.free[i], b[:0])
	}
}
