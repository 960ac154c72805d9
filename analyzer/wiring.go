package analyzer

import (
	"time"

	"github.com/gopacket/gopacket/layers"

	"orchard/capture"
	"orchard/catalog"
	"orchard/flow"
)

// Engine is the analysis: feed it frames in time order (FrameNS, or
// ReadFile and ReadMerged), then call Finish. It wires the same parts in
// one of two ways, chosen by Config.Workers:
//
//   - one worker (serial): the caller's goroutine runs one flowEngine
//     whose sink is the judge, packet by packet;
//   - N workers (Parallel): the caller's goroutine is the reader, N
//     goroutines each run a flowEngine whose sink hands its flows and DNS
//     answers to one judging goroutine, which merges them in input order.
//
// Either way the judge holds no engine: it gets the flows and answers and
// what it needs beside them (judgeEnv). An Engine is not safe for
// concurrent use: feed and read it from one goroutine.
type Engine struct {
	cfg   Config
	cat   *catalog.Catalog
	judge *judge
	run   pipeline
	// par is the N-worker wiring, when there is one (its lanes, stats).
	par *Parallel

	// filter narrows file reading (SetPacketFilter); filterStop is set
	// once it ended the reading.
	filter     PacketFilter
	filterStop bool

	// tl is the span of the capture's timestamps; ends are where the
	// files and the timeline stop (timeline.go).
	tl   timeline
	ends captureEnds
}

// pipeline is one wiring of flow engines and the judge.
type pipeline interface {
	// frame analyses one captured frame.
	frame(link layers.LinkType, frame []byte, ts int64, wireLen int, m frameMeta)
	// flush hands on frames batched so far (live capture on a quiet link).
	flush()
	// idle advances the clock to ns with no packet (live capture).
	idle(ns int64)
	// setRecorder makes the flow engines keep packets for ev's evidence.
	setRecorder(ev *evidence)
	// read is the number of frames handed to the analysis so far.
	read() uint64
	// totals returns the counters so far.
	totals() flow.Stats
	// sync returns once every frame so far is judged, and reports whether
	// a worker faulted on a mapped file since the last call.
	sync() (faulted bool)
	// finish ends the input and judges every flow still open.
	finish()
	// snapshot returns take's view of what is judged so far, taken with
	// the judge at rest, into slabs allocated before.
	snapshot(take func(*viewSlabs) *reportView) *reportView
}

// New returns an Engine for cfg.
func New(cfg Config) (*Engine, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	e := &Engine{cfg: cfg, cat: cfg.Catalog}
	e.judge = newJudge(cfg, &e.ends)
	if cfg.Workers > 1 {
		e.par = newParallel(cfg, e.judge, &e.tl, &e.ends, cfg.Workers)
		e.run = e.par
	} else {
		e.run = &serial{fe: flow.NewEngine(cfg.flowLimits(), e.judge), j: e.judge, tl: &e.tl, ends: &e.ends}
	}
	return e, nil
}

// Stats returns the counters so far.
func (e *Engine) Stats() flow.Stats { return e.run.totals() }

// FrameNS decodes and processes one captured frame. ts is the capture time
// in Unix nanoseconds.
func (e *Engine) FrameNS(link layers.LinkType, frame []byte, ts int64, wireLen int) {
	e.run.frame(link, frame, ts, wireLen, frameMeta{})
}

// capturePacket is FrameNS for a packet read from a capture file, with
// what the file says of it.
func (e *Engine) capturePacket(p *capture.Packet, ts int64) {
	e.run.frame(p.LinkType, p.Data, ts, p.WireLen, frameMeta{proc: p.Proc, pid: p.PID, chunk: p.Chunk, chunkOff: p.ChunkOff})
}

// Flush hands the frames read so far to the workers of a multi-worker
// engine, which otherwise wait for a batch to fill: a live capture calls it
// now and then, so that a quiet link's findings are not held back.
func (e *Engine) Flush() { e.run.flush() }

// Idle tells a live engine that no packet arrived until now, so idle flows
// can expire on a quiet link. Capture files never need it.
func (e *Engine) Idle(now time.Time) { e.run.idle(now.UnixNano()) }

// serial is the one-worker wiring: the caller's goroutine decodes, runs
// the flow engine and judges (the flow engine's sink), packet by packet.
type serial struct {
	fe   *flow.Engine
	j    *judge
	tl   *timeline
	ends *captureEnds
}

func (s *serial) frame(link layers.LinkType, frame []byte, ts int64, wireLen int, m frameMeta) {
	// The span leaves outliers out (timeline.go).
	s.tl.observe(ts)
	s.fe.Frame(link, frame, ts, wireLen, m.proc, m.pid)
}

func (s *serial) flush()        {}
func (s *serial) idle(ns int64) { s.fe.Idle(ns) }
func (s *serial) read() uint64  { return s.fe.Stats.Packets }
func (s *serial) sync() bool    { return false }

func (s *serial) setRecorder(ev *evidence) { s.fe.Keep = &ev.KeepState }

func (s *serial) totals() flow.Stats {
	st := s.fe.Counters()
	st.First, st.Last = s.tl.first, s.tl.last
	return st
}

func (s *serial) finish() {
	s.ends.addSpan(s.tl, 0)
	s.fe.Table.Flush()
}

func (s *serial) snapshot(take func(*viewSlabs) *reportView) *reportView {
	return take(newSlabs(s.j.tableSizes()))
}

// readerIndex is the reader's packet index, which the capture ends filed
// now carry: a Parallel's, or 0 for the one-worker wiring, whose judge
// keeps up with its reader.
func (e *Engine) readerIndex() uint64 {
	if e.par != nil {
		return e.par.idx
	}
	return 0
}
