package analyzer

import (
	"net/netip"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gopacket/gopacket/layers"

	"orchard/capture"
	"orchard/decode"
	"orchard/dissect"

	"orchard/flow"
	"orchard/internal/crash"
)

// Parallel is the N-worker wiring of an Engine (Config.Workers > 1).
//
// The caller's goroutine is the reader. For each frame it keeps the
// packet counters and the engine's clock (the latest capture time), finds
// the frame's flow hash from its raw bytes (decode.FrameHash: a few
// nanoseconds, symmetric, so both directions of a flow land together),
// and adds the frame to the batch of the worker that owns the flow: in
// place when it lies in a chunk of the capture reader's (a pcap file's
// read buffer or mapped window, which the batch then holds), copied
// otherwise (pcapng, live capture).
// Frames the fast path cannot place — ICMP errors, IP fragments, IPv6
// extension headers, tunnels — go to every worker: each decodes them,
// reassembles fragments (so every worker holds the same reassembly
// state), and only the worker the decoded packet's FlowHash names (for an
// ICMP error, the flow it quotes) processes it. Each worker is a
// flowEngine with its own flow table, buffers and dissectors, and nothing
// shared on the packet path; it decodes only what it owns.
//
// Everything that spans flows — the DNS cache, attribution, findings,
// hosts, devices, push fallback, evidence and the event Sink — is the
// judge's, run by one judging goroutine. Workers hand it their
// ended flows and DNS answers, each stamped with its place in the input:
// the index of the packet that caused it, and for idle expiry the flow's
// class and the packet that last touched it. The judge merges the
// workers' streams by that stamp and so sees exactly the sequence a
// single-threaded engine would, including which DNS answers were known
// when a flow was judged. Idle expiry runs on the reader's clock (a tick
// to every worker), flows left at the end are merged back into global
// lists before the final flush, and reports are identical to a
// single-threaded run; only the flow-table cap, split over the workers,
// can evict differently.
type Parallel struct {
	judge   *judge
	tl      *timeline    // the capture's span, kept by the reader
	ends    *captureEnds // where the inputs end
	workers []*worker

	// reader state (the caller's goroutine)
	stats   flow.Stats // frames, bytes, times
	idx     uint64
	now     int64
	lastGC  int64
	cur     []*batch
	free    chan *batch
	started bool
	ended   bool

	// judging goroutine
	evq       chan *evBatch
	judgeDone chan struct{}
	wg        sync.WaitGroup

	fault atomic.Bool // a worker faulted reading a mapped file that shrank

	lanes *laneShared // set when lanes feed the workers (Engine.Lanes)

	mu      sync.Mutex // guards what follows, and the judge's state
	cond    *sync.Cond
	queues  []evQueue
	marks   []uint64       // per worker: every event up to this packet index was sent
	judged  [][]*flow.Flow // per worker: flows to give back
	dnsFlow flow.Flow      // scratch flow for judging DNS answers
	wstats  []flow.Stats
	rest    [][flow.NumClasses][]*flow.Flow // flows open at the end, per worker
	finals  int
	done    uint64        // events up to this packet index are judged
	held    time.Duration // how long the last snapshot stopped the judge
}

const (
	batchSize     = 512     // packets per batch
	batchBytes    = 1 << 20 // or this many frame bytes
	batchesPerW   = 4       // batches in flight per worker
	maxBatchBytes = 4 << 20 // larger buffers are not recycled
)

const (
	entPacket  = iota // a frame of the worker's own flows
	entShared         // a frame every worker decodes; its flow's worker keeps it
	entTick           // expire idle flows at ts
	entForeign        // an ICMP error another lane received (see Lane)
)

// batchEntry is one frame (or a clock tick) for a worker. It holds no
// pointers: the reader writes half a million a second.
type batchEntry struct {
	idx   uint64
	ts    int64
	pid   int32
	wire  int32
	off   int32 // the frame in batch.chunks[chunk], or in batch.buf (chunk -1)
	n     int32
	link  layers.LinkType
	chunk int16
	proc  int16 // the process the capture file names: batch.procs[proc], or none (-1)
	kind  uint8
}

