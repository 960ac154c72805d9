package analyzer

import (
	"net/netip"
	"time"

	"github.com/gopacket/gopacket/layers"

	"orchard/capture"
	"orchard/catalog"
	"orchard/decode"
	"orchard/dissect"
)

// Config tunes an Engine. The zero value plus a catalog is a working setup.
type Config struct {
	// Catalog judges flows; nil means the embedded default catalog.
	Catalog *catalog.Catalog
	// MaxFlows caps the flow table (default 65536: 512 bytes a flow, plus
	// the dissector state under StateBudget); the oldest flow is evicted,
	// and counted, when it is full.
	MaxFlows int
	// MaxDNS caps the DNS answer cache (default 131072 addresses).
	MaxDNS int
	// Timeouts are the flow table's idle timeouts by packet time.
	Timeouts Timeouts
	// ClientBuffer and ServerBuffer cap the bytes kept per direction for
	// the dissectors (defaults 16 KiB and 64 KiB).
	ClientBuffer, ServerBuffer int
	// BufferBudget caps the bytes held in all stream buffers together
	// (default 64 MiB): beyond it new bytes are not kept, and the streams
	// that were refused are counted in Stats.BufferDenied.
	BufferBudget int
	// StateBudget caps the memory of the dissectors' per-flow state
	// together (facts, QUIC assemblers, TLS parsers, ClientHellos,
	// certificates; default 64 MiB): beyond it flows are not dissected,
	// and the refusals are counted in Stats.StateDenied.
	StateBudget int
	// AllHosts reports findings for non-Apple endpoints too.
	AllHosts bool
	// Sink receives events as they are decided; may be nil. With several
	// workers it is still called from one goroutine at a time, in the
	// order a single-threaded engine would call it.
	Sink Sink
	// Workers is the number of analysis goroutines: 0 or 1 analyses in
	// the caller's goroutine; more shard flows over that many workers
	// (see Parallel), with identical results.
	Workers int
	// ServerShapes is the baseline of Apple's server shapes that TLS
	// answers are compared with (intercept_shapes.go); nil means the
	// embedded one. LearnShapes, when set, collects the shapes seen.
	ServerShapes, LearnShapes *ShapeBaseline
}

// DefaultMaxFlows is the flow table's cap unless Config.MaxFlows says
// otherwise: with the other caps' worth, it keeps a run under 300 MB.
const DefaultMaxFlows = 65536

// Sink receives the engine's events as they happen. Implementations must
// copy what they keep: events are reused after the call returns.
type Sink interface {
	Flow(*FlowEvent)
	DNS(*DNSEvent)
	Finding(*Finding)
}

// Stats counts what the engine saw.
type Stats struct {
	Packets      uint64 `json:"packets"`
	Bytes        uint64 `json:"bytes"`
	TCP          uint64 `json:"tcp"`
	UDP          uint64 `json:"udp"`
	ICMP         uint64 `json:"icmp"`
	NonIP        uint64 `json:"non_ip"`
	Fragments    uint64 `json:"fragments"`
	FragDropped  uint64 `json:"fragments_dropped,omitempty"` // datagrams never completed (or over the limits)
	Undecodable  uint64 `json:"undecodable"`
	Unsupported  uint64 `json:"unsupported_link"`
	Flows        uint64 `json:"flows"`
	FlowsEvicted uint64 `json:"flows_evicted"`
	PeakFlows    int    `json:"peak_flows"`
	DNSResponses uint64 `json:"dns_responses"`
	Malformed    uint64 `json:"malformed"`               // application messages the dissectors rejected
	BufferDenied uint64 `json:"buffer_denied,omitempty"` // streams not buffered because BufferBudget was spent
	StateDenied  uint64 `json:"state_denied,omitempty"`  // dissector state refused because StateBudget was spent
	First        int64  `json:"-"`
	Last         int64  `json:"-"`
	OpenFlows    int    `json:"-"` // flows in the table now
}

