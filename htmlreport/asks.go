package htmlreport

import (
	"slices"
	"strconv"
	"strings"
	"unicode"

	"orchard/analyzer"
	"orchard/catalog"
)

// Actions a network team can take, in the order the page lists them.
const (
	ActionAllow = "allow" // allow outbound host:port/protocol
	ActionTLS   = "tls"   // exempt from TLS inspection
	ActionProxy = "proxy" // allow through the proxy without authentication
	ActionDNS   = "dns"   // fix DNS for these names
	ActionNTP   = "ntp"   // allow UDP 123
)

// maxAsks bounds the lines of one group.
const maxAsks = 500

var actionText = map[string]struct{ title, why string }{
	ActionAllow: {"Allow outbound connections",
		"Connections from the devices to these Apple hosts are dropped, rejected or reset: allow them outbound, host, port and protocol as listed."},
	ActionTLS: {"Exempt from TLS inspection",
		"Apple services fail through HTTPS interception (SSL inspection): exempt these hosts from decryption. Apple recommends exempting *.apple.com and 17.0.0.0/8 as a whole."},
	ActionProxy: {"Allow through the proxy without authentication",
		"The proxy refuses these Apple hosts or asks for credentials that device services cannot give: allow them through without authentication."},
	ActionDNS: {"Fix DNS for these names",
		"The resolver fails, sinkholes or does not answer these Apple names: allow-list them in the DNS filter and check the forwarders."},
	ActionNTP: {"Allow UDP 123 (time)",
		"The devices' time requests to Apple's time servers get no good answer: allow outbound UDP 123. A wrong clock breaks TLS, and with it every Apple service."},
}

var actionOrder = []string{ActionAllow, ActionTLS, ActionProxy, ActionDNS, ActionNTP}

// AskGroup is one action for the network team and the hosts it concerns.
type AskGroup struct {
	Action string
	Title  string
	Why    string
	Items  []Ask
	More   int // items beyond the page's limit
}

// Ask is one line of a request: a target, its port, and why.
type Ask struct {
	Target   string   // host name, address or block
	Port     string   // "TCP 5223", "" for DNS
	Seen     []string // server or resolver addresses seen
	Apple    string   // what Apple's catalog lists for the host
	Reasons  []string // finding names
	Evidence string   // the first finding's evidence
	IDs      []string // the findings' page IDs
}

// actionOf says what a finding asks of the network, or "" for nothing
// (information only, or a fault the network cannot fix). Finding names the
// page does not know are placed by their family prefix.
func actionOf(f *analyzer.Finding) string {
	if sev, ok := analyzer.ParseSeverity(f.Severity); !ok || sev < analyzer.SevWarn {
		return ""
	}
	switch f.Finding {
	case analyzer.FindCertExpired, analyzer.FindPortUnlisted:
		return ""
	case analyzer.FindAPNSFallback:
		return ActionAllow
	case analyzer.FindHelloUnanswered, analyzer.FindAborted, analyzer.FindIntercepted:
		return ActionTLS
	}
	family, _, _ := strings.Cut(f.Finding, ".")
	switch family {
	case "tcp", "udp", "quic", "icmp":
		return ActionAllow
	case "tls":
		return ActionTLS
	case "http", "proxy":
		return ActionProxy
	case "dns":
		return ActionDNS
	case "ntp":
		return ActionNTP
	}
	return ""
}

// buildAsks derives the network team's list from the findings, one line per
// action and target, in the order of actionOrder.
func buildAsks(fs []*analyzer.Finding, cat *catalog.Catalog) []AskGroup {
	groups := map[string]*AskGroup{}
	index := map[string]int{}
	for i, f := range fs {
		if f == nil {
			continue
		}
		act := actionOf(f)
		if act == "" {
			continue
		}
		target, port := f.Host, protoPort(f.Proto, f.Port)
		seen := f.Server
		switch act {
		case ActionAllow:
			if f.Finding == analyzer.FindAPNSFallback {
				// Push fell back to 443: what is missing is the push port
				// to Apple's whole block, as Apple documents it.
				target = "17.0.0.0/8"
			}
		case ActionProxy:
			target = hostPort(f.Host, f.Port, "")
			port = ""
		case ActionDNS:
			port = ""
		case ActionNTP:
			port = "UDP 123"
		}
		if target == "" {
			target = f.Server
		}
		g := groups[act]
		if g == nil {
			t := actionText[act]
			g = &AskGroup{Action: act, Title: t.title, Why: t.why}
			groups[act] = g
		}
		key := act + "\x00" + target + "\x00" + port
		j, ok := index[key]
		if !ok {
			if len(g.Items) >= maxAsks {
				g.More++
				continue
			}
			a := Ask{Target: target, Port: port, Evidence: f.Evidence}
			if act != ActionDNS && target != "17.0.0.0/8" {
				if e := judgedRow(cat, f); e != nil {
					a.Apple = appleLists(e)
				}
			}
			g.Items = append(g.Items, a)
			j = len(g.Items) - 1
			index[key] = j
		}
		a := &g.Items[j]
		if seen != "" && !slices.Contains(a.Seen, seen) && len(a.Seen) < 8 {
			a.Seen = append(a.Seen, seen)
		}
		if !slices.Contains(a.Reasons, f.Finding) {
			a.Reasons = append(a.Reasons, f.Finding)
		}
		if len(a.IDs) < 16 && i < maxFindings {
			a.IDs = append(a.IDs, "f"+strconv.Itoa(i+1))
		}
	}
	var out []AskGroup
	for _, act := range actionOrder {
		if g := groups[act]; g != nil {
			out = append(out, *g)
		}
	}
	return out
}

