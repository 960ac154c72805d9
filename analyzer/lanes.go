package analyzer

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/gopacket/gopacket/layers"

	"orchard/decode"
	"orchard/flow"
)

// A Lane feeds one worker of a multi-worker engine directly, for a source
// that already splits the traffic by flow: an AF_PACKET fanout group puts
// both directions of every flow on the same socket, so each socket's
// goroutine can be its worker's reader, with no shared reader between.
//
// Lanes of one engine run concurrently, one goroutine each; while they
// run, the engine's own FrameNS, Flush and Idle must not be called. The
// packet order the judge merges by is a counter the lanes share: events
// are judged in the order their packets reached any lane, so a run is no
// longer reproducible across worker counts (a live capture never is).
//
// The source's split is not the engine's flow hash, so a frame whose flow
// only a full decode names goes to the lane that received it, with one
// exception: an ICMP error can arrive on any lane (the kernel hashes its
// outer addresses), so a lane hands a copy to every other worker, which
// joins it to the quoted flow if that flow is its own.
type Lane struct {
	p   *Parallel
	w   *worker
	i   int
	now int64
	gc  int64
	st  flow.Stats // this lane's packets, bytes and times

	dec *decode.Decoder
	pkt decode.Packet

	mu  sync.Mutex // guards pub
	pub flow.Stats // st as of the last flush
}

// laneShared is the state the lanes of one engine share.
type laneShared struct {
	idx    atomic.Uint64 // the packet order counter
	lanes  []*Lane
	inbox  []laneInbox // per worker: ICMP errors other lanes received
	excess atomic.Uint64
}

// laneInbox holds frames for a worker from other lanes, copied.
type laneInbox struct {
	mu     sync.Mutex
	frames []laneFrame
	buf    []byte
}

type laneFrame struct {
	link     layers.LinkType
	ts       int64
	wire     int
	off, end int
}

// Inbox bounds: ICMP errors are few; a flood of them is cut short.
const (
	inboxFrames = 256
	inboxBytes  = 256 << 10
)

// Lanes returns one Lane per worker, or nil when the engine has a single
// worker (feed it with FrameNS then). Calling it again returns the same
// lanes. It must be called before the first packet.
func (e *Engine) Lanes() []*Lane {
	p := e.par
	if p == nil {
		return nil
	}
	if p.lanes != nil {
		return p.lanes.lanes
	}
	if p.started {
		panic("analyzer: Lanes called after the first packet")
	}
	p.start()
	ls := &laneShared{inbox: make([]laneInbox, len(p.workers))}
	for i, w := range p.workers {
		ls.lanes = append(ls.lanes, &Lane{p: p, w: w, i: i, dec: decode.NewDecoder()})
	}
	p.lanes = ls
	return ls.lanes
}

// FrameNS processes one captured frame, like Engine.FrameNS.
func (l *Lane) FrameNS(link layers.LinkType, frame []byte, ts int64, wireLen int) {
	p := l.p
	ls := p.lanes
	idx := ls.idx.Add(1)
	l.st.Count(ts, wireLen)
	if ts > l.now {
		l.now = ts
	}
	b := p.cur[l.i]
	if l.now-l.gc > int64(time.Second) {
		l.gc = l.now
		b.ents = append(b.ents, batchEntry{kind: entTick, idx: idx, ts: l.now})
	}
	if _, kind := decode.FrameHash(link, frame); kind == decode.HashDecode && l.icmpError(link, frame) {
		l.forward(link, frame, ts, wireLen)
	}
	if b.put(idx, entPacket, link, ts, wireLen, frame) {
		l.Flush()
	}
}

// icmpError reports whether a frame is an ICMP error quoting a flow.
func (l *Lane) icmpError(link layers.LinkType, frame []byte) bool {
	pk := &l.pkt
	if l.dec.Decode(link, frame, pk) != nil || !pk.Inner.Valid {
		return false
	}
	return pk.Proto == decode.ProtoICMP || pk.Proto == decode.ProtoICMPv6
}