type batch struct {
	ents   []batchEntry
	buf    []byte           // frames copied
	chunks []*capture.Chunk // frames in place, in the reader's chunks (held)
	procs  []string         // process names of the capture file
	upto   uint64           // later batches for this worker hold only larger indices
	final  bool
}

// maxChunks bounds the reader's chunks one batch holds: with frames left
// in place, this bounds the input read ahead of the slowest worker.
const maxChunks = 4

// maxChunkOff is the largest offset of a frame in a chunk a batch entry
// can hold; a frame further in (no reader puts one there: offsets are
// within a chunk or a mapped window) is copied rather than truncated.
const maxChunkOff = 1<<31 - 1 - capture.MaxCaptureLength

// frame returns an entry's frame.
func (b *batch) frame(ent *batchEntry) []byte {
	off, end := int(ent.off), int(ent.off)+int(ent.n)
	if ent.chunk >= 0 {
		return b.chunks[ent.chunk].Bytes()[off:end]
	}
	return b.buf[off:end]
}

// reset lets go of a processed batch's frames.
func (b *batch) reset() {
	for i, c := range b.chunks {
		c.Release()
		b.chunks[i] = nil
	}
	b.chunks = b.chunks[:0]
	clear(b.procs)
	b.procs = b.procs[:0]
	b.ents = b.ents[:0]
	b.buf = b.buf[:0]
	if cap(b.buf) > maxBatchBytes {
		b.buf = make([]byte, 0, batchBytes+64<<10)
	}
}

// evKey orders the judge's events as a single engine would produce them.
type evKey struct {
	idx     uint64 // the packet (or tick) that caused it
	phase   uint8  // 0: idle expiry before that packet; 1: the packet itself
	class   int8   // expiry: the flow's class, in list order
	touched uint64 // expiry: the packet that last touched the flow
	sub     uint64 // the packet's own events, in the worker's order
}

func (a *evKey) less(b *evKey) bool {
	switch {
	case a.idx != b.idx:
		return a.idx < b.idx
	case a.phase != b.phase:
		return a.phase < b.phase
	case a.class != b.class:
		return a.class < b.class
	case a.touched != b.touched:
		return a.touched < b.touched
	}
	return a.sub < b.sub
}

// pevent is an ended flow or a DNS answer for the judge.
type pevent struct {
	key     evKey
	flow    *flow.Flow
	evicted bool
	dns     *dnsAnswerEvent
}

type dnsAnswerEvent struct {
	// the flow's fields the judge reads: client, its MAC, the process
	fClient netip.Addr
	fServer netip.Addr // and its tuple, for the Community ID
	fPorts  [2]uint16
	fProto  uint8
	mac     [2][6]byte
	hasMAC  [2]bool
	proc    string
	a       flow.Answer // its message and frame are the event's own copies
}

type evBatch struct {
	w      int
	events []pevent
	upto   uint64
	stats  flow.Stats
	final  bool
	rest   [flow.NumClasses][]*flow.Flow
}

type evQueue struct {
	ev   []pevent
	head int
}

// worker is one analysis goroutine and its flow engine, whose sink it is.
type worker struct {
	id     int
	p      *Parallel
	e      *flow.Engine
	in     chan *batch
	back   chan []*flow.Flow        // judged flows, for reuse
	spare  chan []pevent            // event lists the judge has copied, for reuse
	dnsMsg chan *dissect.DNSMessage // DNS messages the judge is done with, for reuse
	events []pevent
	idx    uint64
	phase  uint8
	sub    uint64

	pkt    decode.Packet
	rstats flow.Stats // decoding failures and fragments (shared frames: worker 0's)
}

