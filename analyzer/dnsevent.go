package analyzer

import (
	"net/netip"
	"time"
	"unsafe"

	"orchard/communityid"
	"orchard/dissect"
)

// dnsEventBuf is the judge's one DNS event, rebuilt for every response
// a Sink is given: its answers slice and the text of its timestamp,
// addresses and Community ID are written into memory that the next
// response reuses, so an event costs no allocation once the buffers have
// grown. This is what the Sink contract allows (see Sink): the event and
// every string and slice in it are valid only during the call.
type dnsEventBuf struct {
	ev   DNSEvent
	text []byte // the bytes of the event's formatted strings
}

// build fills b.ev for the response m from client to server and returns
// it.
func (b *dnsEventBuf) build(m *dissect.DNSMessage, client, server netip.Addr, port uint16, ts int64, proto string, id communityid.Tuple) *DNSEvent {
	// The strings below point into b.text, so it must not move while
	// they are made: reserve what they can take at most.
	need := len(time.RFC3339Nano) + 2*len("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255") + communityid.Len
	for _, r := range m.Answers {
		if r.Data == "" && r.Addr.IsValid() {
			need += len("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255%") + len(r.Addr.Zone())
		}
	}
	if cap(b.text) < need {
		b.text = make([]byte, 0, 2*need)
	}
	b.text = b.text[:0]
	ev := &b.ev
	answers := ev.Answers[:0]
	*ev = DNSEvent{Type: "dns", Port: port, Proto: proto, RCode: dissect.DNSRCodeString(m.RCode)}
	ev.TS = b.str(time.Unix(0, ts).UTC().AppendFormat(b.text, time.RFC3339Nano))
	ev.Client = b.addr(client, true)
	ev.Server = b.addr(server, true)
	ev.CommunityID = b.str(communityid.Append(b.text, 0, id))
	if len(m.Questions) > 0 {
		ev.Query, ev.QType = m.Questions[0].Name, dissect.DNSTypeString(m.Questions[0].Type)
	}
	for _, r := range m.Answers {
		data := r.Data
		if data == "" && r.Addr.IsValid() {
			data = b.addr(r.Addr, false)
		}
		answers = append(answers, DNSAnswer{Name: r.Name, Type: dissect.DNSTypeString(r.Type), TTL: r.TTL, Data: data})
	}
	if answers == nil {
		answers = []DNSAnswer{} // the stream writes "answers":[], not null
	}
	ev.Answers = answers
	return ev
}

// addr formats a into b.text: as addrString when unmap, else as
// netip.Addr.String.
func (b *dnsEventBuf) addr(a netip.Addr, unmap bool) string {
	if !a.IsValid() {
		return ""
	}
	if unmap {
		a = a.Unmap()
	}
	return b.str(a.AppendTo(b.text))
}

// str returns the bytes that grown appended to b.text as a string, and
// keeps them in b.text. grown must be b.text with bytes appended within
// its capacity.
func (b *dnsEventBuf) str(grown []byte) string {
	s := grown[len(b.text):]
	b.text = grown
	if len(s) == 0 {
		return ""
	}
	return unsafe.String(&s[0], len(s))
}
