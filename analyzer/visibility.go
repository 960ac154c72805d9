package analyzer

import (
	"fmt"
	"strconv"

	"orchard/decode"
	"orchard/flow"
)

// Visibility says how much of the traffic the capture saw, the way Zeek
// flags possible_split_routing and estimates capture_loss: TCP flows of
// which only one side's packets were captured although they show the other
// side spoke, and bytes one side acknowledged that the capture never saw.
type Visibility struct {
	// Flows counts the flows that show whether both sides were seen: TCP
	// flows, and QUIC flows whose client sent 1-RTT packets.
	Flows uint64 `json:"flows"`
	// BothSides counts those with packets from both sides.
	BothSides uint64 `json:"both_sides"`
	// DevicesOnly counts flows with only the client's packets, which
	// nonetheless acknowledge or carry data after the handshake: the
	// server answered, out of the capture's sight.
	DevicesOnly uint64 `json:"devices_only"`
	// ServersOnly counts flows with only the server's packets.
	ServersOnly uint64 `json:"servers_only"`
	// UDPRequests counts unicast DNS, NTP and QUIC flows with requests
	// and no packet back; UDPAnswers those with answers (DNS responses,
	// NTP replies) and no request; UDPBothSides those with both.
	UDPRequests  uint64 `json:"udp_requests_only"`
	UDPAnswers   uint64 `json:"udp_answers_only"`
	UDPBothSides uint64 `json:"udp_both_sides"`
	// Missing is "servers" when only the devices' packets are seen,
	// "devices" when only the servers' are.
	Missing string `json:"missing,omitempty"`
	// AckedBytes and MissedBytes are the payload bytes acknowledged in
	// flows seen both ways, and those of them the capture did not see.
	AckedBytes  uint64 `json:"acked_bytes"`
	MissedBytes uint64 `json:"missed_bytes"`
	// Loss is MissedBytes / AckedBytes.
	Loss float64 `json:"capture_loss"`
	// Statement says, in one line, what the capture cannot show; empty
	// when it sees both directions without much loss.
	Statement string `json:"statement,omitempty"`
	// Withheld counts the findings made undecided because they rest on an
	// answer the capture could not have seen.
	Withheld int `json:"withheld,omitempty"`
}

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

// withholds reports whether findings that rest on an absent answer cannot
// be decided from this capture, and why.
func (v *Visibility) withholds() (bool, string) {
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
		if fd.absent && fd.Undecided == "" {
			c := *fd
			c.sev, c.Severity = SevInfo, SevInfo.String()
			c.Undecided = why
			c.Evidence += "; undecided: " + why
			fd = &c
			n++
		}
		out = append(out, fd)
	}
	return out, n
}
