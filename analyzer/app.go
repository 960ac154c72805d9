package analyzer

import (
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

// quicInitials returns how many client Initials were decrypted and the
// version of the first.
func (a *appFacts) quicInitials() (n int, version uint32) {
	if a.quic != nil {
		return a.quic.Packets(), a.quic.Version()
	}
	return a.quicPackets, a.quicVersion
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

// maxPendingQueries caps the unanswered queries remembered per flow.
const maxPendingQueries = 32