// newParallel wires n workers for cfg (defaults filled in), each with its
// share of the flow table and budgets, to judge j. The reader keeps the
// capture's span in tl; ends says where the inputs end.
func newParallel(cfg Config, j *judge, tl *timeline, ends *captureEnds, n int) *Parallel {
	p := &Parallel{judge: j, tl: tl, ends: ends}
	p.cond = sync.NewCond(&p.mu)
	wcfg := cfg
	wcfg.Workers = 0
	wcfg.Sink = nil
	wcfg.MaxFlows = max(cfg.MaxFlows/n, 1)
	wcfg.BufferBudget = max(cfg.BufferBudget/n, 1)
	wcfg.StateBudget = max(cfg.StateBudget/n, 1)
	for i := 0; i < n; i++ {
		w := &worker{id: i, p: p, in: make(chan *batch, batchesPerW), back: make(chan []*flow.Flow, 4), spare: make(chan []pevent, batchesPerW+1), dnsMsg: make(chan *dissect.DNSMessage, 256)}
		w.e = flow.NewEngine(wcfg.flowLimits(), w)
		p.workers = append(p.workers, w)
	}
	p.free = make(chan *batch, (batchesPerW+2)*n)
	for i := 0; i < (batchesPerW+1)*n; i++ {
		p.free <- newBatch()
	}
	p.evq = make(chan *evBatch, 4*n)
	p.judgeDone = make(chan struct{})
	p.queues = make([]evQueue, n)
	p.marks = make([]uint64, n)
	p.judged = make([][]*flow.Flow, n)
	p.wstats = make([]flow.Stats, n)
	p.rest = make([][flow.NumClasses][]*flow.Flow, n)
	return p
}

func newBatch() *batch {
	// buf grows only for frames that are copied (pcapng, live capture):
	// those of pcap files stay in the reader's chunks.
	return &batch{ents: make([]batchEntry, 0, batchSize+8)}
}

// setRecorder lets the workers keep packets of open flows for evidence
// (each within its own budget; the judge's evidence is ev). It must be
// called before the first packet.
func (p *Parallel) setRecorder(ev *evidence) {
	if p.started {
		return
	}
	for _, w := range p.workers {
		w.e.Keep = &flow.KeepState{}
	}
}

func (p *Parallel) start() {
	if p.started {
		return
	}
	p.started = true
	p.cur = make([]*batch, len(p.workers))
	for i, w := range p.workers {
		p.cur[i] = <-p.free
		p.wg.Add(1)
		go w.run()
	}
	go p.judgeLoop()
}

// frame is FrameNS for the reader: count, keep the clock, place, copy.
func (p *Parallel) frame(link layers.LinkType, frame []byte, ts int64, wireLen int, m frameMeta) {
	if p.ended {
		return
	}
	p.start()
	p.idx++
	st := &p.stats
	st.Packets++
	st.Bytes += uint64(wireLen)
	// The span and the engine's clock, as the serial wiring keeps them.
	p.tl.observe(ts)
	st.First, st.Last = p.tl.first, p.tl.last
	if ts > p.now {
		p.now = ts
	}
	full := false
	if p.now-p.lastGC > int64(time.Second) {
		p.lastGC = p.now
		for _, b := range p.cur {
			b.ents = append(b.ents, batchEntry{kind: entTick, idx: p.idx, ts: p.now})
			full = full || len(b.ents) >= batchSize
		}
	}
	h, kind := decode.FrameHash(link, frame)
	switch kind {
	case decode.HashFlow:
		full = p.add(p.cur[h%uint64(len(p.cur))], entPacket, link, ts, wireLen, frame, &m) || full
	case decode.HashNone:
		// Counted by whoever decodes it; spread by position.
		full = p.add(p.cur[p.idx%uint64(len(p.cur))], entPacket, link, ts, wireLen, frame, &m) || full
	default:
		for _, b := range p.cur {
			full = p.add(b, entShared, link, ts, wireLen, frame, &m) || full
		}
	}
	if full {
		p.flushAll(false)
	}
}