func protoPort(proto string, port uint16) string {
	if port == 0 {
		return strings.ToUpper(proto)
	}
	return strings.TrimSpace(strings.ToUpper(proto) + " " + strconv.Itoa(int(port)))
}

// appleLists says what a catalog row allows: "*.push.apple.com: TCP 443, 80, 5223, 2197".
func appleLists(e *catalog.Entry) string {
	protos := "any protocol"
	if len(e.Protocols) > 0 {
		protos = strings.Join(e.Protocols, "/")
	}
	ports := "any port"
	if len(e.Ports) > 0 {
		ps := make([]string, len(e.Ports))
		for i, p := range e.Ports {
			ps[i] = strconv.Itoa(int(p))
		}
		ports = strings.Join(ps, ", ")
	}
	return e.Host + ": " + protos + " " + ports
}

// affectedDevices lists the devices (client addresses) of the findings
// that ask something of the network, at most max of them, and how many
// more there are.
func affectedDevices(fs []*analyzer.Finding, limit int) (devs []string, more int) {
	seen := map[string]bool{}
	for _, f := range fs {
		if f == nil || f.Client == "" || seen[f.Client] || actionOf(f) == "" {
			continue
		}
		seen[f.Client] = true
		if len(devs) < limit {
			devs = append(devs, f.Client)
		} else {
			more++
		}
	}
	return devs, more
}

// ticketText writes the asks as plain text that pastes into a ticket.
func ticketText(groups []AskGroup, in Input, devs []string, moreDevs int) string {
	if len(groups) == 0 {
		return "Nothing to ask: no finding in this capture calls for a change to the network.\n"
	}
	var b strings.Builder
	b.WriteString("Apple services fail on our network. Please make these changes.\n")
	b.WriteString("Evidence: orchard report of " + oneLine(strings.Join(in.Sources, ", ")))
	if in.Span != "" {
		b.WriteString(" (" + in.Span + ")")
	}
	b.WriteString(".\n")
	if len(devs) > 0 {
		b.WriteString("Devices affected: " + oneLine(strings.Join(devs, ", ")))
		if moreDevs > 0 {
			b.WriteString(" and " + strconv.Itoa(moreDevs) + " more")
		}
		b.WriteString("\n")
	}
	b.WriteString("Apple's requirements: \"Use Apple products on enterprise networks\", " + ArticleURL + "\n")
	for n, g := range groups {
		b.WriteString("\n" + strconv.Itoa(n+1) + ". " + g.Title + "\n")
		b.WriteString("   " + g.Why + "\n")
		peer := peerWord(g.Action)
		for _, a := range g.Items {
			head := oneLine(a.Target)
			if a.Port != "" {
				head += " " + a.Port
			}
			b.WriteString("   - " + head + "\n")
			why := strings.Join(a.Reasons, ", ")
			if len(a.Seen) > 0 {
				why += ", " + peer + " " + oneLine(strings.Join(a.Seen, ", "))
			}
			b.WriteString("       seen: " + why + ": " + oneLine(a.Evidence) + "\n")
			if a.Apple != "" {
				b.WriteString("       Apple lists " + oneLine(a.Apple) + "\n")
			}
		}
		if g.More > 0 {
			b.WriteString("   - and " + strconv.Itoa(g.More) + " more (see the full report)\n")
		}
	}
	return b.String()
}

// peerWord names the address an ask saw: the server, or the proxy or
// resolver that answered.
func peerWord(action string) string {
	switch action {
	case ActionProxy:
		return "proxy"
	case ActionDNS:
		return "resolver"
	}
	return "server"
}

// oneLine makes a wire string safe for one line of plain text: control and
// other unprintable characters become \x.. or \u.... escapes.
func oneLine(s string) string {
	clean := true
	for _, r := range s {
		if !unicode.IsPrint(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	q := strconv.QuoteToGraphic(s)
	return q[1 : len(q)-1]
}
