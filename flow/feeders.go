package flow

import (
	"math"

	"orchard/decode"
)

// A feeder reads one protocol from a flow's payload, as OpenGFW's
// analyzers are fed a stream and Packetbeat's TCP plugins a parser's
// bytes. Which feeders a flow gets is chosen when it starts, from its
// protocol and ports; each direction's stream keeps the set of its
// feeders that still want more (stream.wants). A TCP direction is
// buffered while any of its feeders wants more, and its buffer let go
// once none does: later segments then cost only their counters.
type feeder interface {
	// feed gives the feeder what direction dir sent: for TCP the whole
	// stream buffered so far (the feeder remembers where it stopped), for
	// UDP one datagram. It reports done when it needs no more of dir. A
	// feeder may turn the flow around (a ClientHello from the side taken
	// for the server); done then speaks of the side the bytes came from.
	feed(f *Flow, dir int, b []byte, ts int64) (done bool)
	// limit is the most bytes of a direction's stream the feeder reads:
	// a TCP direction buffers no more than the largest limit of its
	// feeders (and the configured buffer). Datagram feeders read no stream.
	limit(dir int) int
}

// Feeders, in the order they read a flow's bytes: HTTP before TLS, since
// a CONNECT's tunnel carries TLS after the proxy's answer.
const (
	FeedDNS = iota // DNS messages, over UDP or TCP
	FeedHTTP
	FeedTLS
	FeedNTP
	FeedQUIC
	numFeeds
)

// newFeeders returns an engine's feeders, indexed by their constants.
func newFeeders(e *Engine) [numFeeds]feeder {
	return [numFeeds]feeder{
		FeedDNS:  dnsFeeder{e},
		FeedHTTP: httpFeeder{e},
		FeedTLS:  tlsFeeder{e},
		FeedNTP:  ntpFeeder{e},
		FeedQUIC: quicFeeder{e},
	}
}

// noLimit is the limit of a feeder that reads every byte (DNS over TCP).
const noLimit = math.MaxInt32

// startFeeders chooses the feeders of a new flow, and sizes its streams
// by their limits.
func (e *Engine) startFeeders(f *Flow) {
	var set uint8
	switch {
	case f.Proto != decode.ProtoTCP:
		set = udpFeeders(f)
	case f.SPort == 53 || f.CPort == 53:
		set = 1 << FeedDNS
	default:
		set = 1<<FeedHTTP | 1<<FeedTLS
	}
	f.Orig.Stream.Wants, f.Resp.Stream.Wants = set, set
	if set == 1<<FeedQUIC {
		f.Resp.Stream.Wants = 0 // the server's datagrams are not read
	}
	if f.Proto != decode.ProtoTCP {
		return
	}
	lim := &e.bufLimits[set]
	f.Orig.Stream.Limit, f.Resp.Stream.Limit = lim[DirClient], lim[DirServer]
	f.Orig.Stream.Pool, f.Resp.Stream.Pool = &e.Table.Pool, &e.Table.Pool
}

// feederSets is the number of sets of feeders a flow can have.
const feederSets = 1 << numFeeds

// bufferLimits returns, for every set of feeders, what a TCP direction
// read by that set buffers at most: the largest limit of its feeders, and
// no more than the configured buffer. A new flow looks its set up instead
// of asking each feeder.
func (e *Engine) bufferLimits() (out [feederSets][2]int32) {
	for set := range out {
		for dir, size := range [2]int{e.lim.ClientBuffer, e.lim.ServerBuffer} {
			most := 0
			for k := range e.feeders {
				if set&(1<<k) != 0 {
					most = max(most, e.feeders[k].limit(dir))
				}
			}
			out[set][dir] = int32(min(size, most))
		}
	}
	return out
}

// udpFeeders chooses a UDP flow's feeders by its ports.
func udpFeeders(f *Flow) uint8 {
	switch {
	case f.SPort == 53 || f.SPort == 5353 && f.CPort == 5353 || f.CPort == 53:
		return 1 << FeedDNS
	case f.SPort == 123 || f.CPort == 123:
		return 1 << FeedNTP
	}
	return 1 << FeedQUIC
}

// streamGrew feeds a TCP direction's buffer, after it grew, to its
// feeders that want more, and lets go of each direction's buffer once
// none of its feeders does.
func (e *Engine) streamGrew(f *Flow, dir int, ts int64) {
	if e.Table.Facts(f) == nil {
		return // the state budget is spent: the buffer stays, unread
	}
	e.feedAll(f, dir, nil, true, ts)
	for _, sd := range [2]*Endpoint{&f.Orig, &f.Resp} {
		if s := &sd.Stream; !s.Closed() && s.Wants == 0 {
			s.Release()
		}
	}
}

// udpPayload feeds one UDP datagram to its direction's feeders.
func (e *Engine) udpPayload(f *Flow, p *decode.Packet, dir int, ts int64) {
	e.feedAll(f, dir, p.Payload, false, ts)
}

// feedAll gives direction dir's bytes (a datagram, or with stream its
// stream's buffer) to each of its feeders that wants more, in order, and
// notes those done.
func (e *Engine) feedAll(f *Flow, dir int, datagram []byte, stream bool, ts int64) {
	sd := f.Side(dir)
	isA := f.clientIsA
	for k := range e.feeders {
		bit := uint8(1) << k
		if sd.Stream.Wants&bit == 0 {
			continue
		}
		b := datagram
		if stream {
			b = sd.Stream.Buf
		}
		done := e.feeders[k].feed(f, dir, b, ts)
		if f.clientIsA != isA {
			// The feeder turned the flow around: the bytes are the
			// other side's now.
			isA, dir = f.clientIsA, 1-dir
			sd = f.Side(dir)
		}
		if done {
			sd.Stream.Wants &^= bit
		}
	}
}