// Engine is the single-threaded analysis pipeline: feed it packets in time
// order, then call Finish. It is not safe for concurrent use.
type Engine struct {
	cfg   Config
	cat   *catalog.Catalog
	dec   *decode.Decoder
	pkt   decode.Packet
	table *table
	dns   *dnsCache
	// addrRows caches server addresses' catalog rows (addrcache.go).
	addrRows addrRows
	stats    Stats
	now      int64
	lastGC   int64
	judge    *judge
	devs     devices
	ev       *evidence
	chains   chainCache

	// filter narrows file reading (SetPacketFilter); filterStop is set
	// once it ended the reading.
	filter     PacketFilter
	filterStop bool

	// par runs the analysis on several workers (Config.Workers > 1).
	par *Parallel
	// w is set when this engine is one worker of a Parallel.
	w *worker
	// statsFn replaces Stats for the judging engine of a Parallel.
	statsFn func() Stats

	// tl is the span of the capture's timestamps; ends are where the
	// files and the timeline stop (timeline.go).
	tl   timeline
	ends captureEnds

	// frag reassembles IP fragments before they reach the flow table.
	frag defrag

	// procHint and pidHint name the process of the next frame when the
	// capture file carries it rather than the frame (tcpdump -k pcapng).
	procHint string
	pidHint  int32
	// chunk holds the next frame's bytes, at chunkOff, when the capture
	// reader read it into one: a multi-worker reader then hands the
	// workers the frame without copying it.
	chunk    *capture.Chunk
	chunkOff int

	// the frame being processed, for evidence
	curLink  layers.LinkType
	curFrame []byte
	curTS    int64
}

// New returns an Engine for cfg.
func New(cfg Config) (*Engine, error) {
	if cfg.Catalog == nil {
		c, err := catalog.Default()
		if err != nil {
			return nil, err
		}
		cfg.Catalog = c
	}
	if cfg.MaxFlows <= 0 {
		cfg.MaxFlows = DefaultMaxFlows
	}
	if cfg.MaxDNS <= 0 {
		cfg.MaxDNS = 131072
	}
	if cfg.ClientBuffer <= 0 {
		cfg.ClientBuffer = 16 << 10
	}
	if cfg.ServerBuffer <= 0 {
		cfg.ServerBuffer = 64 << 10
	}
	if cfg.BufferBudget <= 0 {
		cfg.BufferBudget = 64 << 20
	}
	if cfg.StateBudget <= 0 {
		cfg.StateBudget = 64 << 20
	}
	cfg.ClientBuffer = min(cfg.ClientBuffer, 1<<30)
	cfg.ServerBuffer = min(cfg.ServerBuffer, 1<<30)
	e := &Engine{cfg: cfg, cat: cfg.Catalog, dec: decode.NewDecoder()}
	e.addrRows.init()
	e.table = newTable(cfg.MaxFlows, cfg.Timeouts, e.flowEnded)
	e.table.pool.budget = cfg.BufferBudget
	e.table.side.budget = cfg.StateBudget
	e.dns = newDNSCache(cfg.MaxDNS)
	e.judge = newJudge(e)
	// DNS names repeat: keep their text; dnsEvent renders addresses.
	e.judge.dnsScratch.InternNames(dnsInternNames)
	e.judge.dnsScratch.NoAddrText = true
	e.devs = devices{m: make(map[netip.Addr]*DeviceSummary)}
	if cfg.Workers > 1 {
		e.par = newParallel(e, cfg.Workers)
	}
	return e, nil
}

// Stats returns the counters so far.
func (e *Engine) Stats() Stats {
	if e.statsFn != nil {
		return e.statsFn()
	}
	s := e.stats
	s.FlowsEvicted = e.table.evicted
	s.PeakFlows = e.table.peak
	s.BufferDenied = e.table.pool.denied
	s.StateDenied = e.table.side.denied
	s.FragDropped = e.frag.dropped
	s.First, s.Last = e.tl.first, e.tl.last
	s.OpenFlows = e.table.flows.n
	return s
}

// Frame decodes and processes one captured frame. ts is the capture time.
func (e *Engine) Frame(link layers.LinkType, frame []byte, ts time.Time, wireLen int) {
	e.FrameNS(link, frame, ts.UnixNano(), wireLen)
}

