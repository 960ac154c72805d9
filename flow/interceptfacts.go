package flow

import (
	"orchard/dissect"
	"orchard/shapes"
)

// InterceptFacts are the few per-flow facts the interception signals need,
// kept in the dissector's side structure.
type InterceptFacts struct {
	HelloAt  int64 // the packet that completed the ClientHello
	ServerAt int64 // the packet that completed the ServerHello
	Flight   [shapes.MaxFlight]uint16
	FlightN  uint8
	frozen   bool // the client answered the server's first flight
	HRR      bool // a HelloRetryRequest: the ServerHello's time is not one round trip
	// lossy: by the ServerHello, a side had sent bytes twice or out of
	// order (a retransmission): its time may be a retransmission timeout.
	Lossy bool
}

// ClientSeen notes a parse of the client's TLS stream at time ts.
func (ic *InterceptFacts) ClientSeen(st *dissect.TLSStream, ts int64) {
	if st.ClientHello != nil && ic.HelloAt == 0 {
		ic.HelloAt = ts
	}
	if ic.ServerAt == 0 || ic.frozen {
		return
	}
	for _, r := range st.Records {
		if r.Type == 20 || r.Type == 23 {
			ic.frozen = true
			return
		}
	}
}

// ServerSeen notes a parse of the server's TLS stream at time ts.
func (ic *InterceptFacts) ServerSeen(f *Flow, st *dissect.TLSStream, ts int64) {
	if st.ServerHello != nil && ic.ServerAt == 0 {
		ic.ServerAt = ts
		ic.HRR = st.HelloRetryRequest
		// Every payload byte so far is in order in the buffers, or some
		// were sent twice (or are held out of order): a loss.
		for _, sd := range [2]*Endpoint{&f.Orig, &f.Resp} {
			ic.Lossy = ic.Lossy || sd.Bytes > uint64(len(sd.Stream.Buf))
		}
	}
	if ic.ServerAt == 0 || ic.frozen {
		return
	}
	ic.FlightN = 0
	hello := false
	for _, r := range st.Records {
		switch {
		case !hello:
			hello = r.Type == 22
		case r.Type == 20:
		case int(ic.FlightN) < len(ic.Flight):
			ic.Flight[ic.FlightN] = uint16(min(r.Length, 0xffff))
			ic.FlightN++
		}
	}
}

// ShapeFlightOf returns the flow's first flight as the baseline keeps it.
func (ic *InterceptFacts) ShapeFlightOf() *shapes.Flight {
	return &shapes.Flight{Sizes: ic.Flight, N: ic.FlightN}
}
