package flow

import (
	"net/netip"

	"orchard/dissect"
)

// dnsInternNames sizes the table of DNS names an engine's decoder reuses.
const dnsInternNames = 16384

// dnsMessage handles one DNS message seen on flow f in direction dir.
func (e *Engine) dnsMessage(f *Flow, b []byte, dir int, ts int64, proto string) {
	// Nothing keeps the message past this call: decode into the engine's,
	// reusing its slices (a worker hands a copy of a response to its
	// Parallel's judge).
	m := &e.dnsMsg
	err := m.Decode(b)
	if len(m.Questions) == 0 && err != nil {
		e.Stats.Malformed++
		return
	}
	a := e.Table.Facts(f)
	if !m.Response {
		if len(m.Questions) == 0 || a == nil {
			return
		}
		a.DNSQueries++
		a.queried(m, ts)
		return
	}
	e.Stats.DNSResponses++
	if a != nil {
		a.DNSResponses++
		a.answered(m)
	}
	client, server, port := f.Client, f.Server, f.SPort
	if dir == DirClient {
		// A response sent by our "client": the orientation was a guess.
		client, server, port = f.Server, f.Client, f.CPort
	}
	ans := Answer{Client: client, Server: server, Port: port, Msg: m, TS: ts, Proto: proto}
	if e.Keep != nil {
		ans.Frame = e.Cur
	}
	e.sink.Answer(f, ans)
}

// Answer is one DNS response as a flow engine hands it to its sink.
type Answer struct {
	Client, Server netip.Addr // the device that asked, and who answered
	Port           uint16     // the answering port
	Msg            *dissect.DNSMessage
	TS             int64
	Proto          string
	Frame          FrameRef // the frame that carried it, when evidence is kept
}
