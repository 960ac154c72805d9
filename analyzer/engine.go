package analyzer

import (
	"net/netip"
	"time"

	"github.com/gopacket/gopacket/layers"

	"orchard/capture"
	"orchard/catalog"
	"orchard/decode"
	"orchard/defrag"
	"orchard/dissect"
	"orchard/flow"
	"orchard/shapes"
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
	Timeouts flow.Timeouts
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
	// answers are compared with (package shapes); nil means the
	// embedded one. LearnShapes, when set, collects the shapes seen.
	ServerShapes, LearnShapes *shapes.Baseline
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
	// Evidence (SetRecorder): packets of open flows not kept (beyond 64
	// a flow or 256 MiB in all), and packets the Recorder failed to write.
	EvidenceDropped uint64 `json:"evidence_dropped,omitempty"`
	EvidenceErrors  uint64 `json:"evidence_errors,omitempty"`
	First           int64  `json:"-"`
	Last            int64  `json:"-"`
	OpenFlows       int    `json:"-"` // flows in the table now
}

// flowEngine turns frames into flows: it decodes them, reassembles IP
// fragments, keeps the flow table (TCP state, stream buffers) and drives
// the dissectors. It hands what it decides, ended flows and DNS answers, to
// its sink and knows nothing of findings, the catalog or other workers.
// One worker is one flowEngine (see Engine for the wirings); it is not
// safe for concurrent use.
type flowEngine struct {
	cfg    Config
	dec    *decode.Decoder
	pkt    decode.Packet
	table  *flow.Table
	stats  Stats
	now    int64
	lastGC int64
	sink   flowSink
	// feeders read flows' payload, one protocol each (feeders.go).
	feeders [numFeeds]feeder

	// dnsMsg is what DNS messages decode into; nothing keeps it past the
	// sink's call.
	dnsMsg dissect.DNSMessage

	// ev, when set, keeps the packets of open flows for evidence; cur is
	// the frame being processed.
	ev  *evidence
	cur flow.FrameRef

	// frag reassembles IP fragments before they reach the flow table.
	frag defrag.Reassembler
}

// flowSink receives what a flowEngine decides. The judge is one (a single
// worker); a worker of a Parallel is another, handing both to the judge's
// goroutine.
type flowSink interface {
	flow.FlowEnder
	// dnsAnswer is told of a DNS response on flow f. a.m is the engine's
	// scratch message: copy what is kept.
	dnsAnswer(f *flow.Flow, a dnsAnswer)
}

// frameMeta is what a capture file says of a frame beyond its bytes.
type frameMeta struct {
	// proc and pid name the frame's process when the file carries it
	// rather than the frame (tcpdump -k pcapng).
	proc string
	pid  int32
	// chunk holds the frame's bytes, at chunkOff, when the capture reader
	// read it into one: a multi-worker reader then hands the workers the
	// frame without copying it.
	chunk    *capture.Chunk
	chunkOff int
}