// FrameNS is Frame with the time in Unix nanoseconds.
func (e *Engine) FrameNS(link layers.LinkType, frame []byte, ts int64, wireLen int) {
	if e.par != nil {
		e.par.frame(link, frame, ts, wireLen)
		return
	}
	e.stats.Packets++
	e.stats.Bytes += uint64(wireLen)
	// The span leaves outliers out; the clock is the latest capture time
	// of any frame, and idle flows expire about once a second of it.
	e.tl.observe(ts)
	if ts > e.now {
		e.now = ts
	}
	if e.now-e.lastGC > int64(time.Second) {
		e.lastGC = e.now
		e.table.expire(e.now)
		e.judge.tick(e.now)
	}
	p := &e.pkt
	e.curLink, e.curFrame, e.curTS = link, frame, ts
	if err := e.dec.Decode(link, frame, p); err != nil {
		switch err {
		case decode.ErrNotIP:
			e.stats.NonIP++
		case decode.ErrUnsupportedLink:
			e.stats.Unsupported++
		default:
			e.stats.Undecodable++
		}
		return
	}
	p.WireLen = wireLen
	if p.Fragment && !e.reassemble(p, ts) {
		return
	}
	e.applyProcHint(p)
	e.packet(p, ts)
}

// reassemble files an IP fragment; when it completes its datagram, p
// becomes the whole packet and reassemble reports true.
func (e *Engine) reassemble(p *decode.Packet, ts int64) bool {
	e.stats.Fragments++
	dg := e.frag.add(p, ts)
	if dg == nil || e.dec.Decode(layers.LinkTypeRaw, dg, p) != nil {
		return false
	}
	e.frag.done.restore(p)
	e.curLink, e.curFrame = layers.LinkTypeRaw, dg
	return true
}

// applyProcHint gives a decoded packet the file's process name when its
// frame had none of its own (no PKTAP header).
func (e *Engine) applyProcHint(p *decode.Packet) {
	if p.ProcLen == 0 && e.procHint != "" {
		p.ProcLen = uint8(copy(p.ProcBuf[:], e.procHint))
		p.PID = e.pidHint
	}
}

// Flush hands the frames read so far to the workers of a multi-worker
// engine, which otherwise wait for a batch to fill: a live capture calls it
// now and then, so that a quiet link's findings are not held back.
func (e *Engine) Flush() {
	if e.par != nil {
		e.par.flushPending()
	}
}

// Idle tells a live engine that no packet arrived until now, so idle flows
// can expire on a quiet link. Capture files never need it.
func (e *Engine) Idle(now time.Time) {
	if e.par != nil {
		e.par.idle(now.UnixNano())
		return
	}
	ns := now.UnixNano()
	if e.now == 0 || ns-e.now < int64(time.Second) {
		return
	}
	e.now = ns
	e.lastGC = ns
	e.table.expire(ns)
}

// Packet processes one decoded packet. It bypasses the workers of a
// multi-worker engine: use FrameNS there.
func (e *Engine) Packet(p *decode.Packet, ts int64) {
	e.tl.observe(ts)
	if ts > e.now {
		e.now = ts
	}
	e.packet(p, ts)
}

// packet is Packet for a frame whose time FrameNS (or a Parallel's
// reader) has filed in the timeline already.
func (e *Engine) packet(p *decode.Packet, ts int64) {
	// Expire idle flows about once a second of capture time (a worker
	// expires when the reader's clock says so).
	if e.w == nil && e.now-e.lastGC > int64(time.Second) {
		e.lastGC = e.now
		e.table.expire(e.now)
		e.judge.tick(e.now)
	}
	switch p.Proto {
	case decode.ProtoTCP:
		e.stats.TCP++
	case decode.ProtoUDP:
		e.stats.UDP++
	case decode.ProtoICMP, decode.ProtoICMPv6:
		e.stats.ICMP++
		e.icmp(p, ts)
		return
	default:
		return
	}
	if p.Fragment && p.SrcPort == 0 && p.DstPort == 0 {
		e.stats.Fragments++
		return
	}
	if p.Fragment {
		e.stats.Fragments++
	}
	k, srcIsA := makeKey(p)
	f := e.table.get(k)
	if f != nil && p.Proto == decode.ProtoTCP && e.isNewConnection(f, p, srcIsA) {
		e.table.end(f, false)
		f = nil
	}
	if f == nil {
		f = e.newFlow(k, p, srcIsA, ts)
	}
	dir := dirServer
	if srcIsA == f.clientIsA {
		dir = dirClient
	}
	f.Last = ts
	sd := f.side(dir)
	sd.Packets++
	sd.Bytes += uint64(len(p.Payload))
	if p.HasMAC && !sd.hasMAC {
		sd.mac, sd.hasMAC = p.SrcMAC, true
	}
	if p.ProcLen > 0 && f.Proc == "" {
		f.Proc, f.PID = p.Proc(), p.PID
	}
	if e.ev != nil && e.curFrame != nil {
		e.keep(f)
	}
	if p.Proto == decode.ProtoTCP {
		e.tcp(f, p, dir, ts)
	} else {
		e.table.touch(f, classUDP)
		if len(p.Payload) > 0 {
			e.udpPayload(f, p, dir, ts)
		}
	}
}

