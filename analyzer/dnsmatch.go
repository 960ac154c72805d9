package analyzer

import (
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