// withDefaults fills in cfg's unset limits.
func (cfg Config) withDefaults() (Config, error) {
	if cfg.Catalog == nil {
		c, err := catalog.Default()
		if err != nil {
			return cfg, err
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
	return cfg, nil
}

// newFlowEngine returns a flow engine for cfg (with its defaults filled
// in) that hands its flows and DNS answers to sink.
func newFlowEngine(cfg Config, sink flowSink) *flowEngine {
	e := &flowEngine{cfg: cfg, dec: decode.NewDecoder(), sink: sink}
	e.table = flow.NewTable(cfg.MaxFlows, cfg.Timeouts, sink)
	e.table.Pool.Budget = cfg.BufferBudget
	e.table.Side.Budget = cfg.StateBudget
	// DNS names repeat: keep their text; dnsEvent renders addresses.
	e.dnsMsg.InternNames(dnsInternNames)
	e.dnsMsg.NoAddrText = true
	e.feeders = newFeeders(e)
	return e
}

// counters returns the flow engine's counters so far (the times of the
// capture are the wiring's).
func (e *flowEngine) counters() Stats {
	s := e.stats
	s.FlowsEvicted = e.table.Evicted
	s.PeakFlows = e.table.Peak
	s.BufferDenied = e.table.Pool.Denied
	s.StateDenied = e.table.Side.Denied
	s.FragDropped = e.frag.Dropped()
	s.OpenFlows = e.table.Flows.N
	if e.ev != nil {
		s.EvidenceDropped = e.ev.dropped
	}
	return s
}

// frame decodes and processes one captured frame. ts is the capture time;
// proc and pid name its process when the capture file does.
func (e *flowEngine) frame(link layers.LinkType, frame []byte, ts int64, wireLen int, proc string, pid int32) {
	e.stats.Packets++
	e.stats.Bytes += uint64(wireLen)
	// The clock is the latest capture time of any frame, and idle flows
	// expire about once a second of it.
	e.clock(ts)
	p := &e.pkt
	e.cur = flow.FrameRef{Link: link, Frame: frame, TS: ts}
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
	if p.ProcLen == 0 && proc != "" {
		// The file's process name, for a frame without its own (no PKTAP header).
		p.ProcLen = uint8(copy(p.ProcBuf[:], proc))
		p.PID = pid
	}
	e.packet(p, ts)
}

// clock advances the engine's clock to ts and expires idle flows about
// once a second of it.
func (e *flowEngine) clock(ts int64) {
	if ts > e.now {
		e.now = ts
	}
	if e.now-e.lastGC > int64(time.Second) {
		e.lastGC = e.now
		e.table.Expire(e.now)
	}
}

// reassemble files an IP fragment; when it completes its datagram, p
// becomes the whole packet and reassemble reports true.
func (e *flowEngine) reassemble(p *decode.Packet, ts int64) bool {
	e.stats.Fragments++
	dg := e.frag.Add(p, ts)
	if dg == nil || e.dec.Decode(layers.LinkTypeRaw, dg, p) != nil {
		return false
	}
	e.frag.Restore(p)
	e.cur.Link, e.cur.Frame = layers.LinkTypeRaw, dg
	return true
}

// idle tells the engine that no packet arrived until ns, so idle flows
// can expire on a quiet link.
func (e *flowEngine) idle(ns int64) {
	if e.now == 0 || ns-e.now < int64(time.Second) {
		return
	}
	e.now = ns
	e.lastGC = ns
	e.table.Expire(ns)
}

// packet processes one decoded packet at time ts (the engine's clock is
// the caller's to keep).
func (e *flowEngine) packet(p *decode.Packet, ts int64) {
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
	k, srcIsA := flow.MakeKey(p)
	f := e.table.Get(k)
	if f != nil && p.Proto == decode.ProtoTCP && e.isNewConnection(f, p, srcIsA) {
		e.table.End(f, false)
		f = nil
	}
	if f == nil {
		f = e.newFlow(k, p, srcIsA, ts)
	}
	dir := flow.DirServer
	if srcIsA == f.ClientIsA {
		dir = flow.DirClient
	}
	f.Last = ts
	sd := f.Side(dir)
	sd.Packets++
	sd.Bytes += uint64(len(p.Payload))
	if p.HasMAC && !sd.HasMAC {
		sd.MAC, sd.HasMAC = p.SrcMAC, true
	}
	if p.ProcLen > 0 && f.Proc == "" {
		f.Proc, f.PID = p.Proc(), p.PID
	}
	if e.ev != nil && e.cur.Frame != nil {
		e.keep(f)
	}
	if p.Proto == decode.ProtoTCP {
		e.tcp(f, p, dir, ts)
	} else {
		e.table.Touch(f, flow.ClassUDP)
		if len(p.Payload) > 0 {
			e.udpPayload(f, p, dir, ts)
		}
	}
}

// isNewConnection reports whether a SYN reuses the 5-tuple of a finished
// connection (port reuse), which then starts a new flow.
func (e *flowEngine) isNewConnection(f *flow.Flow, p *decode.Packet, srcIsA bool) bool {
	if p.TCPFlags&(decode.FlagSYN|decode.FlagACK) != decode.FlagSYN {
		return false
	}
	if srcIsA != f.ClientIsA {
		return true // a SYN from the old server: a new connection the other way
	}
	closed := f.FirstRST >= 0 || (f.Orig.Hist&flow.HFIN != 0 && f.Resp.Hist&flow.HFIN != 0)
	if f.Orig.Hist&flow.HSYN == 0 {
		return closed // seen from its middle: any SYN after its end is new
	}
	return closed && p.Seq != f.SynSeq
}

func (e *flowEngine) newFlow(k flow.Key, p *decode.Packet, srcIsA bool, ts int64) *flow.Flow {
	f := e.table.Add(k, ts)
	e.stats.Flows++
	f.Proto = p.Proto
	f.VLAN = p.VLAN
	srcClient, sure := orient(p)
	f.Oriented = sure
	if srcClient {
		f.Client, f.Server, f.CPort, f.SPort = p.Src, p.Dst, p.SrcPort, p.DstPort
		f.ClientIsA = srcIsA
	} else {
		f.Client, f.Server, f.CPort, f.SPort = p.Dst, p.Src, p.DstPort, p.SrcPort
		f.ClientIsA = !srcIsA
	}
	e.startFeeders(f)
	return f
}

// orient decides whether the packet's sender is the client, and whether
// that is certain (a SYN) or a guess from ports or payload.
func orient(p *decode.Packet) (srcIsClient, sure bool) {
	if p.Proto == decode.ProtoTCP && p.TCPFlags&decode.FlagSYN != 0 {
		return p.TCPFlags&decode.FlagACK == 0, true
	}
	if p.Proto == decode.ProtoUDP {
		if c, ok := flow.UDPClientGuess(p); ok {
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

func (e *flowEngine) tcp(f *flow.Flow, p *decode.Packet, dir int, ts int64) {
	flags := p.TCPFlags
	sd := f.Side(dir)
	h := &sd.Hist
	if flags&decode.FlagSYN != 0 {
		if flags&decode.FlagACK == 0 {
			if dir == flow.DirClient {
				if *h&flow.HSYN != 0 {
					f.SynRetries++
				} else {
					f.SynSeq = p.Seq
					f.SynTime = ts
				}
			}
			*h |= flow.HSYN
		} else {
			if *h&flow.HSYNACK == 0 {
				f.SynAckTime = ts
			}
			*h |= flow.HSYNACK
		}
		sd.Stream.Start(p.Seq + 1)
	} else if flags&decode.FlagACK != 0 {
		*h |= flow.HACK
	}
	if flags&decode.FlagFIN != 0 {
		*h |= flow.HFIN
	}
	if flags&(decode.FlagSYN|decode.FlagRST) == 0 && (flags&decode.FlagACK != 0 || len(p.Payload) > 0) {
		*h |= flow.HProgress
	}
	sd.SeqAck(p.Seq, p.Ack, flags&decode.FlagSYN != 0, flags&decode.FlagACK != 0, flags&decode.FlagRST != 0)
	switch {
	case flags&decode.FlagRST != 0 && f.RSTReply(dir, p.Seq):
		// Part of the handshake (resets.go): not a reset.
	case flags&decode.FlagRST != 0:
		*h |= flow.HRST
		if f.FirstRST < 0 {
			f.FirstRST = dir
			f.RSTTime = ts
			f.RSTTTL = p.TTL
			f.RSTIPID = p.IPID
			f.RSTGap = ts - f.Side(1-dir).LastSeen
		}
	default:
		f.NotePacket(dir, p, ts)
		if !sd.TTLSet {
			sd.FirstTTL = p.TTL
			sd.TTLSet = true
		}
		sd.LastTTL = p.TTL
		sd.LastIPID = p.IPID
	}
	if len(p.Payload) > 0 {
		*h |= flow.HData
		s := &sd.Stream
		seq := p.Seq
		if flags&decode.FlagSYN != 0 {
			seq++ // data on a SYN (TCP Fast Open) follows the SYN's sequence number
		}
		if s.Add(seq, p.Payload) {
			e.streamGrew(f, dir, ts)
		}
	}
	class := int8(flow.ClassHandshake)
	switch {
	case f.FirstRST >= 0 || (f.Orig.Hist&flow.HFIN != 0 && f.Resp.Hist&flow.HFIN != 0):
		class = flow.ClassClosed
	case f.Established() || (f.Orig.Hist&flow.HData != 0 && f.Resp.Hist&flow.HData != 0):
		class = flow.ClassEstablished
	}
	e.table.Touch(f, class)
}

// icmp joins a destination-unreachable error to the flow it quotes.
func (e *flowEngine) icmp(p *decode.Packet, ts int64) {
	if !p.Inner.Valid || !isUnreachable(p) {
		return
	}
	in := p.Inner
	q := decode.Packet{Src: in.Src, Dst: in.Dst, SrcPort: in.SrcPort, DstPort: in.DstPort, Proto: in.Proto}
	k, _ := flow.MakeKey(&q)
	f := e.table.Get(k)
	if f == nil {
		return
	}
	f.ICMPCount++
	f.ICMPCode, f.ICMPFrom = p.ICMPCode, p.Src
	f.Last = ts
}

func isUnreachable(p *decode.Packet) bool {
	if p.Proto == decode.ProtoICMP {
		return p.ICMPType == 3
	}
	return p.ICMPType == 1
}

func addrString(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	return a.Unmap().String()
}
