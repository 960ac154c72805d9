package flow

import (
	"time"

	"github.com/gopacket/gopacket/layers"

	"orchard/decode"
	"orchard/defrag"
	"orchard/dissect"
)

// Limits are a flow engine's caps: its table's (MaxFlows, Timeouts), its
// stream buffers' (ClientBuffer, ServerBuffer, BufferBudget) and its
// dissectors' state (StateBudget). All must be set.
type Limits struct {
	MaxFlows                   int
	Timeouts                   Timeouts
	ClientBuffer, ServerBuffer int
	BufferBudget, StateBudget  int
}

// Engine turns frames into flows: it decodes them, reassembles IP
// fragments, keeps the flow table (TCP state, stream buffers) and drives
// the dissectors. It hands what it decides, ended flows and DNS answers, to
// its sink and knows nothing of findings, the catalog or other workers.
// One worker is one Engine (the analyzer's Engine wires one or several);
// it is not safe for concurrent use.
type Engine struct {
	lim    Limits
	Dec    *decode.Decoder
	pkt    decode.Packet
	Table  *Table
	Stats  Stats
	Now    int64
	LastGC int64
	sink   Sink
	// feeders read flows' payload, one protocol each (feeders.go).
	feeders [numFeeds]feeder
	// bufLimits is each set of feeders' stream limit by direction.
	bufLimits [feederSets][2]int32

	// dnsMsg is what DNS messages decode into; nothing keeps it past the
	// sink's call.
	dnsMsg dissect.DNSMessage

	// Keep, when set, keeps the packets of open flows for evidence; Cur is
	// the frame being processed.
	Keep *KeepState
	Cur  FrameRef

	// Frag reassembles IP fragments before they reach the flow table.
	Frag defrag.Reassembler
}

// Sink receives what an Engine decides. The judge is one (a single
// worker); a worker of a Parallel is another, handing both to the judge's
// goroutine.
type Sink interface {
	FlowEnder
	// Answer is told of a DNS response on flow f. a.Msg is the engine's
	// scratch message: copy what is kept.
	Answer(f *Flow, a Answer)
}

// NewEngine returns a flow engine within lim that hands its flows and
// DNS answers to sink.
func NewEngine(lim Limits, sink Sink) *Engine {
	e := &Engine{lim: lim, Dec: decode.NewDecoder(), sink: sink}
	e.Table = NewTable(lim.MaxFlows, lim.Timeouts, sink)
	e.Table.Pool.budget = lim.BufferBudget
	e.Table.Side.budget = lim.StateBudget
	// DNS names repeat: keep their text; the judge renders addresses.
	e.dnsMsg.InternNames(dnsInternNames)
	e.dnsMsg.NoAddrText = true
	e.feeders = newFeeders(e)
	e.bufLimits = e.bufferLimits()
	return e
}

// Counters returns the flow engine's counters so far (the times of the
// capture are the wiring's).
func (e *Engine) Counters() Stats {
	s := e.Stats
	s.FlowsEvicted = e.Table.Evicted
	s.PeakFlows = e.Table.peak
	s.BufferDenied = e.Table.Pool.denied
	s.StateDenied = e.Table.Side.denied
	s.FragDropped = e.Frag.Dropped()
	s.OpenFlows = e.Table.Flows.N
	if e.Keep != nil {
		s.EvidenceDropped = e.Keep.dropped
	}
	return s
}

