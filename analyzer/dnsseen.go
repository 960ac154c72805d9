package analyzer

import (
	"net/netip"
	"strings"
)

// A DNS query the capture saw no answer to was answered all the same when
// the device then connected to the name it asked for (the ClientHello or
// HTTP request names it): the answer came by a path the capture did not
// see. Unanswered queries wait for the report to be judged, so that
// connections ending later still count.

type namedKey struct {
	client netip.Addr
	name   string
}

// deferredQuery is an unanswered query and what its finding needs.
type deferredQuery struct {
	v      verdict
	at     attribution
	client netip.Addr
	server netip.Addr
	proto  uint8
	ts     int64
	mac    [6]byte
	hasMAC bool
	proc   string
	name   string
}

// connected notes that client reached host by name.
func (j *judge) connected(client netip.Addr, host string) {
	if j.named == nil {
		j.named = map[namedKey]bool{}
	}
	if len(j.named) < maxTracked {
		j.named[namedKey{client, strings.ToLower(host)}] = true
	}
}

// deferQuery keeps an unanswered query for the report; past the cap it
// is judged at once.
func (j *judge) deferQuery(v verdict, at *attribution, f *Flow, q pendingQuery) {
	if len(j.unanswered) >= maxTracked {
		j.addAt(v, at, f.Client, f.Server, 53, protoName(f.Proto), q.ts, f)
		return
	}
	mac, ok := f.ClientMAC()
	j.unanswered = append(j.unanswered, deferredQuery{v: v, at: *at, client: f.Client, server: f.Server, proto: f.Proto,
		ts: q.ts, mac: mac, hasMAC: ok, proc: f.Proc, name: strings.TrimSuffix(strings.ToLower(q.name), ".")})
}

// judgeUnanswered turns the waiting queries into findings, except those
// whose client connected to the name. It runs once per report; later
// queries wait for the next.
func (j *judge) judgeUnanswered() {
	for i := range j.unanswered {
		d := &j.unanswered[i]
		if j.named[namedKey{d.client, d.name}] {
			continue
		}
		f := Flow{Client: d.client, Server: d.server, Proto: d.proto, Proc: d.proc}
		f.mac[dirClient], f.hasMAC[dirClient] = d.mac, d.hasMAC
		j.addAt(d.v, &d.at, d.client, d.server, 53, protoName(d.proto), d.ts, &f)
	}
	clear(j.unanswered)
	j.unanswered = j.unanswered[:0]
}
