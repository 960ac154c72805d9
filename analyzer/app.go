package analyzer

import (
	"bytes"

	"orchard/decode"
	"orchard/dissect"
)

// appFacts are what the dissectors learned about a flow.
type appFacts struct {
	// half holds what the dissectors keep of each direction's stream,
	// indexed by direction: turning the flow around swaps them.
	half [2]appHalf

	// TLS, client side.
	hello     *dissect.ClientHello
	helloSeen bool // the client started a TLS handshake (first record seen)
	helloTime int64
	// clientRecs are the client's record headers (the first 64).
	clientRecs  []dissect.Record
	clientAlert []dissect.Alert

	// TLS, server side.
	serverHello *dissect.ServerHello
	certs       [][]byte
	serverAlert []dissect.Alert
	serverEnc   bool
	// Timing and first flight for the interception signals (intercept.go).
	ic interceptFacts

	// HTTP.
	req  *dissect.HTTPRequest
	resp *dissect.HTTPResponse

	// QUIC (client Initials). The assembler is recycled once done; its
	// counts stay in quicPackets and quicVersion (see quicInitials).
	quic        *dissect.QUICAssembler
	quicHello   *dissect.ClientHello
	quicDone    bool
	quicShort   bool // the client sent 1-RTT packets: the server answered
	quicPackets int
	quicVersion uint32

	// NTP.
	ntpClient, ntpServer bool
	ntp                  dissect.NTP // the last server reply (or client request)
	ntpReplies           int
	ntpRequests          int
	ntpFirst             int64 // time of the first request

	// DNS over this flow.
	dnsQueries   int
	dnsResponses int
	dnsPending   []pendingQuery

	// cost is the memory charged to the engine's state budget for these
	// facts and what they hold (see sideState).
	cost int
}

// appHalf is what the dissectors keep of one direction's stream.
type appHalf struct {
	tlsStart int // offset of the TLS stream in the buffer (after a CONNECT exchange)
	tlsWant  int // parse again once the buffer holds this many bytes
	// tls parses the direction's TLS bytes as they complete records
	// (allocated at the first record), from offset tlsFrom.
	tls       *dissect.TLSStreamParser
	tlsFrom   int
	dnsTCPOff int  // DNS over TCP: offset of the next message
	tlsDone   bool // nothing more to parse as TLS
	httpTried bool // the HTTP dissector had its say
}

type pendingQuery struct {
	id     uint16
	qtype  uint16
	name   string
	ts     int64 // the first copy's time
	copies int   // copies of the query (retransmissions, duplicates)
}

// swap follows the flow turning around. Orientation changes before any
// application data is attributed to a side, except for the buffers,
// whose offsets follow them.
func (a *appFacts) swap() { a.half[0], a.half[1] = a.half[1], a.half[0] }

