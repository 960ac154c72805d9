package analyzer

import (
	"fmt"

	"orchard/flow"
)

// A reset is "injected" only with evidence that its sender's peer did not
// send it: its TTL or IP ID break the peer's pattern, it came sooner than
// the peer could have answered, or the peer carried on after it. A reset
// the protocol calls for (a client answering an unexpected ACK during its
// handshake) or one followed by another connection on the same ports is
// none of these.

// injected tells a forged RST from the peer's own, and says why.
func injected(f *flow.Flow) (bool, string) {
	d := f.FirstRST
	if d < 0 {
		return false, ""
	}
	side := "server"
	if d == flow.DirClient {
		side = "client"
	}
	peer := f.Side(d)
	if peer.DataAfterRST {
		return true, "the " + side + " kept sending data after it"
	}
	if peer.TTLSet {
		diff := int(f.RSTTTL) - int(peer.LastTTL)
		if diff < 0 {
			diff = -diff
		}
		if diff >= 3 {
			return true, fmt.Sprintf("TTL %d, the %s's packets had TTL %d", f.RSTTTL, side, peer.LastTTL)
		}
	}
	if peer.Counting && f.RSTIPID != 0 {
		if step := f.RSTIPID - peer.LastIPID; step > 4096 && step < 65536-4096 {
			return true, fmt.Sprintf("IP ID %d, while the %s's packets counted up to %d", f.RSTIPID, side, peer.LastIPID)
		}
	}
	if d == flow.DirServer && f.SynTime > 0 && f.SynAckTime > f.SynTime {
		// Captured beside the client, the server answers no sooner than
		// its handshake's round trip.
		if rtt := f.SynAckTime - f.SynTime; rtt >= 2e6 && f.RSTGap >= 0 && f.RSTGap < rtt/2 {
			return true, fmt.Sprintf("it came %s after the client's packet, sooner than the server's round trip of %s", dur(f.RSTGap), dur(rtt))
		}
	}
	return false, ""
}
