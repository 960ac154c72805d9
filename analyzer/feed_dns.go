package analyzer

import (
	"orchard/decode"
	"orchard/dissect"
	"orchard/flow"
)

// dnsFeeder reads DNS messages: each UDP datagram, and the messages of a
// TCP stream (port 53) as they complete. It wants every one.
type dnsFeeder struct{ e *flowEngine }

func (x dnsFeeder) feed(f *flow.Flow, dir int, b []byte, ts int64) bool {
	if f.Proto == decode.ProtoUDP {
		x.e.dnsMessage(f, b, dir, ts, "udp")
		return false
	}
	a := f.App
	off := a.Half[dir].DNSTCPOff
	if off >= len(b) {
		return false
	}
	msgs, rest := dissect.SplitDNSTCP(b[off:])
	for _, m := range msgs {
		x.e.dnsMessage(f, m, dir, ts, "tcp")
	}
	a.Half[dir].DNSTCPOff = len(b) - len(rest)
	return false
}

func (dnsFeeder) limit(int) int { return noLimit }
