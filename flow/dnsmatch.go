package flow

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
func (q *PendingQuery) sameQuestion(id uint16, qq *dissect.DNSQuestion) bool {
	return q.ID == id && q.QType == qq.Type && strings.EqualFold(q.Name, qq.Name)
}

// Queried files a query of the flow, once however many copies are sent.
func (a *Facts) Queried(m *dissect.DNSMessage, ts int64) {
	qq := &m.Questions[0]
	for i := range a.DNSPending {
		if q := &a.DNSPending[i]; q.sameQuestion(m.ID, qq) {
			q.Copies++
			return
		}
	}
	if len(a.DNSPending) < maxPendingQueries {
		a.DNSPending = append(a.DNSPending, PendingQuery{ID: m.ID, QType: qq.Type, Name: qq.Name, TS: ts, Copies: 1})
	}
}

// Answered removes the queries a response answers: those with its id and
// question, or with its id alone when it repeats no question.
func (a *Facts) Answered(m *dissect.DNSMessage) {
	kept := a.DNSPending[:0]
	for _, q := range a.DNSPending {
		match := q.ID == m.ID
		if match && len(m.Questions) > 0 {
			match = q.sameQuestion(m.ID, &m.Questions[0])
		}
		if !match {
			kept = append(kept, q)
		}
	}
	clear(a.DNSPending[len(kept):])
	a.DNSPending = kept
}