// streamGrew runs the dissectors on a direction's buffer after it grew.
func (e *flowEngine) streamGrew(f *Flow, dir int, ts int64) {
	b := f.side(dir).stream.buf
	if f.SPort == 53 || f.CPort == 53 {
		e.dnsTCP(f, dir, ts)
		return
	}
	a := e.table.facts(f)
	if a == nil {
		return // the state budget is spent
	}
	// HTTP first: a plain request, or a CONNECT whose tunnel then carries TLS.
	if dir == dirClient && !a.half[dirClient].httpTried && a.half[dirClient].tlsStart == 0 && dissect.LooksLikeHTTPRequest(b) {
		r, err := dissect.ParseHTTPRequest(b)
		if err == nil {
			a.req = &r
			if r.Complete {
				a.half[dirClient].httpTried = true
				if r.Method == "CONNECT" {
					a.half[dirClient].tlsStart = r.HeaderLen
				}
			}
		} else {
			a.half[dirClient].httpTried = true
			e.stats.Malformed++
		}
	}
	if dir == dirServer && a.req != nil && !a.half[dirServer].httpTried && a.half[dirServer].tlsStart == 0 && bytes.HasPrefix(b, []byte("HTTP/")) {
		r, err := dissect.ParseHTTPResponse(b)
		if err == nil {
			a.resp = &r
			if r.Complete {
				a.half[dirServer].httpTried = true
				if a.req.Method == "CONNECT" && r.Status/100 == 2 {
					a.half[dirServer].tlsStart = r.HeaderLen
				}
			}
		} else {
			a.half[dirServer].httpTried = true
			e.stats.Malformed++
		}
	}
	// Server answering first with TLS before the client spoke is unusual;
	// if the flow was not oriented by a SYN and the "server" sent a
	// ClientHello, the guess was wrong: turn the flow around.
	start := a.half[dir].tlsStart
	if a.half[dir].tlsDone || start >= len(b) || len(b) < a.half[dir].tlsWant {
		return
	}
	tb := b[start:]
	if !dissect.LooksLikeTLS(tb) {
		if len(tb) >= 3 {
			a.half[dir].tlsDone = true
		}
		return
	}
	tp := a.half[dir].tls
	if tp == nil {
		if !e.table.charge(a, tlsParserCost) {
			a.half[dir].tlsDone = true
			return
		}
		tp = new(dissect.TLSStreamParser)
		a.half[dir].tls = tp
		a.half[dir].tlsFrom = start
	} else if a.half[dir].tlsFrom != start {
		tp.Reset()
		a.half[dir].tlsFrom = start
	}
	st, err := tp.Parse(tb)
	if !f.oriented && st.ClientHello != nil && dir == dirServer {
		f.swap()
		f.oriented = true
		dir = dirClient
	}
	f.oriented = f.oriented || st.ClientHello != nil || st.ServerHello != nil
	if dir == dirClient {
		if !a.helloSeen {
			a.helloTime = ts
		}
		a.helloSeen = true
		a.ic.clientSeen(st, ts)
		if st.ClientHello != nil && a.hello == nil && e.table.charge(a, helloCost(st.ClientHello)) {
			a.hello = st.ClientHello
		}
		// The parser belongs to the flow: its lists need no copy.
		a.clientRecs = st.Records
		a.clientAlert = st.Alerts
	} else {
		if st.ServerHello != nil {
			a.serverHello = st.ServerHello
		}
		a.ic.serverSeen(f, st, ts)
		if len(st.Certificates) > 0 && a.certs == nil && e.table.charge(a, certsCost(st.Certificates)) {
			a.certs = make([][]byte, len(st.Certificates))
			for i, c := range st.Certificates {
				a.certs[i] = append([]byte(nil), c...)
			}
		}
		a.serverAlert = st.Alerts
		a.serverEnc = st.Encrypted
	}
	if err != nil && !st.Incomplete {
		a.half[dir].tlsDone = true
		e.stats.Malformed++
		return
	}
	// Parse again only once the next record is complete.
	a.half[dir].tlsWant = start + st.Consumed + 1
	if st.Incomplete {
		a.half[dir].tlsWant = start + st.Consumed + nextRecordLen(tb[st.Consumed:])
	}
	// Once the stream is encrypted (for the server, past the records of a
	// server shape's first flight; for the client, a few records past
	// its hello have been seen), nothing more is needed from this side.
	if dir == dirServer && st.Encrypted && st.RecordCount >= 2+maxShapeFlight {
		e.tlsFinished(f, a, dir)
	}
	if dir == dirClient && (st.RecordCount >= 64 || tls13Past(a, st.Records) || midstream(st.Records)) {
		e.tlsFinished(f, a, dir)
	}
}

