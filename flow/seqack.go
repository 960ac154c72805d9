package flow

// maxAckedSpan bounds the bytes one flow's acknowledgements may claim:
// beyond it the numbers are garbage (a reused port, a wrapped counter).
const maxAckedSpan = 1 << 30

// AckedBytes returns the payload bytes of direction d its peer
// acknowledged, from d's first sequence number to the peer's highest ACK.
func (f *Flow) AckedBytes(d int) (uint64, bool) {
	sd, peer := f.Side(d), f.Side(1-d)
	if !sd.seqSet || !peer.ackSet {
		return 0, false
	}
	n := peer.maxAck - sd.seq0
	if sd.Hist&HFIN != 0 && n > 0 {
		n-- // the FIN takes a sequence number
	}
	if n >= maxAckedSpan {
		return 0, false
	}
	return uint64(n), true
}

// SeqAck files a TCP packet's sequence and acknowledgement numbers for the
// capture-loss estimate: the first sequence number of its side (after
// the SYN) and the highest ACK it sends.
func (sd *Endpoint) SeqAck(seq, ack uint32, syn, isACK, rst bool) {
	if !sd.seqSet {
		sd.seq0, sd.seqSet = seq, true
	}
	if syn {
		sd.seq0 = seq + 1
	}
	if isACK && !rst && (!sd.ackSet || int32(ack-sd.maxAck) > 0) {
		sd.maxAck, sd.ackSet = ack, true
	}
}