// forward copies a frame to every other worker's inbox.
func (l *Lane) forward(link layers.LinkType, frame []byte, ts int64, wire int) {
	ls := l.p.lanes
	for i := range ls.inbox {
		if i == l.i {
			continue
		}
		in := &ls.inbox[i]
		in.mu.Lock()
		if len(in.frames) < inboxFrames && len(in.buf)+len(frame) <= inboxBytes {
			off := len(in.buf)
			in.buf = append(in.buf, frame...)
			in.frames = append(in.frames, laneFrame{link: link, ts: ts, wire: wire, off: off, end: len(in.buf)})
		} else {
			ls.excess.Add(1)
		}
		in.mu.Unlock()
	}
}

// Flush hands the worker the frames so far, and the lane's progress: a
// lane must flush now and then even when it has nothing (every 100 ms or
// so), since the judge waits for every lane's progress.
func (l *Lane) Flush() {
	p := l.p
	ls := p.lanes
	b := p.cur[l.i]
	in := &ls.inbox[l.i]
	in.mu.Lock()
	for _, f := range in.frames {
		b.put(ls.idx.Add(1), entForeign, f.link, f.ts, f.wire, in.buf[f.off:f.end])
	}
	in.frames, in.buf = in.frames[:0], in.buf[:0]
	in.mu.Unlock()
	// Every later frame of this lane takes a larger index.
	b.upto = ls.idx.Load()
	l.mu.Lock()
	l.pub = l.st
	l.mu.Unlock()
	l.w.in <- b
	p.cur[l.i] = <-p.free
}

// Idle tells the lane no packet arrived until now: idle flows expire on a
// quiet link. It flushes.
func (l *Lane) Idle(now time.Time) {
	ns := now.UnixNano()
	if l.now != 0 && ns-l.now >= int64(time.Second) {
		l.now, l.gc = ns, ns
		b := l.p.cur[l.i]
		b.ents = append(b.ents, batchEntry{kind: entTick, idx: l.p.lanes.idx.Add(1), ts: ns})
	}
	l.Flush()
}

// put appends a copied frame to a batch and reports whether the batch is
// full.
func (b *batch) put(idx uint64, kind uint8, link layers.LinkType, ts int64, wire int, frame []byte) bool {
	b.ents = append(b.ents, batchEntry{idx: idx, ts: ts, wire: int32(wire), n: int32(len(frame)), link: link, proc: -1, kind: kind, chunk: -1, off: int32(len(b.buf))})
	b.buf = append(b.buf, frame...)
	return len(b.ents) >= batchSize || len(b.buf) >= batchBytes
}

// laneStats adds the lanes' packet counters and times to s.
func (ls *laneShared) addStats(s *flow.Stats) {
	for _, l := range ls.lanes {
		l.mu.Lock()
		st := l.pub
		l.mu.Unlock()
		s.Packets += st.Packets
		s.Bytes += st.Bytes
		if st.First != 0 && (s.First == 0 || st.First < s.First) {
			s.First = st.First
		}
		s.Last = max(s.Last, st.Last)
	}
}

// laneSync returns once every packet the lanes took so far is processed
// and judged: the lanes' own flushes carry it there, so every lane must
// keep flushing (Lane.Flush, Lane.Idle) while a snapshot is taken.
func (p *Parallel) laneSync() {
	target := p.lanes.idx.Load()
	p.mu.Lock()
	for p.done < target {
		p.cond.Wait()
	}
	p.mu.Unlock()
}

// ForeignDropped counts ICMP errors a lane could not hand to the other
// workers because their inboxes were full.
func (e *Engine) ForeignDropped() uint64 {
	if e.par == nil || e.par.lanes == nil {
		return 0
	}
	return e.par.lanes.excess.Load()
}

// ConcurrentStats returns the counters so far, like Stats, while the
// workers of a multi-worker engine run (as of their last batches): from
// any goroutine when lanes feed it, else from the reader's goroutine. A
// single-worker engine's must be read by its caller's goroutine, as Stats.
func (e *Engine) ConcurrentStats() flow.Stats {
	p := e.par
	if p == nil {
		return e.Stats()
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.mergedStats()
}
