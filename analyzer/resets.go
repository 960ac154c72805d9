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

// rstFacts are what a flow keeps to judge its resets.
type rstFacts struct {
	nextSeq  [2]uint32 // each side's highest sequence number sent, past its payload
	nextSet  [2]bool
	ipidSet  [2]bool
	counting [2]bool  // the side's IP IDs count up (a shared or per-flow counter)
	lastSeen [2]int64 // each side's last packet other than an RST
	rstGap   int64    // time from the peer's last packet to the first RST
	// replies counts RSTs that answered an unacceptable ACK in the handshake.
	replies int
}

func (r *rstFacts) swap() {
	r.nextSeq[0], r.nextSeq[1] = r.nextSeq[1], r.nextSeq[0]
	r.nextSet[0], r.nextSet[1] = r.nextSet[1], r.nextSet[0]
	r.ipidSet[0], r.ipidSet[1] = r.ipidSet[1], r.ipidSet[0]
	r.counting[0], r.counting[1] = r.counting[1], r.counting[0]
	r.lastSeen[0], r.lastSeen[1] = r.lastSeen[1], r.lastSeen[0]
}

// notePacket files a non-RST packet of direction dir: where its sequence
// numbers reach, whether its IP IDs count up, when it was seen.
// After the first RST, data that carries on the stream is the sign of a
// forged reset; a packet far from it belongs to another connection and
// leaves the stream's end where it was.
func (f *Flow) notePacket(dir int, p *decode.Packet, ts int64) {
	r := &f.rst
	if f.firstRST >= 0 && ts > f.RSTTime {
		if !f.continues(dir, p.Seq) {
			r.lastSeen[dir] = ts
			return
		}
		if len(p.Payload) > 0 {
			f.dataAfterRST[dir] = true
		}
	}
	end := p.Seq + uint32(len(p.Payload))
	if p.TCPFlags&decode.FlagSYN != 0 {
		end++
	}
	if !r.nextSet[dir] || int32(end-r.nextSeq[dir]) > 0 {
		r.nextSeq[dir], r.nextSet[dir] = end, true
	}
	if r.ipidSet[dir] {
		step := p.IPID - f.lastIPID[dir]
		r.counting[dir] = step >= 1 && step <= 64
	}
	r.ipidSet[dir] = true
	r.lastSeen[dir] = ts
}

// rstReply reports whether an RST from dir is the one RFC 9293 (3.10.7.3)
// requires of a client in SYN-SENT that receives an ACK not for its SYN:
// <SEQ=SEG.ACK><CTL=RST>. It belongs to the handshake, which goes on.
func (f *Flow) rstReply(dir int, seq uint32) bool {
	peer := 1 - dir
	return dir == dirClient && f.hist[peer]&hSYNACK == 0 && f.hist[peer]&hACK != 0 && f.ackSet[peer] && seq == f.maxAck[peer]
}

// continues reports whether data at seq from dir carries on the stream
// dir sent before: within a window of its last byte. Data far from it
// belongs to another connection on the same ports.
func (f *Flow) continues(dir int, seq uint32) bool {
	r := &f.rst
	if !r.nextSet[dir] {
		return true
	}
	d := int32(seq - r.nextSeq[dir])
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
	if f.dataAfterRST[d] {
		return true, "the " + side + " kept sending data after it"
	}
	if f.ttlSet[d] {
		diff := int(f.RSTTTL) - int(f.lastTTL[d])
		if diff < 0 {
			diff = -diff
		}
		if diff >= 3 {
			return true, fmt.Sprintf("TTL %d, the %s's packets had TTL %d", f.RSTTTL, side, f.lastTTL[d])
		}
	}
	if r := &f.rst; r.counting[d] && f.RSTIPID != 0 {
		if step := f.RSTIPID - f.lastIPID[d]; step > 4096 && step < 65536-4096 {
			return true, fmt.Sprintf("IP ID %d, while the %s's packets counted up to %d", f.RSTIPID, side, f.lastIPID[d])
		}
	}
	if d == dirServer && f.synTime > 0 && f.synAckTime > f.synTime {
		// Captured beside the client, the server answers no sooner than
		// its handshake's round trip.
		if rtt := f.synAckTime - f.synTime; rtt >= 2e6 && f.rst.rstGap >= 0 && f.rst.rstGap < rtt/2 {
			return true, fmt.Sprintf("it came %s after the client's packet, sooner than the server's round trip of %s", dur(f.rst.rstGap), dur(rtt))
		}
	}
	return false, ""
}
