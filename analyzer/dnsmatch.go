package analyzer

import (
	"net/netip"
	"strings"

	"orchard/dissect"
)

// A flow is one client, server and pair of ports, so its pending queries
// are matched to responses by id and question: a retransmitted or
// duplicated query (same id and question) waits as one, and one response
// answers every copy.

// sameQuestion reports whether q asks what question qq of a message asks
// (names compare without case, as DNS does).
func (q *pendingQuery) sameQuestion(id uint16, qq *dissect.DNSQuestion) bool {
	return q.id == id && q.qtype == qq.Type && strings.EqualFold(q.name, qq.Name)
}

// queried files a query of the flow, once however many copies are sent.
func (a *appFacts) queried(m *dissect.DNSMessage, ts int64) {
	qq := &m.Questions[0]
	for i := range a.dnsPending {
		if q := &a.dnsPending[i]; q.sameQuestion(m.ID, qq) {
			q.copies++
			return
		}
	}
	if len(a.dnsPending) < maxPendingQueries {
		a.dnsPending = append(a.dnsPending, pendingQuery{id: m.ID, qtype: qq.Type, name: qq.Name, ts: ts, copies: 1})
	}
}

// answered removes the queries a response answers: those with its id and
// question, or with its id alone when it repeats no question.
func (a *appFacts) answered(m *dissect.DNSMessage) {
	kept := a.dnsPending[:0]
	for _, q := range a.dnsPending {
		match := q.id == m.ID
		if match && len(m.Questions) > 0 {
			match = q.sameQuestion(m.ID, &m.Questions[0])
		}
		if !match {
			kept = append(kept, q)
		}
	}
	clear(a.dnsPending[len(kept):])
	a.dnsPending = kept
}

// unicastDNS reports whether a DNS flow is unicast DNS, which answers
// every query; mDNS (5353) and LLMNR (5355) ask a link, often in vain.
func unicastDNS(f *Flow) bool {
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
