package analyzer

import (
	"strings"

	"orchard/catalog"
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
}

// attribute names a flow's host (SNI, then HTTP Host or CONNECT target,
// then the client's DNS answer, then Apple's address block) and looks it up
// in the catalog.
func (e *Engine) attribute(f *Flow) attribution {
	at := attribution{port: f.SPort}
	if ch := f.clientHello(); ch != nil && ch.SNI != "" {
		at.host, at.source = ch.SNI, SourceSNI
	}
	if r := f.app.req; r != nil {
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
	direct := f.app.req == nil || f.app.req.Method != "CONNECT"
	if len(at.entries) == 0 && direct && e.cat.IsAppleAddr(f.Server) {
		at.entries = e.cat.MatchAddr(f.Server)
		if at.host == "" {
			at.host, at.source = addrString(f.Server), SourceIP
		}
	}
	if at.host == "" {
		// Not Apple: the address is only shown when every host is
		// reported or flows go to a sink.
		at.source = SourceIP
		if e.cfg.AllHosts || e.cfg.Sink != nil {
			at.host = addrString(f.Server)
		}
	}
	at.apple = len(at.entries) > 0
	at.best = bestEntry(at.entries, at.port, protoName(f.Proto))
	return at
}

// bestEntry picks the row that lists the port (the most specific first),
// else the first row.
func bestEntry(es []*catalog.Entry, port uint16, proto string) *catalog.Entry {
	if len(es) == 0 {
		return nil
	}
	for _, e := range es {
		if e.AllowsPort(port, proto) && !e.IsCatchAll() {
			return e
		}
	}
	for _, e := range es {
		if e.AllowsPort(port, proto) {
			return e
		}
	}
	return es[0]
}

// portListed reports whether any non-catch-all row allows the port.
func (at *attribution) portListed(proto string) bool {
	specific := false
	for _, e := range at.entries {
		if e.IsCatchAll() {
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
	if at.best.Description != "" {
		return at.best.Description
	}
	return at.best.Section
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
