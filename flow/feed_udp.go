package flow

import (
	"orchard/dissect"
)

// ntpFeeder reads every NTP datagram: requests, replies and their
// counts. A request from the side taken for the server turns the flow
// around.
type ntpFeeder struct{ e *Engine }

func (x ntpFeeder) feed(f *Flow, dir int, b []byte, ts int64) bool {
	a := x.e.Table.Facts(f)
	if a == nil {
		return false
	}
	n, err := dissect.ParseNTP(b)
	if err != nil {
		x.e.Stats.Malformed++
		return false
	}
	switch n.Mode {
	case 3:
		a.NTPClient = true
		if a.NTPRequests == 0 {
			a.NTPFirst = ts
		}
		a.NTPRequests++
		if dir == DirServer && !f.oriented {
			f.Swap()
		}
		f.oriented = true
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
type quicFeeder struct{ e *Engine }

// quicMaxInitials is how many client Initials are read for a ClientHello.
const quicMaxInitials = 8

func (x quicFeeder) feed(f *Flow, dir int, b []byte, _ int64) bool {
	if dir != DirClient {
		return true
	}
	if a := f.App; a != nil && (a.QUIC != nil || a.QUICPackets > 0) && len(b) > 0 && b[0]&0xc0 == 0x40 {
		a.QUICShort = true
	}
	if f.App == nil || !f.App.quicDone {
		x.initial(f, b)
	}
	a := f.App
	// Done once the handshake is known to have been answered, or when
	// no Initial could be read (nothing then tells a short header).
	return a != nil && (a.QUICShort || a.quicDone && a.QUIC == nil && a.QUICPackets == 0)
}

// initial reads a datagram that may carry a client Initial.
func (x quicFeeder) initial(f *Flow, b []byte) {
	if !isQUICInitialCandidate(b) {
		return
	}
	t := x.e.Table
	a := t.Facts(f)
	if a == nil {
		return
	}
	if a.QUIC == nil {
		if a.QUIC = t.QUICAssembler(a); a.QUIC == nil {
			a.quicDone = true
			return
		}
	}
	if err := a.QUIC.AddDatagram(b); err != nil {
		x.e.Stats.Malformed++
	}
	if m := a.QUIC.ClientHelloMessage(); m != nil {
		if ch, err := dissect.ParseClientHello(m); err != nil {
			x.e.Stats.Malformed++
		} else if t.charge(a, helloCost(ch)) {
			a.QUICHello = ch
		}
		a.quicDone = true
	} else if a.QUIC.Packets() >= quicMaxInitials {
		a.quicDone = true
	}
	if a.quicDone {
		// Keys, decryption and CRYPTO buffers are done with: keep what
		// the judge reads, and recycle the rest now.
		a.QUICPackets, a.QUICVersion = a.QUIC.Packets(), a.QUIC.Version()
		t.putQUIC(a, a.QUIC)
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
