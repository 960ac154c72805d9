package analyzer

import (
	"orchard/dissect"
	"orchard/flow"
	"orchard/shapes"
)

// TLS limits: the client's ClientHello (a post-quantum one is about
// 1.7 KB) and the records after it; the server's first flight, its
// certificate chain included, and the records of a server shape.
const (
	tlsClientLimit = 16 << 10
	tlsServerLimit = 64 << 10
)

// tlsFeeder parses each direction's TLS records as they complete, from
// the start of the stream or the end of a CONNECT exchange, until the
// direction is encrypted past what the judge reads. A ClientHello from
// the side taken for the server turns the flow around.
type tlsFeeder struct{ e *flowEngine }

func (x tlsFeeder) feed(f *flow.Flow, dir int, b []byte, ts int64) bool {
	a := f.App
	h := &a.Half[dir]
	start := h.TLSStart
	if h.TLSDone || start >= len(b) || len(b) < h.TLSWant {
		return h.TLSDone
	}
	tb := b[start:]
	if !dissect.LooksLikeTLS(tb) {
		if len(tb) >= 3 {
			h.TLSDone = true
		}
		return h.TLSDone
	}
	tp := x.parser(a, h, start)
	if tp == nil {
		h.TLSDone = true // the state budget is spent
		return true
	}
	st, err := tp.Parse(tb)
	// A server answering first with TLS before the client spoke is
	// unusual: if the flow was not oriented by a SYN and the "server"
	// sent a ClientHello, the guess was wrong.
	if !f.Oriented && st.ClientHello != nil && dir == flow.DirServer {
		f.Swap()
		f.Oriented = true
		dir = flow.DirClient
		h = &a.Half[dir]
	}
	f.Oriented = f.Oriented || st.ClientHello != nil || st.ServerHello != nil
	if dir == flow.DirClient {
		x.client(a, st, ts)
	} else {
		x.server(f, a, st, ts)
	}
	if err != nil && !st.Incomplete {
		h.TLSDone = true
		x.e.stats.Malformed++
		return true
	}
	// Parse again only once the next record is complete.
	h.TLSWant = start + st.Consumed + 1
	if st.Incomplete {
		h.TLSWant = start + st.Consumed + nextRecordLen(tb[st.Consumed:])
	}
	// Once the stream is encrypted (for the server, past the records of a
	// server shape's first flight; for the client, a few records past
	// its hello have been seen), nothing more is needed from this side.
	if dir == flow.DirServer && st.Encrypted && st.RecordCount >= 2+shapes.MaxFlight ||
		dir == flow.DirClient && (st.RecordCount >= 64 || tls13Past(a, st.Records) || midstream(st.Records)) {
		x.finished(f, a, dir)
	}
	return h.TLSDone
}

func (tlsFeeder) limit(dir int) int {
	if dir == flow.DirClient {
		return tlsClientLimit
	}
	return tlsServerLimit
}

// parser returns the direction's TLS parser for the stream from start:
// a new one charged to a at the first record (nil when the budget is
// spent), reset when a CONNECT exchange moved the start.
func (x tlsFeeder) parser(a *flow.Facts, h *flow.Half, start int) *dissect.TLSStreamParser {
	switch {
	case h.TLS == nil:
		if !x.e.table.Charge(a, flow.TLSParserCost) {
			return nil
		}
		h.TLS, h.TLSFrom = new(dissect.TLSStreamParser), start
	case h.TLSFrom != start:
		h.TLS.Reset()
		h.TLSFrom = start
	}
	return h.TLS
}

// client files what the client's records showed.
func (x tlsFeeder) client(a *flow.Facts, st *dissect.TLSStream, ts int64) {
	if !a.HelloSeen {
		a.HelloTime = ts
	}
	a.HelloSeen = true
	a.Intercept.ClientSeen(st, ts)
	if st.ClientHello != nil && a.Hello == nil && x.e.table.Charge(a, flow.HelloCost(st.ClientHello)) {
		a.Hello = st.ClientHello
	}
	// The parser belongs to the flow: its lists need no copy.
	a.ClientRecs = st.Records
	a.ClientAlert = st.Alerts
}

// server files what the server's records showed.
func (x tlsFeeder) server(f *flow.Flow, a *flow.Facts, st *dissect.TLSStream, ts int64) {
	if st.ServerHello != nil {
		a.ServerHello = st.ServerHello
	}
	a.Intercept.ServerSeen(f, st, ts)
	if len(st.Certificates) > 0 && a.Certs == nil && x.e.table.Charge(a, flow.CertsCost(st.Certificates)) {
		a.Certs = make([][]byte, len(st.Certificates))
		for i, c := range st.Certificates {
			a.Certs[i] = append([]byte(nil), c...)
		}
	}
	a.ServerAlert = st.Alerts
	a.ServerEnc = st.Encrypted
}

// finished ends the TLS dissection of one direction: its buffer and its
// parser are let go (the records and alerts it found stay).
func (x tlsFeeder) finished(f *flow.Flow, a *flow.Facts, dir int) {
	h := &a.Half[dir]
	h.TLSDone = true
	f.Side(dir).Stream.Release()
	if h.TLS != nil {
		h.TLS = nil
		x.e.table.Uncharge(a, flow.TLSParserCost)
	}
}

// midstream reports a client stream whose first record is application
// data: the capture began after the handshake, and no hello will come.
func midstream(recs []dissect.Record) bool {
	return len(recs) > 0 && recs[0].Type == 23
}

// tls13Past reports a TLS 1.3 client that has sent two encrypted records
// after its hello: all it sends later is encrypted too (alerts included),
// and what is judged of it (one short record before a close) is decided.
func tls13Past(a *flow.Facts, recs []dissect.Record) bool {
	if a.ServerHello == nil || a.ServerHello.Version != 0x0304 {
		return false
	}
	n, hello := 0, false
	for _, r := range recs {
		switch {
		case r.Type == 22:
			hello = true
		case r.Type == 23 && hello:
			n++
		}
	}
	return n >= 2
}

// nextRecordLen returns the size of the TLS record starting at b, header included.
func nextRecordLen(b []byte) int {
	if len(b) < 5 {
		return 5
	}
	return 5 + (int(b[3])<<8 | int(b[4]))
}
