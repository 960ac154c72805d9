package analyzer

import (
	"orchard/dissect"
	"orchard/flow"
)

// ntpFeeder reads every NTP datagram: requests, replies and their
// counts. A request from the side taken for the server turns the flow
// around.
type ntpFeeder struct{ e *flowEngine }

func (x ntpFeeder) feed(f *flow.Flow, dir int, b []byte, ts int64) bool {
	a := x.e.table.Facts(f)
	if a == nil {
		return false
	}
	n, err := dissect.ParseNTP(b)
	if err != nil {
		x.e.stats.Malformed++
		return false
	}
	switch n.Mode {
	case 3:
		a.NTPClient = true
		if a.NTPRequests == 0 {
			a.NTPFirst = ts
		}
		a.NTPRequests++
		if dir == flow.DirServer && !f.Oriented {
			f.Swap()
		}
		f.Oriented = true
		if a.NTPReplies == 0 {
			a.NTP = n
		}
	case 4:
		a.NTPServer = true
		a.NTPReplies++
		a.NTP = n
	default:
		if a.NTPReplies == 0 {
			a.NTP = n
		}
	}
	return false
}

func (ntpFeeder) limit(int) int { return 0 }

// quicFeeder decrypts the client's QUIC Initials until their ClientHello
// is complete (or eight came without one), then watches for a
// short-header packet: the client has the server's handshake, whether or
// not the capture saw it. The server's datagrams are not read.
type quicFeeder struct{ e *flowEngine }

// quicMaxInitials is how many client Initials are read for a ClientHello.
const quicMaxInitials = 8

func (x quicFeeder) feed(f *flow.Flow, dir int, b []byte, _ int64) bool {
	if dir != flow.DirClient {
		return true
	}
	if a := f.App; a != nil && (a.QUIC != nil || a.QUICPackets > 0) && len(b) > 0 && b[0]&0xc0 == 0x40 {
		a.QUICShort = true
	}
	if f.App == nil || !f.App.QUICDone {
		x.initial(f, b)
	}
	a := f.App
	// Done once the handshake is known to have been answered, or when
	// no Initial could be read (nothing then tells a short header).
	return a != nil && (a.QUICShort || a.QUICDone && a.QUIC == nil && a.QUICPackets == 0)
}

// initial reads a datagram that may carry a client Initial.
func (x quicFeeder) initial(f *flow.Flow, b []byte) {
	if !isQUICInitialCandidate(b) {
		return
	}
	t := x.e.table
	a := t.Facts(f)
	if a == nil {
		return
	}
	if a.QUIC == nil {
		if a.QUIC = t.QUICAssembler(a); a.QUIC == nil {
			a.QUICDone = true
			return
		}
	}
	if err := a.QUIC.AddDatagram(b); err != nil {
		x.e.stats.Malformed++
	}
	if m := a.QUIC.ClientHelloMessage(); m != nil {
		if ch, err := dissect.ParseClientHello(m); err != nil {
			x.e.stats.Malformed++
		} else if t.Charge(a, flow.HelloCost(ch)) {
			a.QUICHello = ch
		}
		a.QUICDone = true
	} else if a.QUIC.Packets() >= quicMaxInitials {
		a.QUICDone = true
	}
	if a.QUICDone {
		// Keys, decryption and CRYPTO buffers are done with: keep what
		// the judge reads, and recycle the rest now.
		a.QUICPackets, a.QUICVersion = a.QUIC.Packets(), a.QUIC.Version()
		t.PutQUIC(a, a.QUIC)
		a.QUIC = nil
	}
}

func (quicFeeder) limit(int) int { return 0 }

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
