package flow

import "orchard/decode"

// NotePacket files a non-RST packet of direction dir: where its sequence
// numbers reach, whether its IP IDs count up, when it was seen.
// After the first RST, data that carries on the stream is the sign of a
// forged reset; a packet far from it belongs to another connection and
// leaves the stream's end where it was.
func (f *Flow) NotePacket(dir int, p *decode.Packet, ts int64) {
	r := f.Side(dir)
	if f.FirstRST >= 0 && ts > f.RSTTime {
		if !r.continues(p.Seq) {
			r.LastSeen = ts
			return
		}
		if len(p.Payload) > 0 {
			r.DataAfterRST = true
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
		step := p.IPID - r.LastIPID
		r.Counting = step >= 1 && step <= 64
	}
	r.ipidSet = true
	r.LastSeen = ts
}

// RSTReply reports whether an RST from dir is the one RFC 9293 (3.10.7.3)
// requires of a client in SYN-SENT that receives an ACK not for its SYN:
// <SEQ=SEG.ACK><CTL=RST>. It belongs to the handshake, which goes on.
func (f *Flow) RSTReply(dir int, seq uint32) bool {
	srv := &f.Resp
	return dir == DirClient && srv.Hist&HSYNACK == 0 && srv.Hist&HACK != 0 && srv.ackSet && seq == srv.maxAck
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