// isNewConnection reports whether a SYN reuses the 5-tuple of a finished
// connection (port reuse), which then starts a new flow.
func (e *Engine) isNewConnection(f *Flow, p *decode.Packet, srcIsA bool) bool {
	if p.TCPFlags&(decode.FlagSYN|decode.FlagACK) != decode.FlagSYN {
		return false
	}
	if srcIsA != f.clientIsA {
		return true // a SYN from the old server: a new connection the other way
	}
	closed := f.firstRST >= 0 || (f.Orig.hist&hFIN != 0 && f.Resp.hist&hFIN != 0)
	if f.Orig.hist&hSYN == 0 {
		return closed // seen from its middle: any SYN after its end is new
	}
	return closed && p.Seq != f.synSeq
}

func (e *Engine) newFlow(k flowKey, p *decode.Packet, srcIsA bool, ts int64) *Flow {
	f := e.table.add(k, ts)
	e.stats.Flows++
	f.Proto = p.Proto
	f.VLAN = p.VLAN
	srcClient, sure := orient(p)
	f.oriented = sure
	if srcClient {
		f.Client, f.Server, f.CPort, f.SPort = p.Src, p.Dst, p.SrcPort, p.DstPort
		f.clientIsA = srcIsA
	} else {
		f.Client, f.Server, f.CPort, f.SPort = p.Dst, p.Src, p.DstPort, p.SrcPort
		f.clientIsA = !srcIsA
	}
	f.Orig.stream.limit = int32(e.cfg.ClientBuffer)
	f.Resp.stream.limit = int32(e.cfg.ServerBuffer)
	f.Orig.stream.pool = &e.table.pool
	f.Resp.stream.pool = &e.table.pool
	return f
}

// orient decides whether the packet's sender is the client, and whether
// that is certain (a SYN) or a guess from ports or payload.
func orient(p *decode.Packet) (srcIsClient, sure bool) {
	if p.Proto == decode.ProtoTCP && p.TCPFlags&decode.FlagSYN != 0 {
		return p.TCPFlags&decode.FlagACK == 0, true
	}
	if p.Proto == decode.ProtoUDP {
		if c, ok := udpClientGuess(p); ok {
			return c, true
		}
	}
	sp, dp := servicePort(p.SrcPort), servicePort(p.DstPort)
	switch {
	case dp && !sp:
		return true, false
	case sp && !dp:
		return false, false
	}
	return p.SrcPort > p.DstPort, false
}

// servicePort reports ports that are a server's rather than a client's.
func servicePort(p uint16) bool {
	switch p {
	case 53, 80, 123, 443, 853, 2197, 5223, 8080, 3128, 8443, 993, 587, 22:
		return true
	}
	return p < 1024
}

