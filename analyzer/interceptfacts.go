package analyzer

import (
	"orchard/dissect"
	"orchard/shapes"
)

// interceptFacts are the few per-flow facts the interception signals need,
// kept in the dissector's side structure.
type interceptFacts struct {
	helloAt  int64 // the packet that completed the ClientHello
	serverAt int64 // the packet that completed the ServerHello
	flight   [shapes.MaxFlight]uint16
	flightN  uint8
	frozen   bool // the client answered the server's first flight
	hrr      bool // a HelloRetryRequest: the ServerHello's time is not one round trip
	// lossy: by the ServerHello, a side had sent bytes twice or out of
	// order (a retransmission): its time may be a retransmission timeout.
	lossy bool
}

// clientSeen notes a parse of the client's TLS stream at time ts.
func (ic *interceptFacts) clientSeen(st *dissect.TLSStream, ts int64) {
	if st.ClientHello != nil && ic.helloAt == 0 {
		ic.helloAt = ts
	}
	if ic.serverAt == 0 || ic.frozen {
		return
	}
	for _, r := range st.Records {
		if r.Type == 20 || r.Type == 23 {
			ic.frozen = true
			return
		}
	}
}

// serverSeen notes a parse of the server's TLS stream at time ts.
func (ic *interceptFacts) serverSeen(f *Flow, st *dissect.TLSStream, ts int64) {
	if st.ServerHello != nil && ic.serverAt == 0 {
		ic.serverAt = ts
		ic.hrr = st.HelloRetryRequest
		// Every payload byte so far is in order in the buffers, or some
		// were sent twice (or are held out of order): a loss.
		for _, sd := range [2]*Endpoint{&f.Orig, &f.Resp} {
			ic.lossy = ic.lossy || sd.Bytes > uint64(len(sd.stream.buf))
		}
	}
	if ic.serverAt == 0 || ic.frozen {
		return
	}
	ic.flightN = 0
	hello := false
	for _, r := range st.Records {
		switch {
		case !hello:
			hello = r.Type == 22
		case r.Type == 20:
		case int(ic.flightN) < len(ic.flight):
			ic.flight[ic.flightN] = uint16(min(r.Length, 0xffff))
			ic.flightN++
		}
	}
}

// shapeFlightOf returns the flow's first flight as the baseline keeps it.
func (ic *interceptFacts) shapeFlightOf() *shapes.Flight {
	return &shapes.Flight{Sizes: ic.flight, N: ic.flightN}
}
