package flow

import (
	"orchard/decode"
	"orchard/dissect"
)

// Facts are what the dissectors learned about a flow.
type Facts struct {
	// half holds what the dissectors keep of each direction's stream,
	// indexed by direction: turning the flow around swaps them.
	Half [2]Half

	// TLS, client side.
	Hello     *dissect.ClientHello
	HelloSeen bool // the client started a TLS handshake (first record seen)
	HelloTime int64
	// clientRecs are the client's record headers (the first 64).
	ClientRecs  []dissect.Record
	ClientAlert []dissect.Alert

	// TLS, server side.
	ServerHello *dissect.ServerHello
	Certs       [][]byte
	ServerAlert []dissect.Alert
	ServerEnc   bool
	// Timing and first flight for the interception signals (InterceptFacts).
	Intercept InterceptFacts

	// HTTP.
	Request  *dissect.HTTPRequest
	Response *dissect.HTTPResponse

	// QUIC (client Initials). The assembler is recycled once done; its
	// counts stay in quicPackets and quicVersion (see quicInitials).
	QUIC        *dissect.QUICAssembler
	QUICHello   *dissect.ClientHello
	QUICDone    bool
	QUICShort   bool // the client sent 1-RTT packets: the server answered
	QUICPackets int
	QUICVersion uint32

	// NTP.
	NTPClient, NTPServer bool
	NTP                  dissect.NTP // the last server reply (or client request)
	NTPReplies           int
	NTPRequests          int
	NTPFirst             int64 // time of the first request

	// DNS over this flow.
	DNSQueries   int
	DNSResponses int
	DNSPending   []PendingQuery

	// cost is the memory charged to the engine's state budget for these
	// facts and what they hold (see sideState).
	cost int
}

// Half is what the dissectors keep of one direction's stream.
type Half struct {
	TLSStart int // offset of the TLS stream in the buffer (after a CONNECT exchange)
	TLSWant  int // parse again once the buffer holds this many bytes
	// tls parses the direction's TLS bytes as they complete records
	// (allocated at the first record), from offset tlsFrom.
	TLS       *dissect.TLSStreamParser
	TLSFrom   int
	DNSTCPOff int  // DNS over TCP: offset of the next message
	TLSDone   bool // nothing more to parse as TLS
	HTTPTried bool // the HTTP dissector had its say
}

// PendingQuery is a DNS query of the flow waiting for its response.
type PendingQuery struct {
	ID     uint16
	QType  uint16
	Name   string
	TS     int64 // the first copy's time
	Copies int   // copies of the query (retransmissions, duplicates)
}

// swap follows the flow turning around. Orientation changes before any
// application data is attributed to a side, except for the buffers,
// whose offsets follow them.
func (a *Facts) swap() { a.Half[0], a.Half[1] = a.Half[1], a.Half[0] }

// QUICInitials returns how many client Initials were decrypted and the
// version of the first.
func (a *Facts) QUICInitials() (n int, version uint32) {
	if a.QUIC != nil {
		return a.QUIC.Packets(), a.QUIC.Version()
	}
	return a.QUICPackets, a.QUICVersion
}

// UDPClientGuess orients a UDP flow from its first payload when it can.
func UDPClientGuess(p *decode.Packet) (srcIsClient, ok bool) {
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

// ClientHello returns the flow's ClientHello from TLS or QUIC, if any.
func (f *Flow) ClientHello() *dissect.ClientHello {
	if f.App == nil {
		return nil
	}
	if f.App.Hello != nil {
		return f.App.Hello
	}
	return f.App.QUICHello
}

// maxPendingQueries caps the unanswered queries remembered per flow.
const maxPendingQueries = 32
