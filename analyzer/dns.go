package analyzer

import (
	"net/netip"

	"orchard/dissect"
)

// maxPendingQueries caps the unanswered queries remembered per flow.
const maxPendingQueries = 32

// dnsMessage handles one DNS message seen on flow f in direction dir.
func (e *Engine) dnsMessage(f *Flow, b []byte, dir int, ts int64, proto string) {
	// Nothing keeps the message past this call: decode into the judge's,
	// reusing its slices (a worker hands a copy of a response to its
	// Parallel's judge).
	m := &e.judge.dnsScratch
	err := m.Decode(b)
	if len(m.Questions) == 0 && err != nil {
		e.stats.Malformed++
		return
	}
	a := &f.app
	if !m.Response {
		if len(m.Questions) == 0 {
			return
		}
		a.dnsQueries++
		if len(a.dnsPending) < maxPendingQueries {
			q := m.Questions[0]
			a.dnsPending = append(a.dnsPending, pendingQuery{id: m.ID, qtype: q.Type, name: q.Name, ts: ts})
		}
		return
	}
	a.dnsResponses++
	e.stats.DNSResponses++
	// Match the query it answers.
	for i, q := range a.dnsPending {
		if q.id == m.ID {
			a.dnsPending = append(a.dnsPending[:i], a.dnsPending[i+1:]...)
			break
		}
	}
	client, server, port := f.Client, f.Server, f.SPort
	if dir == dirClient {
		// A response sent by our "client": the orientation was a guess.
		client, server, port = f.Server, f.Client, f.CPort
	}
	if e.w != nil {
		e.w.dnsAnswer(f, client, server, port, m, ts, proto)
		return
	}
	e.dnsAnswer(f, client, server, port, m, ts, proto)
}

// dnsAnswer learns a response's addresses and judges it.
func (e *Engine) dnsAnswer(f *Flow, client, server netip.Addr, port uint16, m *dissect.DNSMessage, ts int64, proto string) {
	e.dns.add(client, m, ts)
	if e.ev != nil && len(m.Answers) > 0 && len(m.Questions) > 0 && len(e.cat.MatchHost(m.Questions[0].Name)) > 0 {
		e.keepDNS(m.Questions[0].Name)
	}
	e.judge.dnsResponse(f, client, server, m, ts, proto)
	if s := e.cfg.Sink; s != nil {
		ev := dnsEvent(m, client, server, ts, proto)
		ev.Port = port
		ev.CommunityID = flowCommunityID(f)
		s.DNS(&ev)
	}
}

// dnsTCP splits a DNS-over-TCP direction into messages.
func (e *Engine) dnsTCP(f *Flow, dir int, ts int64) {
	s := &f.streams[dir]
	off := f.app.dnsTCPOff[dir]
	if off >= len(s.buf) {
		return
	}
	msgs, rest := dissect.SplitDNSTCP(s.buf[off:])
	for _, m := range msgs {
		e.dnsMessage(f, m, dir, ts, "tcp")
	}
	f.app.dnsTCPOff[dir] = len(s.buf) - len(rest)
}

func dnsEvent(m *dissect.DNSMessage, client, server netip.Addr, ts int64, proto string) DNSEvent {
	ev := DNSEvent{Type: "dns", TS: rfc3339(ts), Client: addrString(client), Server: addrString(server), Proto: proto,
		RCode: dissect.DNSRCodeString(m.RCode), Answers: make([]DNSAnswer, 0, len(m.Answers))}
	if len(m.Questions) > 0 {
		ev.Query, ev.QType = m.Questions[0].Name, dissect.DNSTypeString(m.Questions[0].Type)
	}
	for _, r := range m.Answers {
		ev.Answers = append(ev.Answers, DNSAnswer{Name: r.Name, Type: dissect.DNSTypeString(r.Type), TTL: r.TTL, Data: r.Data})
	}
	return ev
}

// dnsName is what DNS told a client about one address.
type dnsName struct {
	query string // the name the device asked for
	ts    int64
}

type dnsKey struct {
	client, addr [16]byte
}

// dnsCache remembers, per (client, address), the name the client resolved to
// reach it. It keeps at most max entries, forgetting the oldest first.
type dnsCache struct {
	m    map[dnsKey]*dnsSlot
	any  map[[16]byte]dnsName // by address only, any client
	ring []dnsKey
	next int
	max  int
}

type dnsSlot struct{ cur, prev dnsName }

func newDNSCache(max int) *dnsCache {
	return &dnsCache{m: make(map[dnsKey]*dnsSlot), any: make(map[[16]byte]dnsName), ring: make([]dnsKey, 0, 1024), max: max}
}

// add records the addresses of a response, each under the name the client
// asked for (following CNAME chains back to the question).
func (c *dnsCache) add(client netip.Addr, m *dissect.DNSMessage, ts int64) {
	if len(m.Questions) == 0 || len(m.Answers) == 0 {
		return
	}
	q := m.Questions[0].Name
	cl := client.Unmap().As16()
	for _, r := range m.Answers {
		if !r.Addr.IsValid() {
			continue
		}
		n := dnsName{query: q, ts: ts}
		ad := r.Addr.Unmap().As16()
		k := dnsKey{client: cl, addr: ad}
		if s, ok := c.m[k]; ok {
			if s.cur.query != q {
				s.prev = s.cur
			}
			s.cur = n
		} else {
			c.insert(k, &dnsSlot{cur: n})
		}
		if len(c.any) < c.max {
			c.any[ad] = n
		} else if _, ok := c.any[ad]; ok {
			c.any[ad] = n
		}
	}
}

func (c *dnsCache) insert(k dnsKey, s *dnsSlot) {
	if len(c.ring) < c.max {
		c.ring = append(c.ring, k)
	} else {
		old := c.ring[c.next]
		delete(c.m, old)
		delete(c.any, old.addr)
		c.ring[c.next] = k
		c.next = (c.next + 1) % c.max
	}
	c.m[k] = s
}

// lookup returns the name a client resolved for addr most recently before
// (or at) time at, falling back to any client's answer.
func (c *dnsCache) lookup(client, addr netip.Addr, at int64) (dnsName, bool) {
	k := dnsKey{client: client.Unmap().As16(), addr: addr.Unmap().As16()}
	if s, ok := c.m[k]; ok {
		if s.cur.ts <= at || s.prev.query == "" {
			return s.cur, true
		}
		return s.prev, true
	}
	n, ok := c.any[k.addr]
	return n, ok
}