// add appends a frame to a batch and reports whether the batch is full.
// A frame in one of the reader's chunks stays there (the batch holds the
// chunk); any other is copied.
func (p *Parallel) add(b *batch, kind uint8, link layers.LinkType, ts int64, wire int, frame []byte, m *frameMeta) bool {
	b.ents = append(b.ents, batchEntry{idx: p.idx, ts: ts, wire: int32(wire), n: int32(len(frame)), link: link, proc: -1, kind: kind})
	ent := &b.ents[len(b.ents)-1]
	if c := m.chunk; c != nil && m.chunkOff <= maxChunkOff {
		last := len(b.chunks) - 1
		if last < 0 || b.chunks[last] != c {
			c.Retain()
			b.chunks = append(b.chunks, c)
			last++
		}
		ent.chunk, ent.off = int16(last), int32(m.chunkOff)
	} else {
		ent.chunk, ent.off = -1, int32(len(b.buf))
		b.buf = append(b.buf, frame...)
	}
	if proc := m.proc; proc != "" {
		last := len(b.procs) - 1
		if last < 0 || b.procs[last] != proc {
			b.procs = append(b.procs, proc)
			last++
		}
		ent.proc, ent.pid = int16(last), m.pid
	}
	return len(b.ents) >= batchSize || len(b.buf) >= batchBytes || len(b.chunks) >= maxChunks || len(b.procs) >= batchSize
}

// flush hands the workers the frames batched so far, if any.
func (p *Parallel) flush() {
	if !p.started || p.ended {
		return
	}
	for _, b := range p.cur {
		if len(b.ents) > 0 {
			p.flushAll(false)
			return
		}
	}
}

// idle is Engine.Idle on the reader's clock.
func (p *Parallel) idle(ns int64) {
	if p.ended || p.now == 0 || ns-p.now < int64(time.Second) {
		return
	}
	p.start()
	p.now, p.lastGC = ns, ns
	p.idx++
	for _, b := range p.cur {
		b.ents = append(b.ents, batchEntry{kind: entTick, idx: p.idx, ts: ns})
	}
	p.flushAll(false)
}

// flushAll hands every worker its batch (empty ones too: they carry the
// reader's progress, which the judge waits for).
func (p *Parallel) flushAll(final bool) {
	for i, w := range p.workers {
		b := p.cur[i]
		b.upto, b.final = p.idx, final
		w.in <- b
		p.cur[i] = nil
		if !final {
			p.cur[i] = <-p.free
		}
	}
}

func (w *worker) run() {
	defer crash.Guard()
	defer w.p.wg.Done()
	// Frames may lie in a mapped file: a fault there (the file shrank)
	// is reported, and the rest of the batch skipped.
	debug.SetPanicOnFault(true)
	for b := range w.in {
		w.reclaim()
		w.batch(b)
		eb := &evBatch{w: w.id, events: w.events, upto: b.upto, stats: w.stats(), final: b.final}
		w.events = nil
		select {
		case w.events = <-w.spare:
		default:
		}
		if b.final {
			e := w.e
			for c := range e.Table.Lists {
				for f := e.Table.Lists[c].Head; f != nil; f = f.Next {
					eb.rest[c] = append(eb.rest[c], f)
				}
			}
		}
		b.reset()
		final := b.final
		w.p.free <- b
		w.p.evq <- eb
		if final {
			return
		}
	}
}

