package analyzer

import (
	"hash/maphash"
	"net/netip"
	"strings"

	"orchard/flow"
)

// A DNS query the capture saw no answer to was answered all the same when
// the device then connected to the name it asked for (the ClientHello or
// HTTP request names it): the answer came by a path the capture did not
// see. Unanswered queries wait for the report to be judged, so that
// connections ending later still count.

// deferredQuery is an unanswered query and what its finding needs.
type deferredQuery struct {
	v      verdict
	at     attribution
	client netip.Addr
	server netip.Addr
	proto  uint8
	cport  uint16 // the ports, for the finding's Community ID
	sport  uint16
	ts     int64
	mac    [6]byte
	hasMAC bool
	proc   string
	name   string
}

// connected notes that client reached host by name. The pair is kept as
// a 64-bit hash (a few bytes a name, not the name): a capture of many
// names fills the set slowly, and it stops at maxTracked.
func (j *judge) connected(client netip.Addr, host string) {
	if j.named == nil {
		j.named = map[uint64]struct{}{}
		j.namedSeed = maphash.MakeSeed()
	}
	if len(j.named) < maxTracked {
		j.named[j.namedHash(client, host)] = struct{}{}
	}
}

// namedHash hashes a client and a name, the name without case and a
// trailing dot, without allocating.
func (j *judge) namedHash(client netip.Addr, name string) uint64 {
	var h maphash.Hash
	h.SetSeed(j.namedSeed)
	a := client.Unmap().As16()
	h.Write(a[:])
	name = strings.TrimSuffix(name, ".")
	for i := 0; i < len(name); i++ {
		c := name[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		h.WriteByte(c)
	}
	return h.Sum64()
}

// deferQuery keeps an unanswered query for the report; past the cap it
// is judged at once.
func (j *judge) deferQuery(v verdict, at *attribution, f *flow.Flow, q flow.PendingQuery) {
	if len(j.unanswered) >= maxTracked {
		j.addAt(v, at, f.Client, f.Server, 53, protoName(f.Proto), q.TS, f)
		return
	}
	mac, ok := f.ClientMAC()
	j.unanswered = append(j.unanswered, deferredQuery{v: v, at: *at, client: f.Client, server: f.Server, proto: f.Proto,
		cport: f.CPort, sport: f.SPort, ts: q.TS, mac: mac, hasMAC: ok, proc: f.Proc, name: strings.TrimSuffix(strings.ToLower(q.Name), ".")})
}

// judgeUnanswered turns the waiting queries into findings, except those
// whose client connected to the name. It runs once per report; later
// queries wait for the next.
func (j *judge) judgeUnanswered() {
	for i := range j.unanswered {
		d := &j.unanswered[i]
		if j.named != nil {
			if _, ok := j.named[j.namedHash(d.client, d.name)]; ok {
				continue
			}
		}
		f := flow.Flow{Client: d.client, Server: d.server, Proto: d.proto, CPort: d.cport, SPort: d.sport, Proc: d.proc}
		f.Orig.MAC, f.Orig.HasMAC = d.mac, d.hasMAC
		j.addAt(d.v, &d.at, d.client, d.server, 53, protoName(d.proto), d.ts, &f)
	}
	clear(j.unanswered)
	j.unanswered = j.unanswered[:0]
}