// Frame decodes and processes one captured frame. ts is the capture time;
// proc and pid name its process when the capture file does.
func (e *Engine) Frame(link layers.LinkType, frame []byte, ts int64, wireLen int, proc string, pid int32) {
	e.Stats.Packets++
	e.Stats.Bytes += uint64(wireLen)
	// The clock is the latest capture time of any frame, and idle flows
	// expire about once a second of it.
	e.Clock(ts)
	p := &e.pkt
	e.Cur = FrameRef{Link: link, Frame: frame, TS: ts}
	if err := e.Dec.Decode(link, frame, p); err != nil {
		switch err {
		case decode.ErrNotIP:
			e.Stats.NonIP++
		case decode.ErrUnsupportedLink:
			e.Stats.Unsupported++
		default:
			e.Stats.Undecodable++
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
	e.Packet(p, ts)
}

// Clock advances the engine's clock to ts and expires idle flows about
// once a second of it.
func (e *Engine) Clock(ts int64) {
	if ts > e.Now {
		e.Now = ts
	}
	if e.Now-e.LastGC > int64(time.Second) {
		e.LastGC = e.Now
		e.Table.Expire(e.Now)
	}
}

// reassemble files an IP fragment; when it completes its datagram, p
// becomes the whole packet and reassemble reports true.
func (e *Engine) reassemble(p *decode.Packet, ts int64) bool {
	e.Stats.Fragments++
	dg := e.Frag.Add(p, ts)
	if dg == nil || e.Dec.Decode(layers.LinkTypeRaw, dg, p) != nil {
		return false
	}
	e.Frag.Restore(p)
	e.Cur.Link, e.Cur.Frame = layers.LinkTypeRaw, dg
	return true
}

// Idle tells the engine that no packet arrived until ns, so idle flows
// can expire on a quiet link.
func (e *Engine) Idle(ns int64) {
	if e.Now == 0 || ns-e.Now < int64(time.Second) {
		return
	}
	e.Now = ns
	e.LastGC = ns
	e.Table.Expire(ns)
}

// Packet processes one decoded packet at time ts (the engine's clock is
// the caller's to keep).
func (e *Engine) Packet(p *decode.Packet, ts int64) {
	switch p.Proto {
	case decode.ProtoTCP:
		e.Stats.TCP++
	case decode.ProtoUDP:
		e.Stats.UDP++
	case decode.ProtoICMP, decode.ProtoICMPv6:
		e.Stats.ICMP++
		e.ICMP(p, ts)
		return
	default:
		return
	}
	if p.Fragment && p.SrcPort == 0 && p.DstPort == 0 {
		e.Stats.Fragments++
		return
	}
	if p.Fragment {
		e.Stats.Fragments++
	}
	k, srcIsA := makeKey(p)
	f, h := e.Table.find(&k)
	if f != nil && p.Proto == decode.ProtoTCP && e.isNewConnection(f, p, srcIsA) {
		e.Table.End(f, false)
		f = nil
	}
	if f == nil {
		f = e.newFlow(k, h, p, srcIsA, ts)
	}
	dir := DirServer
	if srcIsA == f.clientIsA {
		dir = DirClient
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
	if e.Keep != nil && e.Cur.Frame != nil {
		e.keep(f)
	}
	if p.Proto == decode.ProtoTCP {
		e.tcp(f, p, dir, ts)
	} else {
		e.Table.touch(f, classUDP)
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
	closed := f.FirstRST >= 0 || (f.Orig.Hist&HFIN != 0 && f.Resp.Hist&HFIN != 0)
	if f.Orig.Hist&HSYN == 0 {
		return closed // seen from its middle: any SYN after its end is new
	}
	return closed && p.Seq != f.synSeq
}

// newFlow adds the flow of p, whose key k has hash h.
func (e *Engine) newFlow(k Key, h uint64, p *decode.Packet, srcIsA bool, ts int64) *Flow {
	f := e.Table.add(k, h, ts)
	e.Stats.Flows++
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
	sd := f.Side(dir)
	h := &sd.Hist
	if flags&decode.FlagSYN != 0 {
		if flags&decode.FlagACK == 0 {
			if dir == DirClient {
				if *h&HSYN != 0 {
					f.SynRetries++
				} else {
					f.synSeq = p.Seq
					f.SynTime = ts
				}
			}
			*h |= HSYN
		} else {
			if *h&HSYNACK == 0 {
				f.SynAckTime = ts
			}
			*h |= HSYNACK
		}
		sd.Stream.Start(p.Seq + 1)
	} else if flags&decode.FlagACK != 0 {
		*h |= HACK
	}
	if flags&decode.FlagFIN != 0 {
		*h |= HFIN
	}
	if flags&(decode.FlagSYN|decode.FlagRST) == 0 && (flags&decode.FlagACK != 0 || len(p.Payload) > 0) {
		*h |= HProgress
	}
	sd.seqAck(p.Seq, p.Ack, flags&decode.FlagSYN != 0, flags&decode.FlagACK != 0, flags&decode.FlagRST != 0)
	switch {
	case flags&decode.FlagRST != 0 && f.rstReply(dir, p.Seq):
		// Part of the handshake (resets.go): not a reset.
	case flags&decode.FlagRST != 0:
		*h |= HRST
		if f.FirstRST < 0 {
			f.FirstRST = dir
			f.RSTTime = ts
			f.RSTTTL = p.TTL
			f.RSTIPID = p.IPID
			f.RSTGap = ts - f.Side(1-dir).lastSeen
		}
	default:
		f.notePacket(dir, p, ts)
		if !sd.TTLSet {
			sd.FirstTTL = p.TTL
			sd.TTLSet = true
		}
		sd.LastTTL = p.TTL
		sd.LastIPID = p.IPID
	}
	if len(p.Payload) > 0 {
		*h |= HData
		s := &sd.Stream
		seq := p.Seq
		if flags&decode.FlagSYN != 0 {
			seq++ // data on a SYN (TCP Fast Open) follows the SYN's sequence number
		}
		if s.Add(seq, p.Payload) {
			e.streamGrew(f, dir, ts)
		}
	}
	class := int8(classHandshake)
	switch {
	case f.FirstRST >= 0 || (f.Orig.Hist&HFIN != 0 && f.Resp.Hist&HFIN != 0):
		class = classClosed
	case f.Established() || (f.Orig.Hist&HData != 0 && f.Resp.Hist&HData != 0):
		class = classEstablished
	}
	e.Table.touch(f, class)
}

// ICMP joins a destination-unreachable error to the flow it quotes.
func (e *Engine) ICMP(p *decode.Packet, ts int64) {
	if !p.Inner.Valid || !isUnreachable(p) {
		return
	}
	in := p.Inner
	q := decode.Packet{Src: in.Src, Dst: in.Dst, SrcPort: in.SrcPort, DstPort: in.DstPort, Proto: in.Proto}
	k, _ := makeKey(&q)
	f := e.Table.Get(k)
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
