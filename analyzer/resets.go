package analyzer

import (
	"fmt"

	"orchard/decode"
)

// A reset is "injected" only with evidence that its sender's peer did not
// send it: its TTL or IP ID break the peer's pattern, it came sooner than
// the peer could have answered, or the peer carried on after it. A reset
// the protocol calls for (a client answering an unexpected ACK during its
// handshake) or one followed by another connection on the same ports is
// none of these.

// notePacket files a non-RST packet of direction dir: where its sequence
// numbers reach, whether its IP IDs count up, when it was seen.
// After the first RST, data that carries on the stream is the sign of a
// forged reset; a packet far from it belongs to another connection and
// leaves the stream's end where it was.
func (f *Flow) notePacket(dir int, p *decode.Packet, ts int64) {
	r := f.side(dir)
	if f.firstRST >= 0 && ts > f.RSTTime {
		if !r.continues(p.Seq) {
			r.lastSeen = ts
			return
		}
		if len(p.Payload) > 0 {
			r.dataAfterRST = true
		}
	}
	end := p.Seq + uint32(len(p.Payload))
	if p.TCPFlags&decode.FlagSYN != 0 {
		end++
	}
	if !r.nextSet || int32(end-r.nextSeq) > 0 {
		r.nextSeq, r.nextSet = end, true
	}
	if r.ipidSet {
		step := p.IPID - r.lastIPID
		r.counting = step >= 1 && step <= 64
	}
	r.ipidSet = true
	r.lastSeen = ts
}

// rstReply reports whether an RST from dir is the one RFC 9293 (3.10.7.3)
// requires of a client in SYN-SENT that receives an ACK not for its SYN:
// <SEQ=SEG.ACK><CTL=RST>. It belongs to the handshake, which goes on.
func (f *Flow) rstReply(dir int, seq uint32) bool {
	srv := &f.Resp
	return dir == dirClient && srv.hist&hSYNACK == 0 && srv.hist&hACK != 0 && srv.ackSet && seq == srv.maxAck
}

// continues reports whether data at seq from the side carries on the
// stream it sent before: within a window of its last byte. Data far from
// it belongs to another connection on the same ports.
func (r *Endpoint) continues(seq uint32) bool {
	if !r.nextSet {
		return true
	}
	d := int32(seq - r.nextSeq)
	return d > -(1<<16) && d < 1<<16
}

// injected tells a forged RST from the peer's own, and says why.
func injected(f *Flow) (bool, string) {
	d := f.firstRST
	if d < 0 {
		return false, ""
	}
	side := "server"
	if d == dirClient {
		side = "client"
	}
	peer := f.side(d)
	if peer.dataAfterRST {
		return true, "the " + side + " kept sending data after it"
	}
	if peer.ttlSet {
		diff := int(f.RSTTTL) - int(peer.lastTTL)
		if diff < 0 {
			diff = -diff
		}
		if diff >= 3 {
			return true, fmt.Sprintf("TTL %d, the %s's packets had TTL %d", f.RSTTTL, side, peer.lastTTL)
		}
	}
	if peer.counting && f.RSTIPID != 0 {
		if step := f.RSTIPID - peer.lastIPID; step > 4096 && step < 65536-4096 {
			return true, fmt.Sprintf("IP ID %d, while the %s's packets counted up to %d", f.RSTIPID, side, peer.lastIPID)
		}
	}
	if d == dirServer && f.synTime > 0 && f.synAckTime > f.synTime {
		// Captured beside the client, the server answers no sooner than
		// its handshake's round trip.
		if rtt := f.synAckTime - f.synTime; rtt >= 2e6 && f.rstGap >= 0 && f.rstGap < rtt/2 {
			return true, fmt.Sprintf("it came %s after the client's packet, sooner than the server's round trip of %s", dur(f.rstGap), dur(rtt))
		}
	}
	return false, ""
}
