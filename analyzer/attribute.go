package analyzer

import (
	"strings"

	"orchard/catalog"
	"orchard/flow"
)

// Name sources, in order of trust.
const (
	SourceSNI  = "sni"
	SourceHTTP = "http"
	SourceDNS  = "dns"
	SourceIP   = "ip"
)

// attribution is who a flow talked to, and what Apple says about it.
type attribution struct {
	host    string // the name, or the server address for SourceIP
	source  string
	entries []*catalog.Entry
	best    *catalog.Entry // the entry that best fits the port
	apple   bool
	port    uint16 // the port the host was reached on (CONNECT target port through a proxy)
	// older is the row of the older edition that lists the flow's address,
	// when only that edition names it.
	older *catalog.Entry
	// push caches isPush: 0 unknown, 1 yes, -1 no.
	push int8
}

// attribute names a flow's host (SNI, then HTTP Host or CONNECT target,
// then the client's DNS answer, then Apple's address block) and looks it up
// in the catalog.
func (e *judgeEnv) attribute(f *flow.Flow) attribution {
	at := attribution{port: f.SPort}
	if ch := f.ClientHello(); ch != nil && ch.SNI != "" {
		at.host, at.source = ch.SNI, SourceSNI
	}
	if r := f.App.Request; r != nil {
		switch {
		case r.Method == "CONNECT" && r.ConnectHost != "":
			if at.host == "" {
				at.host, at.source = r.ConnectHost, SourceHTTP
			}
			at.port = r.ConnectPort
		case at.host == "" && r.Host != "":
			at.host, at.source = r.Host, SourceHTTP
		}
	}
	if at.host == "" {
		if n, ok := e.dns.lookup(f.Client, f.Server, f.First); ok {
			at.host, at.source = n.query, SourceDNS
		}
	}
	if at.host != "" {
		at.host = strings.TrimSuffix(strings.ToLower(at.host), ".")
		at.entries = e.cat.MatchHost(at.host)
	}
	// Through a proxy the server address is the proxy's: only a direct
	// connection's address says anything about Apple.
	direct := f.App.Request == nil || f.App.Request.Method != "CONNECT"
	var row *addrRow // the row whose entries the flow's are
	if len(at.entries) == 0 && direct {
		if r := e.addrRows.get(e.cat, f.Server); len(r.info.rows) > 0 {
			at.entries, row = r.info.rows, r
			if at.host == "" {
				at.host, at.source, at.push = r.text, SourceIP, pushOf(r.info.push)
			}
		}
	}
	if at.host == "" {
		// Not Apple: the address is only shown when every host is
		// reported or flows go to a sink.
		at.source = SourceIP
		if e.cfg.AllHosts || e.cfg.Sink != nil {
			at.host = e.addrRows.get(e.cat, f.Server).text
		}
	}
	at.apple = len(at.entries) > 0
	if row != nil {
		at.best = row.bestFor(at.port, f.Proto)
	} else {
		at.best = bestEntry(at.entries, at.port, protoName(f.Proto))
	}
	if isGeneralHost(at.host) {
		if rows := e.cat.Lookup("*.apple.com"); len(rows) > 0 {
			at.best = rows[0]
		}
	}
	if at.source == SourceIP && at.best != nil {
		// An address only the older edition lists is named by its row,
		// marked as such, in the section of the block that holds it.
		for _, en := range at.entries {
			if olderOnly(en) {
				at.older = en
				break
			}
		}
	}
	return at
}

// isGeneralHost reports names Apple's article lists for one narrow use that
// most of their traffic is not: www.apple.com is under Apple Business
// Manager for the fonts some languages load from it, but a device
// reaching it is mostly browsing Apple's website. They are judged under
// the *.apple.com catch-all.
func isGeneralHost(h string) bool { return h == "www.apple.com" }

// olderOnly reports a row that only the older edition of the article lists.
func olderOnly(e *catalog.Entry) bool {
	return len(e.Editions) == 1 && e.Editions[0] == "older"
}

// bestEntry picks the most specific row for the port: one that names the
// port, then one that allows any port, then a catch-all; rows only the
// older edition lists come after the current editions' rows (a current
// catch-all included); else the first row.
func bestEntry(es []*catalog.Entry, port uint16, proto string) *catalog.Entry {
	if len(es) == 0 {
		return nil
	}
	best, rank := es[0], 0
	for _, e := range es {
		if !e.AllowsPort(port, proto) {
			continue
		}
		r := 4
		switch {
		case olderOnly(e):
			r = 1
		case e.IsCatchAll():
			r = 2
		case len(e.Ports) == 0:
			r = 3
		}
		if r > rank {
			best, rank = e, r
		}
	}
	return best
}

// portListed reports whether any non-catch-all row allows the port.
func (at *attribution) portListed(proto string) bool {
	specific := false
	for _, e := range at.entries {
		if e.IsCatchAll() || olderOnly(e) {
			continue
		}
		specific = true
		if e.AllowsPort(at.port, proto) {
			return true
		}
	}
	return !specific
}

// service is a short name of the service: the row's description, else its section.
func (at *attribution) service() string {
	if at.best == nil {
		return ""
	}
	s := at.best.Section
	if at.best.Description != "" {
		s = at.best.Description
	}
	if at.older != nil && at.older != at.best {
		s += " (the older edition lists this range for " + at.older.Section + ": " + at.older.Description + ")"
	}
	return s
}

func (at *attribution) section() string {
	if at.best == nil {
		return ""
	}
	return at.best.Section
}

func protoName(p uint8) string {
	switch p {
	case 6:
		return "tcp"
	case 17:
		return "udp"
	case 1:
		return "icmp"
	case 58:
		return "icmpv6"
	}
	return "ip"
}
