package analyzer

import "orchard/dissect"

// ntpFeeder reads every NTP datagram: requests, replies and their
// counts. A request from the side taken for the server turns the flow
// around.
type ntpFeeder struct{ e *flowEngine }

func (x ntpFeeder) feed(f *Flow, dir int, b []byte, ts int64) bool {
	a := x.e.table.facts(f)
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

func (x quicFeeder) feed(f *Flow, dir int, b []byte, _ int64) bool {
	if dir != dirClient {
		return true
	}
	if a := f.app; a != nil && (a.quic != nil || a.quicPackets > 0) && len(b) > 0 && b[0]&0xc0 == 0x40 {
		a.quicShort = true
	}
	if f.app == nil || !f.app.quicDone {
		x.initial(f, b)
	}
	a := f.app
	// Done once the handshake is known to have been answered, or when
	// no Initial could be read (nothing then tells a short header).
	return a != nil && (a.quicShort || a.quicDone && a.quic == nil && a.quicPackets == 0)
}

// initial reads a datagram that may carry a client Initial.
func (x quicFeeder) initial(f *Flow, b []byte) {
	if !isQUICInitialCandidate(b) {
		return
	}
	t := x.e.table
	a := t.facts(f)
	if a == nil {
		return
	}
	if a.quic == nil {
		if a.quic = t.quicAssembler(a); a.quic == nil {
			a.quicDone = true
			return
		}
	}
	if err := a.quic.AddDatagram(b); err != nil {
		x.e.stats.Malformed++
	}
	if m := a.quic.ClientHelloMessage(); m != nil {
		if ch, err := dissect.ParseClientHello(m); err != nil {
			x.e.stats.Malformed++
		} else if t.charge(a, helloCost(ch)) {
			a.quicHello = ch
		}
		a.quicDone = true
	} else if a.quic.Packets() >= quicMaxInitials {
		a.quicDone = true
	}
	if a.quicDone {
		// Keys, decryption and CRYPTO buffers are done with: keep what
		// the judge reads, and recycle the rest now.
		a.quicPackets, a.quicVersion = a.quic.Packets(), a.quic.Version()
		t.putQUIC(a, a.quic)
		a.quic = nil
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
