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
