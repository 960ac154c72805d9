package analyzer

import (
	"fmt"
	"net/netip"

	"orchard/dissect"
	"orchard/flow"
)

// dnsAnswer learns a response's addresses and judges it.
func (j *judge) Answer(f *flow.Flow, a flow.Answer) {
	e := &j.env
	client, server, port, m, ts, proto := a.Client, a.Server, a.Port, a.Msg, a.TS, a.Proto
	e.dns.add(client, m, ts)
	if e.ev != nil && len(m.Answers) > 0 && len(m.Questions) > 0 && len(e.cat.MatchHost(m.Questions[0].Name)) > 0 {
		e.keepDNS(m.Questions[0].Name, a.Frame)
	}
	j.dnsResponse(f, &a)
	if s := e.cfg.Sink; s != nil {
		s.DNS(e.dnsEv.build(m, client, server, port, ts, proto, flowTuple(f)))
	}
}

// finishApp runs the last dissection when a flow ends.
func (j *judge) finishApp(f *flow.Flow) {
	a := f.App
	if a == nil {
		return
	}
	for _, q := range a.DNSPending {
		j.dnsUnanswered(f, q)
	}
	clear(a.DNSPending)
	a.DNSPending = a.DNSPending[:0] // its memory is recycled with a
}

// unicastDNS reports whether a DNS flow is unicast DNS, which answers
// every query; mDNS (5353) and LLMNR (5355) ask a link, often in vain.
func unicastDNS(f *flow.Flow) bool {
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

// dnsResponse judges one DNS response for an Apple name. Most responses
// answer well: what is wrong with one (dnsProblem) is decided first,
// from its code and addresses alone, and only a response with a problem
// has its name matched against the catalog and its evidence written.
func (j *judge) dnsResponse(f *flow.Flow, a *flow.Answer) {
	client, server, m, ts, proto := a.Client, a.Server, a.Msg, a.TS, a.Proto
	if len(m.Questions) == 0 || !isDeviceAddr(client) {
		return // a multicast (mDNS) answer tells no device anything
	}
	q := m.Questions[0]
	relay := isPrivateRelay(q.Name)
	def, sink := dnsProblem(m, relay)
	if def == nil {
		return
	}
	entries := j.env.cat.MatchHost(q.Name)
	if len(entries) == 0 && !j.env.cfg.AllHosts {
		return
	}
	at := attribution{host: q.Name, source: SourceDNS, entries: entries, apple: len(entries) > 0, port: 53}
	at.best = bestEntry(entries, 443, "tcp")
	v := dnsVerdict(def, sink, m, relay, server)
	if v.sev >= SevWarn {
		j.env.writeAnswer(v, q.Name, a.Frame)
	}
	j.addAt(v, &at, client, server, 53, proto, ts, f)
}

// dnsProblem returns the finding a response with a question raises, or
// nil: a sinkhole address among its answers (the first, returned too), no
// address at all for iCloud Private Relay's names, or a failure code.
func dnsProblem(m *dissect.DNSMessage, relay bool) (*FindingDef, netip.Addr) {
	switch m.RCode {
	case 0:
		for i := range m.Answers {
			if r := &m.Answers[i]; r.Addr.IsValid() && maySinkhole(r.Addr) && isSinkhole(r.Addr) {
				return &defDNSSinkhole, r.Addr
			}
		}
		if qt := m.Questions[0].Type; relay && len(m.Answers) == 0 && (qt == 1 || qt == 28) {
			return &defDNSFailure, netip.Addr{}
		}
	case 2, 3, 5:
		return &defDNSFailure, netip.Addr{}
	}
	return nil, netip.Addr{}
}

// dnsVerdict is the verdict of def, from dnsProblem, with its evidence:
// information, not a failure, for iCloud Private Relay's names.
func dnsVerdict(def *FindingDef, sink netip.Addr, m *dissect.DNSMessage, relay bool, server netip.Addr) verdict {
	q := m.Questions[0]
	var v verdict
	switch {
	case def == &defDNSSinkhole:
		v = raise(def, fmt.Sprintf("%s %s answered %s by %s", q.Name, dissect.DNSTypeString(q.Type), sink, addrString(server)))
		if relay {
			v.sev = SevInfo
		}
	case m.RCode == 0:
		v = raise(def, fmt.Sprintf("%s %s answered with no address: iCloud Private Relay turned off by the network, as Apple documents", q.Name, dissect.DNSTypeString(q.Type)))
		v.sev = SevInfo
	default:
		v = raise(def, fmt.Sprintf("%s %s answered %s by %s", q.Name, dissect.DNSTypeString(q.Type), dissect.DNSRCodeString(m.RCode), addrString(server)))
		if m.RCode == 3 && relay {
			v.sev = SevInfo
			v.evidence += ": iCloud Private Relay turned off by the network, as Apple documents"
		}
	}
	return v
}

// isSinkhole reports addresses DNS filters answer instead of the real one:
// the unspecified address, loopback, and Cisco Umbrella's (OpenDNS's)
// block pages, 146.112.61.104-110; IPv4-mapped IPv6 addresses as their
// IPv4 address.
func isSinkhole(a netip.Addr) bool {
	b := a.As16()
	if [12]byte(b[:12]) != [12]byte{10: 0xff, 11: 0xff} {
		return a == netip.IPv6Unspecified() || a.Is6() && a.IsLoopback()
	}
	switch b[12] {
	case 0:
		return b[13]|b[14]|b[15] == 0
	case 127:
		return true
	case 146:
		return b[13] == 112 && b[14] == 61 && b[15] >= 104 && b[15] <= 110
	}
	return false
}

// maySinkhole is false for most addresses isSinkhole is false for, and
// small enough to inline in the loop over every address of every
// response: byte 12 of the 16-byte form is an IPv4 address's first byte
// (0, 127 or 146 for a sinkhole), and 0 for :: and ::1.
func maySinkhole(a netip.Addr) bool {
	c := a.As16()[12]
	return c == 0 || c == 127 || c == 146
}
