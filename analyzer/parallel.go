package analyzer

import (
	"encoding/binary"
	"net/netip"
	"sync"
	"time"

	"github.com/gopacket/gopacket/layers"

	"orchard/analyzer/decode"
	"orchard/dissect"
)

// Parallel runs an Engine's analysis on several workers (Config.Workers).
//
// The caller's goroutine is the reader: it decodes each frame once, keeps
// the engine's clock, and appends the frame and its decoded header to the
// batch of the worker that owns the flow, chosen by a symmetric hash of
// the flow key (both directions of a flow, and the ICMP errors quoting it,
// reach the same worker; later IP fragments, which only count, go by
// address pair). Each worker is an Engine with its own flow table, buffers
// and dissectors, and nothing shared on the packet path.
//
// Everything that spans flows — the DNS cache, attribution, findings,
// hosts, devices, push fallback, evidence and the event Sink — stays in
// the outer Engine, run by one judging goroutine. Workers hand it their
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
	e       *Engine // the judging engine (the one the caller holds)
	workers []*worker

	// reader state (the caller's goroutine)
	dec     *decode.Decoder
	pkt     decode.Packet
	frag    defrag // IP reassembly, before sharding
	stats   Stats  // frames, bytes, times, decode failures
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

	mu      sync.Mutex // guards what follows, and the judging engine's state
	cond    *sync.Cond
	queues  []evQueue
	marks   []uint64  // per worker: every event up to this packet index was sent
	judged  [][]*Flow // per worker: flows to give back
	dnsFlow Flow      // scratch flow for judging DNS answers
	wstats  []Stats
	rest    [][numClasses][]*Flow // flows open at the end, per worker
	finals  int
	done    uint64 // events up to this packet index are judged
}

const (
	batchSize     = 256     // packets per batch
	batchBytes    = 1 << 20 // or this many frame bytes
	batchesPerW   = 4       // batches in flight per worker
	maxBatchBytes = 4 << 20 // larger buffers are not recycled
)

const (
	entPacket = iota
	entTick   // expire idle flows at ts
)

// batchEntry is one packet (or a clock tick) for a worker.
type batchEntry struct {
	kind   uint8
	link   layers.LinkType
	idx    uint64
	ts     int64
	wire   int
	off, n int // the frame in batch.buf
	payOff int // the payload's offset in the frame; -1 none, -2 decode again
	payLen int
	pkt    decode.Packet
}

type batch struct {
	ents  []batchEntry
	buf   []byte
	upto  uint64 // later batches for this worker hold only larger indices
	final bool
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
	flow    *Flow
	evicted bool
	dns     *dnsAnswerEvent
}

type dnsAnswerEvent struct {
	// the flow's fields the judge reads: client, its MAC, the process
	fClient        netip.Addr
	mac            [2][6]byte
	hasMAC         [2]bool
	proc           string
	client, server netip.Addr
	port           uint16
	m              *dissect.DNSMessage
	ts             int64
	proto          string
	link           layers.LinkType // the frame, for evidence
	frame          []byte
}

type evBatch struct {
	w      int
	events []pevent
	upto   uint64
	stats  Stats
	final  bool
	rest   [numClasses][]*Flow
}

type evQueue struct {
	ev   []pevent
	head int
}

// worker is one analysis goroutine and its engine.
type worker struct {
	id     int
	p      *Parallel
	e      *Engine
	in     chan *batch
	back   chan []*Flow // judged flows, for reuse
	events []pevent
	idx    uint64
	phase  uint8
	sub    uint64
}