// batch processes a batch's frames.
func (w *worker) batch(b *batch) {
	e := w.e
	defer func() {
		e.Cur = flow.FrameRef{}
		if r := recover(); r != nil {
			if _, ok := r.(interface{ Addr() uintptr }); !ok {
				panic(r)
			}
			w.p.fault.Store(true)
		}
	}()
	n := uint64(len(w.p.workers))
	for i := range b.ents {
		ent := &b.ents[i]
		w.idx = ent.idx
		if ent.kind == entTick {
			w.phase = 0
			e.Now, e.LastGC = max(e.Now, ent.ts), ent.ts
			e.Table.Expire(ent.ts)
			continue
		}
		shared := ent.kind == entShared
		counts := ent.kind == entPacket || shared && w.id == 0 // a shared frame is counted once
		link, frame, ts := ent.link, b.frame(ent), ent.ts
		pk := &w.pkt
		if err := e.Dec.Decode(link, frame, pk); err != nil {
			if counts {
				switch err {
				case decode.ErrNotIP:
					w.rstats.NonIP++
				case decode.ErrUnsupportedLink:
					w.rstats.Unsupported++
				default:
					w.rstats.Undecodable++
				}
			}
			continue
		}
		pk.WireLen = int(ent.wire)
		if ent.kind == entForeign {
			e.ICMP(pk, ts) // only if the quoted flow is this worker's
			continue
		}
		if pk.Fragment {
			// Shared: every worker reassembles every datagram, then
			// keeps it only if its flow is its own.
			if counts {
				w.rstats.Fragments++
			}
			dg := e.Frag.Add(pk, ts)
			if dg == nil || e.Dec.Decode(layers.LinkTypeRaw, dg, pk) != nil {
				continue
			}
			e.Frag.Restore(pk)
			link, frame = layers.LinkTypeRaw, dg
			pk.WireLen = len(dg)
			shared = true
		}
		if shared && w.p.lanes == nil { // a lane's frames are its worker's
			h, ok := pk.FlowHash()
			if ok && h%n != uint64(w.id) || !ok && w.id != 0 {
				continue
			}
		}
		if pk.ProcLen == 0 && ent.proc >= 0 {
			pk.ProcLen = uint8(copy(pk.ProcBuf[:], b.procs[ent.proc]))
			pk.PID = ent.pid
		}
		w.phase = 1
		e.Table.Idx = ent.idx
		e.Cur = flow.FrameRef{Link: link, Frame: frame, TS: ts}
		e.Packet(pk, ts)
	}
}

// stats are the worker's counters and its share of the reader's.
func (w *worker) stats() flow.Stats {
	s := w.e.Counters()
	if w.id != 0 {
		s.FragDropped = 0 // every worker reassembles: count once
	}
	s.NonIP += w.rstats.NonIP
	s.Unsupported += w.rstats.Unsupported
	s.Undecodable += w.rstats.Undecodable
	s.Fragments += w.rstats.Fragments
	return s
}

// FlowEnded hands an ended flow to the judge, which gives it back when
// done; its stream buffers stay with the worker.
func (w *worker) FlowEnded(f *flow.Flow, evicted bool) {
	f.HandedOff = true
	if ev := w.e.Keep; ev != nil {
		for _, k := range f.Kept {
			ev.Bytes -= len(k.Frame)
		}
	}
	w.events = append(w.events, pevent{key: w.key(f), flow: f, evicted: evicted})
}

// reclaim takes back the flows the judge is done with.
func (w *worker) reclaim() {
	for {
		select {
		case l := <-w.back:
			for _, f := range l {
				w.e.Table.Recycle(f)
			}
		default:
			return
		}
	}
}

// dnsAnswer hands a DNS response to the judge.
func (w *worker) Answer(f *flow.Flow, a flow.Answer) {
	// a.m is the worker's scratch message, a.frame its batch's bytes: the
	// judge gets copies.
	var own *dissect.DNSMessage
	select {
	case own = <-w.dnsMsg:
	default:
		own = new(dissect.DNSMessage)
	}
	a.Msg.CopyTo(own)
	a.Msg = own
	if a.Frame.Frame != nil {
		a.Frame.Frame = append([]byte(nil), a.Frame.Frame...)
	}
	d := &dnsAnswerEvent{
		fClient: f.Client, mac: [2][6]byte{f.Orig.MAC, f.Resp.MAC}, hasMAC: [2]bool{f.Orig.HasMAC, f.Resp.HasMAC}, proc: f.Proc,
		fServer: f.Server, fPorts: [2]uint16{f.CPort, f.SPort}, fProto: f.Proto,
		a: a,
	}
	w.events = append(w.events, pevent{key: w.key(nil), dns: d})
}

