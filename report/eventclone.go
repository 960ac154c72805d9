package report

import "strings"

// Clone returns a copy of e that shares no memory with it, for a Sink
// that keeps an event past the call (the engine reuses the event's
// answers and strings).
func (e *DNSEvent) Clone() DNSEvent {
	c := *e
	c.Type, c.TS, c.Client, c.Server = strings.Clone(e.Type), strings.Clone(e.TS), strings.Clone(e.Client), strings.Clone(e.Server)
	c.Proto, c.CommunityID = strings.Clone(e.Proto), strings.Clone(e.CommunityID)
	c.Query, c.QType, c.RCode = strings.Clone(e.Query), strings.Clone(e.QType), strings.Clone(e.RCode)
	if e.Answers != nil {
		c.Answers = make([]DNSAnswer, len(e.Answers))
		for i, a := range e.Answers {
			c.Answers[i] = DNSAnswer{Name: strings.Clone(a.Name), Type: strings.Clone(a.Type), TTL: a.TTL, Data: strings.Clone(a.Data)}
		}
	}
	return c
}