func (e *Engine) tcp(f *Flow, p *decode.Packet, dir int, ts int64) {
	flags := p.TCPFlags
	sd := f.side(dir)
	h := &sd.hist
	if flags&decode.FlagSYN != 0 {
		if flags&decode.FlagACK == 0 {
			if dir == dirClient {
				if *h&hSYN != 0 {
					f.SynRetries++
				} else {
					f.synSeq = p.Seq
					f.synTime = ts
				}
			}
			*h |= hSYN
		} else {
			if *h&hSYNACK == 0 {
				f.synAckTime = ts
			}
			*h |= hSYNACK
		}
		sd.stream.start(p.Seq + 1)
	} else if flags&decode.FlagACK != 0 {
		*h |= hACK
	}
	if flags&decode.FlagFIN != 0 {
		*h |= hFIN
	}
	if flags&(decode.FlagSYN|decode.FlagRST) == 0 && (flags&decode.FlagACK != 0 || len(p.Payload) > 0) {
		*h |= hProgress
	}
	sd.seqAck(p.Seq, p.Ack, flags&decode.FlagSYN != 0, flags&decode.FlagACK != 0, flags&decode.FlagRST != 0)
	switch {
	case flags&decode.FlagRST != 0 && f.rstReply(dir, p.Seq):
		// Part of the handshake (resets.go): not a reset.
	case flags&decode.FlagRST != 0:
		*h |= hRST
		if f.firstRST < 0 {
			f.firstRST = dir
			f.RSTTime = ts
			f.RSTTTL = p.TTL
			f.RSTIPID = p.IPID
			f.rstGap = ts - f.side(1-dir).lastSeen
		}
	default:
		f.notePacket(dir, p, ts)
		if !sd.ttlSet {
			sd.firstTTL = p.TTL
			sd.ttlSet = true
		}
		sd.lastTTL = p.TTL
		sd.lastIPID = p.IPID
	}
	if len(p.Payload) > 0 {
		*h |= hData
		s := &sd.stream
		seq := p.Seq
		if flags&decode.FlagSYN != 0 {
			seq++ // data on a SYN (TCP Fast Open) follows the SYN's sequence number
		}
		if s.add(seq, p.Payload) {
			e.streamGrew(f, dir, ts)
			// streamGrew may have turned the flow around: check both sides.
			for d := range 2 {
				if s := &f.side(d).stream; !s.closed() && !wantsMore(f, d) {
					s.release()
				}
			}
		}
	}
	class := int8(classHandshake)
	switch {
	case f.firstRST >= 0 || (f.Orig.hist&hFIN != 0 && f.Resp.hist&hFIN != 0):
		class = classClosed
	case f.Established() || (f.Orig.hist&hData != 0 && f.Resp.hist&hData != 0):
		class = classEstablished
	}
	e.table.touch(f, class)
}

// icmp joins a destination-unreachable error to the flow it quotes.
func (e *Engine) icmp(p *decode.Packet, ts int64) {
	if !p.Inner.Valid || !isUnreachable(p) {
		return
	}
	in := p.Inner
	q := decode.Packet{Src: in.Src, Dst: in.Dst, SrcPort: in.SrcPort, DstPort: in.DstPort, Proto: in.Proto}
	k, _ := makeKey(&q)
	f := e.table.get(k)
	if f == nil {
		return
	}
	f.ICMPCount++
	f.ICMPType, f.ICMPCode, f.ICMPFrom = p.ICMPType, p.ICMPCode, p.Src
	f.Last = ts
}

func isUnreachable(p *decode.Packet) bool {
	if p.Proto == decode.ProtoICMP {
		return p.ICMPType == 3
	}
	return p.ICMPType == 1
}

// flowEnded is called by the table when a flow expires, is evicted or the
// input ends.
func (e *Engine) flowEnded(f *Flow, evicted bool) {
	if e.w != nil {
		e.w.flowEnded(f, evicted)
		return
	}
	e.finishApp(f)
	e.judge.flow(f, evicted)
}

func addrString(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	return a.Unmap().String()
}

// wantsMore reports whether a dissector may still read direction dir's
// buffer. Once none will, the buffer is dropped and later segments cost
// only their counters.
func wantsMore(f *Flow, dir int) bool {
	if f.SPort == 53 || f.CPort == 53 {
		return true // DNS over TCP: every message
	}
	a := f.app
	if a == nil || !a.half[dir].tlsDone {
		return true
	}
	if a.half[dir].httpTried || a.half[dir].tlsStart != 0 {
		return false
	}
	b := f.side(dir).stream.buf
	if dir == dirClient {
		// A request method is at most 9 letters and a space.
		return len(b) < 16 || dissect.LooksLikeHTTPRequest(b)
	}
	return len(b) < 5 || string(b[:5]) == "HTTP/"
}