func (w *worker) key(f *flow.Flow) evKey {
	k := evKey{idx: w.idx, phase: w.phase}
	if w.phase == 0 && f != nil {
		k.class, k.touched = f.Class, f.Touched
	} else {
		k.sub = w.sub
		w.sub++
	}
	return k
}

// judgeLoop merges the workers' events in input order and judges them.
func (p *Parallel) judgeLoop() {
	defer crash.Guard()
	defer close(p.judgeDone)
	for eb := range p.evq {
		p.mu.Lock()
		q := &p.queues[eb.w]
		if q.head > 0 && q.head == len(q.ev) {
			q.ev, q.head = q.ev[:0], 0
		}
		q.ev = append(q.ev, eb.events...)
		if cap(eb.events) > 0 && cap(eb.events) <= 4*batchSize {
			clear(eb.events)
			select {
			case p.workers[eb.w].spare <- eb.events[:0]:
			default:
			}
		}
		p.marks[eb.w] = eb.upto
		p.wstats[eb.w] = eb.stats
		if eb.final {
			p.marks[eb.w] = ^uint64(0)
			p.rest[eb.w] = eb.rest
			p.finals++
		}
		p.drain()
		final := p.finals == len(p.workers)
		if !final {
			for i, l := range p.judged {
				if len(l) == 0 {
					continue
				}
				select {
				case p.workers[i].back <- l:
					p.judged[i] = nil
				default: // the worker is busy: keep them for next time
				}
			}
		}
		p.mu.Unlock()
		p.cond.Broadcast()
		if final {
			return
		}
	}
}

// drain judges, in order, every event no worker can still precede.
func (p *Parallel) drain() {
	lim := ^uint64(0)
	for _, m := range p.marks {
		lim = min(lim, m)
	}
	for {
		best := -1
		var bk *evKey
		for i := range p.queues {
			q := &p.queues[i]
			if q.head >= len(q.ev) {
				continue
			}
			k := &q.ev[q.head].key
			if k.idx > lim {
				continue
			}
			if best < 0 || k.less(bk) {
				best, bk = i, k
			}
		}
		if best < 0 {
			break
		}
		q := &p.queues[best]
		ev := q.ev[q.head]
		q.ev[q.head] = pevent{}
		q.head++
		p.apply(&ev)
		if ev.flow != nil && len(p.judged[best]) < 4096 {
			p.judged[best] = append(p.judged[best], ev.flow)
		}
		if ev.dns != nil {
			select {
			case p.workers[best].dnsMsg <- ev.dns.a.Msg: // nothing keeps it
			default:
			}
		}
	}
	p.done = lim
}

func (p *Parallel) apply(ev *pevent) {
	p.judge.at = ev.key.idx
	if d := ev.dns; d != nil {
		f := &p.dnsFlow
		f.Client, f.Proc = d.fClient, d.proc
		f.Orig.MAC, f.Resp.MAC, f.Orig.HasMAC, f.Resp.HasMAC = d.mac[0], d.mac[1], d.hasMAC[0], d.hasMAC[1]
		f.Server, f.CPort, f.SPort, f.Proto = d.fServer, d.fPorts[0], d.fPorts[1], d.fProto
		p.judge.Answer(f, d.a)
		return
	}
	p.judgeFlow(ev.flow, ev.evicted)
}

func (p *Parallel) judgeFlow(f *flow.Flow, evicted bool) {
	if ev := p.judge.env.ev; ev != nil {
		// The worker accounted for these bytes; releaseEvidence subtracts them.
		for _, k := range f.Kept {
			ev.Bytes += len(k.Frame)
		}
	}
	p.judge.FlowEnded(f, evicted)
}

