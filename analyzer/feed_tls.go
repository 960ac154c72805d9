package analyzer

import (
	"orchard/dissect"
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

func (x tlsFeeder) feed(f *Flow, dir int, b []byte, ts int64) bool {
	a := f.app
	h := &a.half[dir]
	start := h.tlsStart
	if h.tlsDone || start >= len(b) || len(b) < h.tlsWant {
		return h.tlsDone
	}
	tb := b[start:]
	if !dissect.LooksLikeTLS(tb) {
		if len(tb) >= 3 {
			h.tlsDone = true
		}
		return h.tlsDone
	}
	tp := x.parser(a, h, start)
	if tp == nil {
		h.tlsDone = true // the state budget is spent
		return true
	}
	st, err := tp.Parse(tb)
	// A server answering first with TLS before the client spoke is
	// unusual: if the flow was not oriented by a SYN and the "server"
	// sent a ClientHello, the guess was wrong.
	if !f.oriented && st.ClientHello != nil && dir == dirServer {
		f.swap()
		f.oriented = true
		dir = dirClient
		h = &a.half[dir]
	}
	f.oriented = f.oriented || st.ClientHello != nil || st.ServerHello != nil
	if dir == dirClient {
		x.client(a, st, ts)
	} else {
		x.server(f, a, st, ts)
	}
	if err != nil && !st.Incomplete {
		h.tlsDone = true
		x.e.stats.Malformed++
		return true
	}
	// Parse again only once the next record is complete.
	h.tlsWant = start + st.Consumed + 1
	if st.Incomplete {
		h.tlsWant = start + st.Consumed + nextRecordLen(tb[st.Consumed:])
	}
	// Once the stream is encrypted (for the server, past the records of a
	// server shape's first flight; for the client, a few records past
	// its hello have been seen), nothing more is needed from this side.
	if dir == dirServer && st.Encrypted && st.RecordCount >= 2+shapes.MaxFlight ||
		dir == dirClient && (st.RecordCount >= 64 || tls13Past(a, st.Records) || midstream(st.Records)) {
		x.finished(f, a, dir)
	}
	return h.tlsDone
}

func (tlsFeeder) limit(dir int) int {
	if dir == dirClient {
		return tlsClientLimit
	}
	return tlsServerLimit
}

// parser returns the direction's TLS parser for the stream from start:
// a new one charged to a at the first record (nil when the budget is
// spent), reset when a CONNECT exchange moved the start.
func (x tlsFeeder) parser(a *appFacts, h *appHalf, start int) *dissect.TLSStreamParser {
	switch {
	case h.tls == nil:
		if !x.e.table.charge(a, tlsParserCost) {
			return nil
		}
		h.tls, h.tlsFrom = new(dissect.TLSStreamParser), start
	case h.tlsFrom != start:
		h.tls.Reset()
		h.tlsFrom = start
	}
	return h.tls
}

// client files what the client's records showed.
func (x tlsFeeder) client(a *appFacts, st *dissect.TLSStream, ts int64) {
	if !a.helloSeen {
		a.helloTime = ts
	}
	a.helloSeen = true
	a.ic.clientSeen(st, ts)
	if st.ClientHello != nil && a.hello == nil && x.e.table.charge(a, helloCost(st.ClientHello)) {
		a.hello = st.ClientHello
	}
	// The parser belongs to the flow: its lists need no copy.
	a.clientRecs = st.Records
	a.clientAlert = st.Alerts
}

// server files what the server's records showed.
func (x tlsFeeder) server(f *Flow, a *appFacts, st *dissect.TLSStream, ts int64) {
	if st.ServerHello != nil {
		a.serverHello = st.ServerHello
	}
	a.ic.serverSeen(f, st, ts)
	if len(st.Certificates) > 0 && a.certs == nil && x.e.table.charge(a, certsCost(st.Certificates)) {
		a.certs = make([][]byte, len(st.Certificates))
		for i, c := range st.Certificates {
			a.certs[i] = append([]byte(nil), c...)
		}
	}
	a.serverAlert = st.Alerts
	a.serverEnc = st.Encrypted
}

// finished ends the TLS dissection of one direction: its buffer and its
// parser are let go (the records and alerts it found stay).
func (x tlsFeeder) finished(f *Flow, a *appFacts, dir int) {
	h := &a.half[dir]
	h.tlsDone = true
	f.side(dir).stream.release()
	if h.tls != nil {
		h.tls = nil
		x.e.table.uncharge(a, tlsParserCost)
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
func tls13Past(a *appFacts, recs []dissect.Record) bool {
	if a.serverHello == nil || a.serverHello.Version != 0x0304 {
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