// tlsFinished ends the TLS dissection of one direction: its buffer and
// its parser are let go (the records and alerts it found stay).
func (e *flowEngine) tlsFinished(f *Flow, a *appFacts, dir int) {
	a.half[dir].tlsDone = true
	f.side(dir).stream.release()
	if a.half[dir].tls != nil {
		a.half[dir].tls = nil
		e.table.uncharge(a, tlsParserCost)
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

// udpPayload dissects one UDP datagram.
func (e *flowEngine) udpPayload(f *Flow, p *decode.Packet, dir int, ts int64) {
	switch {
	case f.SPort == 53 || f.SPort == 5353 && f.CPort == 5353 || f.CPort == 53:
		e.dnsMessage(f, p.Payload, dir, ts, "udp")
	case f.SPort == 123 || f.CPort == 123:
		a := e.table.facts(f)
		if a == nil {
			return
		}
		n, err := dissect.ParseNTP(p.Payload)
		if err != nil {
			e.stats.Malformed++
			return
		}
		switch n.Mode {
		case 3:
			a.ntpClient = true
			if a.ntpRequests == 0 {
				a.ntpFirst = ts
			}
			a.ntpRequests++
			if dir == dirServer && !f.oriented {
				f.swap()
			}
			f.oriented = true
			if a.ntpReplies == 0 {
				a.ntp = n
			}
		case 4:
			a.ntpServer = true
			a.ntpReplies++
			a.ntp = n
		default:
			if a.ntpReplies == 0 {
				a.ntp = n
			}
		}
	default:
		if a := f.app; dir == dirClient && a != nil && (a.quic != nil || a.quicPackets > 0) && len(p.Payload) > 0 && p.Payload[0]&0xc0 == 0x40 {
			// A short-header (1-RTT) packet: the client has the server's
			// handshake, whether or not the capture saw it.
			a.quicShort = true
		}
		if dir != dirClient || f.app != nil && f.app.quicDone || !isQUICInitialCandidate(p.Payload) {
			return
		}
		a := e.table.facts(f)
		if a == nil {
			return
		}
		if a.quic == nil {
			if a.quic = e.table.quicAssembler(a); a.quic == nil {
				a.quicDone = true
				return
			}
		}
		if err := a.quic.AddDatagram(p.Payload); err != nil {
			e.stats.Malformed++
		}
		if m := a.quic.ClientHelloMessage(); m != nil {
			if ch, err := dissect.ParseClientHello(m); err != nil {
				e.stats.Malformed++
			} else if e.table.charge(a, helloCost(ch)) {
				a.quicHello = ch
			}
			a.quicDone = true
		} else if a.quic.Packets() >= 8 {
			a.quicDone = true
		}
		if a.quicDone {
			// Keys, decryption and CRYPTO buffers are done with: keep
			// what the judge reads, and recycle the rest now.
			a.quicPackets, a.quicVersion = a.quic.Packets(), a.quic.Version()
			e.table.putQUIC(a, a.quic)
			a.quic = nil
		}
	}
}

// quicInitials returns how many client Initials were decrypted and the
// version of the first.
func (a *appFacts) quicInitials() (n int, version uint32) {
	if a.quic != nil {
		return a.quic.Packets(), a.quic.Version()
	}
	return a.quicPackets, a.quicVersion
}

// isQUICInitialCandidate reports a long-header datagram of a QUIC version
// whose Initial packets can be decrypted; other UDP protocols whose first
// byte happens to look like a long header are left alone (not malformed QUIC).
func isQUICInitialCandidate(d []byte) bool {
	if !dissect.IsQUICLongHeader(d) {
		return false
	}
	v, _ := dissect.QUICVersion(d)
	switch v {
	case dissect.QUICVersion1, dissect.QUICVersion2, dissect.QUICVersionDraft29:
		return true
	}
	return false
}

// udpClientGuess orients a UDP flow from its first payload when it can.
func udpClientGuess(p *decode.Packet) (srcIsClient, ok bool) {
	b := p.Payload
	switch {
	case (p.SrcPort == 53 || p.DstPort == 53) && len(b) >= 3:
		return b[2]&0x80 == 0, true // QR bit
	case p.SrcPort == 123 && p.DstPort == 123 && len(b) >= 1:
		switch b[0] & 7 {
		case 3:
			return true, true
		case 4:
			return false, true
		}
	}
	return false, false
}

// finishApp runs the last dissection when a flow ends.
func (j *judge) finishApp(f *Flow) {
	a := f.app
	if a == nil {
		return
	}
	for _, q := range a.dnsPending {
		j.dnsUnanswered(f, q)
	}
	clear(a.dnsPending)
	a.dnsPending = a.dnsPending[:0] // its memory is recycled with a
}

// clientHello returns the flow's ClientHello from TLS or QUIC, if any.
func (f *Flow) clientHello() *dissect.ClientHello {
	if f.app == nil {
		return nil
	}
	if f.app.hello != nil {
		return f.app.hello
	}
	return f.app.quicHello
}