// finish ends the input and judges the flows still open as a single
// engine's flush would (oldest first over the four class lists).
func (p *Parallel) finish() {
	if !p.ended {
		p.ends.addSpan(p.tl, p.idx)
		p.start()
		p.ended = true
		p.flushAll(true)
		p.wg.Wait()
		<-p.judgeDone
		// The flows still open are judged after every packet, and the
		// report's verdicts after that: all the ends are theirs to see.
		p.judge.at = ^uint64(0)
		var lists [flow.NumClasses][]*flow.Flow
		for c := range lists {
			lists[c] = mergeTouched(p.rest, c)
		}
		var pos [flow.NumClasses]int
		for {
			oldest := -1
			for c := range lists {
				if pos[c] < len(lists[c]) && (oldest < 0 || lists[c][pos[c]].Last < lists[oldest][pos[oldest]].Last) {
					oldest = c
				}
			}
			if oldest < 0 {
				break
			}
			f := lists[oldest][pos[oldest]]
			pos[oldest]++
			p.judgeFlow(f, false)
		}
		p.rest = nil
	}
}

// mergeTouched merges the workers' lists of class c by the packet that
// last touched each flow: the order of the single engine's list.
func mergeTouched(rest [][flow.NumClasses][]*flow.Flow, c int) []*flow.Flow {
	var out []*flow.Flow
	pos := make([]int, len(rest))
	for {
		best := -1
		for w := range rest {
			l := rest[w][c]
			if pos[w] < len(l) && (best < 0 || l[pos[w]].Touched < rest[best][c][pos[best]].Touched) {
				best = w
			}
		}
		if best < 0 {
			return out
		}
		out = append(out, rest[best][c][pos[best]])
		pos[best]++
	}
}

// snapshot returns take's view so far: every packet read is processed
// and judged first, and the judge rests while take runs. take only
// copies what the report reads, into slabs allocated before the judge
// stops; the report is built after, with the judge at work.
func (p *Parallel) snapshot(take func(*viewSlabs) *reportView) *reportView {
	p.settle()
	if p.ended {
		return take(newSlabs(p.judge.tableSizes()))
	}
	p.mu.Lock()
	n := p.judge.tableSizes()
	p.mu.Unlock()
	s := newSlabs(n)
	p.mu.Lock()
	defer p.mu.Unlock()
	t0 := time.Now()
	v := take(s)
	p.held = time.Since(t0)
	return v
}

// sync returns once every packet read so far is processed and judged, and
// reports (once) whether a worker faulted since the last call.
func (p *Parallel) sync() bool {
	p.settle()
	return p.fault.Swap(false)
}

// settle returns once every packet read so far is processed and judged.
func (p *Parallel) settle() {
	if p.ended || !p.started {
		return
	}
	if p.lanes != nil {
		p.laneSync()
		return
	}
	p.flushAll(false)
	p.mu.Lock()
	for p.done < p.idx {
		p.cond.Wait()
	}
	p.mu.Unlock()
}

// read is the number of frames the reader handed on.
func (p *Parallel) read() uint64 { return p.stats.Packets }

// totals are the counters so far (see mergedStats).
func (p *Parallel) totals() flow.Stats { return p.mergedStats() }

// mergedStats adds the workers' counters to the reader's. Callers hold
// p.mu or have stopped the workers.
func (p *Parallel) mergedStats() flow.Stats {
	s := p.stats
	if p.lanes != nil {
		p.lanes.addStats(&s)
	}
	for _, w := range p.wstats {
		s.NonIP += w.NonIP
		s.Unsupported += w.Unsupported
		s.Undecodable += w.Undecodable
		s.TCP += w.TCP
		s.UDP += w.UDP
		s.ICMP += w.ICMP
		s.Fragments += w.Fragments
		s.Flows += w.Flows
		s.FlowsEvicted += w.FlowsEvicted
		s.PeakFlows += w.PeakFlows
		s.DNSResponses += w.DNSResponses
		s.Malformed += w.Malformed
		s.BufferDenied += w.BufferDenied
		s.StateDenied += w.StateDenied
		s.FragDropped += w.FragDropped
		s.OpenFlows += w.OpenFlows
		s.EvidenceDropped += w.EvidenceDropped
	}
	return s
}