func newParallel(e *Engine, n int) *Parallel {
	p := &Parallel{e: e, dec: decode.NewDecoder()}
	p.cond = sync.NewCond(&p.mu)
	cfg := e.cfg
	cfg.Workers = 0
	cfg.Sink = nil
	cfg.MaxFlows = max(e.cfg.MaxFlows/n, 1)
	cfg.BufferBudget = max(e.cfg.BufferBudget/n, 1)
	for i := 0; i < n; i++ {
		we, err := New(cfg)
		if err != nil {
			panic(err) // unreachable: the catalog is set
		}
		w := &worker{id: i, p: p, e: we, in: make(chan *batch, batchesPerW), back: make(chan []*Flow, 4)}
		we.w = w
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
	p.judged = make([][]*Flow, n)
	p.wstats = make([]Stats, n)
	p.rest = make([][numClasses][]*Flow, n)
	e.statsFn = p.mergedStats
	return p
}

func newBatch() *batch {
	return &batch{ents: make([]batchEntry, 0, batchSize+8), buf: make([]byte, 0, batchBytes+64<<10)}
}

// setRecorder lets the workers keep packets of open flows for evidence.
// It must be called before the first packet.
func (p *Parallel) setRecorder() {
	if p.started {
		return
	}
	for _, w := range p.workers {
		w.e.ev = &evidence{}
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

// frame is FrameNS for the reader.
func (p *Parallel) frame(link layers.LinkType, frame []byte, ts int64, wireLen int) {
	if p.ended {
		return
	}
	p.start()
	p.idx++
	st := &p.stats
	st.Packets++
	st.Bytes += uint64(wireLen)
	if st.First == 0 || ts < st.First {
		st.First = ts
	}
	if ts > st.Last {
		st.Last = ts
	}
	pk := &p.pkt
	if err := p.dec.Decode(link, frame, pk); err != nil {
		switch err {
		case decode.ErrNotIP:
			st.NonIP++
		case decode.ErrUnsupportedLink:
			st.Unsupported++
		default:
			st.Undecodable++
		}
		return
	}
	if pk.Fragment {
		// Reassemble here, before sharding: the whole datagram goes to its
		// flow's worker like any packet.
		st.Fragments++
		dg := p.frag.add(pk, ts)
		if dg == nil || p.dec.Decode(layers.LinkTypeRaw, dg, pk) != nil {
			return
		}
		p.frag.done.restore(pk)
		link, frame, wireLen = layers.LinkTypeRaw, dg, len(dg)
	}
	p.e.applyProcHint(pk)
	// The engine's clock, as Engine.Packet keeps it.
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
	b := p.cur[shard(pk)%uint64(len(p.workers))]
	off := len(b.buf)
	b.buf = append(b.buf, frame...)
	b.ents = append(b.ents, batchEntry{kind: entPacket, link: link, idx: p.idx, ts: ts, wire: wireLen, off: off, n: len(frame), payOff: -1})
	ent := &b.ents[len(b.ents)-1]
	ent.pkt = *pk
	if pk.Payload != nil {
		// The payload is a reslice of the frame: find it in the copy.
		po := cap(frame) - cap(pk.Payload)
		if po >= 0 && po+len(pk.Payload) <= len(frame) {
			ent.payOff, ent.payLen = po, len(pk.Payload)
		} else {
			ent.payOff = -2
		}
	}
	if full || len(b.ents) >= batchSize || len(b.buf) >= batchBytes {
		p.flushAll(false)
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
	defer w.p.wg.Done()
	e := w.e
	for b := range w.in {
		w.reclaim()
		for i := range b.ents {
			ent := &b.ents[i]
			w.idx = ent.idx
			if ent.kind == entTick {
				w.phase = 0
				e.now, e.lastGC = max(e.now, ent.ts), ent.ts
				e.table.expire(ent.ts)
				e.judge.tick(ent.ts)
				continue
			}
			w.phase = 1
			e.table.idx = ent.idx
			frame := b.buf[ent.off : ent.off+ent.n]
			pk := &ent.pkt
			switch {
			case ent.payOff >= 0:
				pk.Payload = frame[ent.payOff : ent.payOff+ent.payLen]
			case ent.payOff == -2:
				if e.dec.Decode(ent.link, frame, pk) != nil {
					continue // cannot happen: it decoded before
				}
			}
			pk.WireLen = ent.wire
			e.curLink, e.curFrame, e.curTS = ent.link, frame, ent.ts
			e.Packet(pk, ent.ts)
		}
		e.curFrame = nil
		eb := &evBatch{w: w.id, events: w.events, upto: b.upto, stats: e.Stats(), final: b.final}
		w.events = nil
		if b.final {
			for c := range e.table.lists {
				for f := e.table.lists[c].head; f != nil; f = f.next {
					eb.rest[c] = append(eb.rest[c], f)
				}
			}
		}
		b.ents = b.ents[:0]
		b.buf = b.buf[:0]
		if cap(b.buf) > maxBatchBytes {
			b.buf = make([]byte, 0, batchBytes+64<<10)
		}
		final := b.final
		w.p.free <- b
		w.p.evq <- eb
		if final {
			return
		}
	}
}

// flowEnded hands an ended flow to the judge, which gives it back when
// done; its stream buffers stay with the worker.
func (w *worker) flowEnded(f *Flow, evicted bool) {
	f.handedOff = true
	if ev := w.e.ev; ev != nil {
		for _, k := range f.kept {
			ev.bytes -= len(k.frame)
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
				w.e.table.recycle(f)
			}
		default:
			return
		}
	}
}

// dnsAnswer hands a DNS response to the judge.
func (w *worker) dnsAnswer(f *Flow, client, server netip.Addr, port uint16, m *dissect.DNSMessage, ts int64, proto string) {
	d := &dnsAnswerEvent{
		fClient: f.Client, mac: f.mac, hasMAC: f.hasMAC, proc: f.Proc,
		client: client, server: server, port: port, m: m, ts: ts, proto: proto,
	}
	if w.e.ev != nil && w.e.curFrame != nil {
		d.link, d.frame = w.e.curLink, append([]byte(nil), w.e.curFrame...)
	}
	w.events = append(w.events, pevent{key: w.key(nil), dns: d})
}

func (w *worker) key(f *Flow) evKey {
	k := evKey{idx: w.idx, phase: w.phase}
	if w.phase == 0 && f != nil {
		k.class, k.touched = f.class, f.touched
	} else {
		k.sub = w.sub
		w.sub++
	}
	return k
}

// judgeLoop merges the workers' events in input order and judges them.
func (p *Parallel) judgeLoop() {
	defer close(p.judgeDone)
	for eb := range p.evq {
		p.mu.Lock()
		q := &p.queues[eb.w]
		if q.head > 0 && q.head == len(q.ev) {
			q.ev, q.head = q.ev[:0], 0
		}
		q.ev = append(q.ev, eb.events...)
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
	}
	p.done = lim
}

func (p *Parallel) apply(ev *pevent) {
	e := p.e
	if d := ev.dns; d != nil {
		f := &p.dnsFlow
		f.Client, f.mac, f.hasMAC, f.Proc = d.fClient, d.mac, d.hasMAC, d.proc
		e.curLink, e.curFrame, e.curTS = d.link, d.frame, d.ts
		e.dnsAnswer(f, d.client, d.server, d.port, d.m, d.ts, d.proto)
		e.curFrame = nil
		return
	}
	p.judgeFlow(ev.flow, ev.evicted)
}

func (p *Parallel) judgeFlow(f *Flow, evicted bool) {
	e := p.e
	if e.ev != nil {
		// The worker accounted for these bytes; releaseEvidence subtracts them.
		for _, k := range f.kept {
			e.ev.bytes += len(k.frame)
		}
	}
	e.flowEnded(f, evicted)
}

// finish ends the input, judges the flows still open as a single engine's
// flush would (oldest first over the four class lists) and returns the
// report.
func (p *Parallel) finish() *Report {
	if !p.ended {
		p.start()
		p.ended = true
		p.flushAll(true)
		p.wg.Wait()
		<-p.judgeDone
		var lists [numClasses][]*Flow
		for c := range lists {
			lists[c] = mergeTouched(p.rest, c)
		}
		var pos [numClasses]int
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
	return p.e.report()
}

// mergeTouched merges the workers' lists of class c by the packet that
// last touched each flow: the order of the single engine's list.
func mergeTouched(rest [][numClasses][]*Flow, c int) []*Flow {
	var out []*Flow
	pos := make([]int, len(rest))
	for {
		best := -1
		for w := range rest {
			l := rest[w][c]
			if pos[w] < len(l) && (best < 0 || l[pos[w]].touched < rest[best][c][pos[best]].touched) {
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

// snapshot returns the report so far: every packet read is processed and
// judged first.
func (p *Parallel) snapshot() *Report {
	if p.ended {
		return p.e.report()
	}
	p.start()
	p.flushAll(false)
	p.mu.Lock()
	defer p.mu.Unlock()
	for p.done < p.idx {
		p.cond.Wait()
	}
	return p.e.report()
}

// mergedStats adds the workers' counters to the reader's. Callers hold
// p.mu or have stopped the workers.
func (p *Parallel) mergedStats() Stats {
	s := p.stats
	s.FragDropped += p.frag.dropped
	s.Malformed += p.e.stats.Malformed
	s.DNSResponses += p.e.stats.DNSResponses
	for _, w := range p.wstats {
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
		s.FragDropped += w.FragDropped
	}
	return s
}

// shard hashes a packet to its flow's worker: symmetric in the two
// directions; ICMP errors go with the flow they quote, later fragments
// (which only count) by address pair.
func shard(p *decode.Packet) uint64 {
	switch p.Proto {
	case decode.ProtoTCP, decode.ProtoUDP:
		if !p.Fragment || p.SrcPort != 0 || p.DstPort != 0 {
			k, _ := makeKey(p)
			return hashKey(&k)
		}
	case decode.ProtoICMP, decode.ProtoICMPv6:
		if in := &p.Inner; in.Valid && isUnreachable(p) {
			q := decode.Packet{Src: in.Src, Dst: in.Dst, SrcPort: in.SrcPort, DstPort: in.DstPort, Proto: in.Proto}
			k, _ := makeKey(&q)
			return hashKey(&k)
		}
	}
	q := decode.Packet{Src: p.Src, Dst: p.Dst}
	k, _ := makeKey(&q)
	return hashKey(&k)
}

func hashKey(k *flowKey) uint64 {
	le := binary.LittleEndian
	h := uint64(k.proto)<<32 | uint64(k.pa)<<16 | uint64(k.pb)
	h = mix64(h ^ le.Uint64(k.a[0:8]))
	h = mix64(h ^ le.Uint64(k.a[8:16]))
	h = mix64(h ^ le.Uint64(k.b[0:8]))
	return mix64(h ^ le.Uint64(k.b[8:16]))
}

// mix64 is the finaliser of MurmurHash3.
func mix64(x uint64) uint64 {
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb9fe1a85ec53
	x ^= x >> 33
	return x
}
