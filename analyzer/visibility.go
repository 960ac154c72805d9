package analyzer

import (
	"fmt"
	"strconv"

	"orchard/decode"
	"orchard/flow"
)

// The statements of a one-way capture.
const (
	seenDevicesOnly = "only packets from the devices are seen: asymmetric routing or a one-way mirror; findings that rest on a missing answer are withheld"
	seenNoAnswer    = "no packet from any server is seen: a one-way capture (asymmetric routing, a one-way mirror) or a network where nothing answers; findings that rest on a missing answer are withheld"
	seenServersOnly = "only packets from the servers are seen: asymmetric routing or a one-way mirror; the devices' requests are not visible"
)

// Thresholds of the capture-wide statements.
const (
	lossTooMuch  = 0.10     // Zeek's CaptureLoss::too_much_loss
	lossMinBytes = 64 << 10 // acknowledged bytes below which loss says nothing
)

// visTally accumulates a judge's visibility counts, flow by flow.
type visTally struct {
	v Visibility
}

// flow counts one ended flow.
func (t *visTally) flow(f *flow.Flow) {
	c, s := f.Orig.Packets, f.Resp.Packets
	if f.Proto == decode.ProtoUDP {
		t.udp(f, c, s)
		return
	}
	if f.Proto != decode.ProtoTCP {
		return
	}
	switch {
	case c > 0 && s > 0:
		t.v.BothSides++
		for d := range 2 {
			acked, ok := f.AckedBytes(d)
			if !ok {
				continue
			}
			t.v.AckedBytes += acked
			if acked > f.Side(d).Bytes {
				t.v.MissedBytes += acked - f.Side(d).Bytes
			}
		}
	case s == 0 && f.Orig.Hist&flow.HProgress != 0:
		t.v.DevicesOnly++
	case c == 0 && s > 0:
		t.v.ServersOnly++
	default:
		return // a bare SYN shows nothing either way
	}
	t.v.Flows++
}

// udp counts a UDP flow whose packets are requests or answers: an answer
// proves a request, seen or not; requests alone prove nothing by
// themselves (the server may be down), but when no flow at all shows both
// sides, they say the capture sees one way.
func (t *visTally) udp(f *flow.Flow, c, s uint64) {
	a := f.App // never nil while judged (judge.flow)
	request := a.DNSQueries > 0 || a.NTPClient || a.QUIC != nil || a.QUICPackets > 0
	answer := a.DNSResponses > 0 || a.NTPServer || f.SPort == 443 && c == 0 && s > 0 // QUIC's server speaks only when spoken to
	switch {
	case !isDeviceAddr(f.Server) || !isDeviceAddr(f.Client) || f.SPort == 5353 || f.SPort == 5355:
		// multicast and link-local name resolution need no answer
	case c > 0 && s > 0:
		t.v.UDPBothSides++
	case s == 0 && a.QUICShort:
		// QUIC 1-RTT from the client: the server's handshake came unseen.
		t.v.DevicesOnly++
		t.v.Flows++
	case s == 0 && request:
		t.v.UDPRequests++
	case c == 0 && answer:
		t.v.UDPAnswers++
	}
}

// finish decides the capture-wide statement.
func (t *visTally) finish() Visibility {
	v := t.v
	if v.AckedBytes > 0 {
		v.Loss = float64(v.MissedBytes) / float64(v.AckedBytes)
	}
	one := v.DevicesOnly + v.ServersOnly
	noneBoth := v.BothSides == 0 && v.UDPBothSides == 0
	switch {
	case noneBoth && v.ServersOnly+v.UDPAnswers > 0 && v.DevicesOnly == 0:
		v.Missing = "devices"
		v.Statement = seenServersOnly
	case noneBoth && v.DevicesOnly > 0:
		v.Missing = "servers"
		v.Statement = seenDevicesOnly
	case noneBoth && v.UDPRequests > 0:
		// Requests alone: a one-way capture, or a network where nothing
		// answers; either way an absent answer proves nothing.
		v.Missing = "servers"
		v.Statement = seenNoAnswer
	case v.Flows > 0 && 2*one > v.Flows && v.DevicesOnly >= v.ServersOnly:
		v.Missing = "servers"
		v.Statement = seenDevicesOnly
	case v.Flows > 0 && 2*one > v.Flows:
		v.Missing = "devices"
		v.Statement = seenServersOnly
	case v.AckedBytes >= lossMinBytes && v.Loss >= lossTooMuch:
		v.Statement = "the capture missed " + strconv.Itoa(int(v.Loss*100+0.5)) + "% of the bytes the endpoints acknowledged (drops at the tap or the capture host); findings that rest on a missing answer are withheld"
	}
	return v
}

// withholds reports whether, by v, findings that rest on an absent answer cannot
// be decided from this capture, and why.
func withholds(v *Visibility) (bool, string) {
	switch {
	case v.Missing == "servers":
		return true, "the capture does not show the servers' packets"
	case v.AckedBytes >= lossMinBytes && v.Loss >= lossTooMuch:
		return true, fmt.Sprintf("the capture lost %.0f%% of the traffic", v.Loss*100)
	}
	return false, ""
}

// withhold makes every finding that rests on an absent answer undecided,
// on copies: the judge's own stay as they are, for a later report.
func withhold(fs []*Finding, why string) (out []*Finding, n int) {
	out = make([]*Finding, 0, len(fs))
	for _, fd := range fs {
		if fd.Tally.Absent && fd.Undecided == "" {
			c := *fd
			c.Tally.Sev, c.Severity = SevInfo, SevInfo.String()
			c.Undecided = why
			c.Evidence += "; undecided: " + why
			fd = &c
			n++
		}
		out = append(out, fd)
	}
	return out, n
}
