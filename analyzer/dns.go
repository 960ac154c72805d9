package analyzer

import (
	"net/netip"

	"orchard/dissect"
	"orchard/flow"
)

// dnsInternNames sizes the table of DNS names an engine's decoder reuses.
const dnsInternNames = 16384

// dnsMessage handles one DNS message seen on flow f in direction dir.
func (e *flowEngine) dnsMessage(f *flow.Flow, b []byte, dir int, ts int64, proto string) {
	// Nothing keeps the message past this call: decode into the engine's,
	// reusing its slices (a worker hands a copy of a response to its
	// Parallel's judge).
	m := &e.dnsMsg
	err := m.Decode(b)
	if len(m.Questions) == 0 && err != nil {
		e.stats.Malformed++
		return
	}
	a := e.table.Facts(f)
	if !m.Response {
		if len(m.Questions) == 0 || a == nil {
			return
		}
		a.DNSQueries++
		a.Queried(m, ts)
		return
	}
	e.stats.DNSResponses++
	if a != nil {
		a.DNSResponses++
		a.Answered(m)
	}
	client, server, port := f.Client, f.Server, f.SPort
	if dir == flow.DirClient {
		// A response sent by our "client": the orientation was a guess.
		client, server, port = f.Server, f.Client, f.CPort
	}
	ans := dnsAnswer{client: client, server: server, port: port, m: m, ts: ts, proto: proto}
	if e.ev != nil {
		ans.frame = e.cur
	}
	e.sink.dnsAnswer(f, ans)
}

// dnsAnswer is one DNS response as a flow engine hands it to its sink.
type dnsAnswer struct {
	client, server netip.Addr // the device that asked, and who answered
	port           uint16     // the answering port
	m              *dissect.DNSMessage
	ts             int64
	proto          string
	frame          flow.FrameRef // the frame that carried it, when evidence is kept
}

// dnsAnswer learns a response's addresses and judges it.
func (j *judge) dnsAnswer(f *flow.Flow, a dnsAnswer) {
	e := &j.env
	client, server, port, m, ts, proto := a.client, a.server, a.port, a.m, a.ts, a.proto
	e.dns.add(client, m, ts)
	if e.ev != nil && len(m.Answers) > 0 && len(m.Questions) > 0 && len(e.cat.MatchHost(m.Questions[0].Name)) > 0 {
		e.keepDNS(m.Questions[0].Name, a.frame)
	}
	j.dnsResponse(f, &a)
	if s := e.cfg.Sink; s != nil {
		ev := dnsEvent(m, client, server, ts, proto)
		ev.Port = port
		ev.CommunityID = flowCommunityID(f)
		s.DNS(&ev)
	}
}

func dnsEvent(m *dissect.DNSMessage, client, server netip.Addr, ts int64, proto string) DNSEvent {
	ev := DNSEvent{Type: "dns", TS: rfc3339(ts), Client: addrString(client), Server: addrString(server), Proto: proto,
		RCode: dissect.DNSRCodeString(m.RCode), Answers: make([]DNSAnswer, 0, len(m.Answers))}
	if len(m.Questions) > 0 {
		ev.Query, ev.QType = m.Questions[0].Name, dissect.DNSTypeString(m.Questions[0].Type)
	}
	for _, r := range m.Answers {
		data := r.Data
		if data == "" && r.Addr.IsValid() {
			data = r.Addr.String()
		}
		ev.Answers = append(ev.Answers, DNSAnswer{Name: r.Name, Type: dissect.DNSTypeString(r.Type), TTL: r.TTL, Data: data})
	}
	return ev
}

// finishApp runs the last dissection when a flow ends.
func (j *judge) finishApp(f *flow.Flow) {
	a := f.App
	if a == nil {
		return
	}
	for _, q := range a.DNSPending {
		j.dnsUnanswered(f, q)
	}
	clear(a.DNSPending)
	a.DNSPending = a.DNSPending[:0] // its memory is recycled with a
}

// unicastDNS reports whether a DNS flow is unicast DNS, which answers
// every query; mDNS (5353) and LLMNR (5355) ask a link, often in vain.
func unicastDNS(f *flow.Flow) bool {
	switch {
	case f.SPort == 5353 || f.CPort == 5353 || f.SPort == 5355 || f.CPort == 5355:
		return false
	case !isDeviceAddr(f.Server):
		return false // a multicast or broadcast "server"
	}
	return true
}

// isDeviceAddr reports whether a can be a device: not a multicast group, a
// broadcast (limited, or the .255 of a subnet) or the unspecified address.
func isDeviceAddr(a netip.Addr) bool {
	a = a.Unmap()
	if !a.IsValid() || a.IsUnspecified() || a.IsMulticast() {
		return false
	}
	if a.Is4() && a.As4()[3] == 255 {
		return false
	}
	return true
}
