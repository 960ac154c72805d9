package analyzer

import (
	"fmt"
	"strings"

	"orchard/dissect"
	"orchard/flow"
	"orchard/shapes"
)

// Findings of the interception signals that need no certificate (they
// raise tls.intercepted too, defined with the chain's findings).
const (
	// FindMiddlebox is a TCP connection terminated by a box on the path
	// (a transparent proxy) without a sign that it decrypts.
	FindMiddlebox = "tls.middlebox"
	// FindDowngraded is a TLS 1.3 offer answered with TLS 1.2 or older by
	// an Apple host known to answer TLS 1.3.
	FindDowngraded = "tls.downgraded"
)

var (
	defMiddlebox = FindingDef{Name: FindMiddlebox, Severity: SevWarn, Unit: unitConnections,
		Advice: "A transparent proxy terminates this connection: Apple services need direct connections; exempt Apple hosts (17.0.0.0/8) from it."}
	defDowngraded = FindingDef{Name: FindDowngraded, Severity: SevWarn, Unit: unitConnections,
		Advice: "A box on the path lowered TLS 1.3 to an older version, as TLS inspection does: exempt Apple hosts (*.apple.com, 17.0.0.0/8) from it."}
)

// Timing thresholds of TCP termination: the ServerHello waits for a box's
// own upstream connection, while its SYN-ACK came from nearby. A real
// server answers the SYN and the ClientHello each in about one round trip
// (plus its handshake's computation, a few milliseconds).
const (
	termMinGap = 10e6 // the ServerHello comes at least 10 ms later than the SYN-ACK round trip…
	termRatio  = 4    // …and at least 4 times that round trip
)

// termination returns the evidence of a TCP connection answered by a box
// on the path, or "" when the timing shows none or cannot tell (a side
// not captured, a retried SYN, a HelloRetryRequest, a retransmission
// before the ServerHello, an explicit proxy the device chose).
func termination(f *flow.Flow) string {
	a := f.App
	ic := &a.Intercept
	if f.SynRetries != 0 || f.SynTime == 0 || f.SynAckTime <= f.SynTime || ic.HRR || ic.Lossy || proxied(f) ||
		ic.HelloAt == 0 || ic.ServerAt <= ic.HelloAt || ic.HelloAt < f.SynAckTime {
		return ""
	}
	syn, hello := f.SynAckTime-f.SynTime, ic.ServerAt-ic.HelloAt
	if hello < termMinGap+syn || hello < termRatio*syn {
		return ""
	}
	return "ServerHello " + msString(hello) + " after the ClientHello though the SYN-ACK came after " + msString(syn)
}

// msString formats nanoseconds as milliseconds with one decimal below 10 ms.
func msString(ns int64) string {
	if ns < 10e6 {
		return fmt.Sprintf("%.1f ms", float64(ns)/1e6)
	}
	return fmt.Sprintf("%d ms", ns/1e6)
}

// downgraded reports a TLS 1.3 offer answered with an older version.
func downgraded(f *flow.Flow) bool {
	a := f.App
	if a.Hello == nil || a.ServerHello == nil || a.ServerHello.Version >= 0x0304 {
		return false
	}
	for _, v := range a.Hello.SupportedVersions {
		if v == 0x0304 {
			return true
		}
	}
	return false
}

// baseline returns the server shapes the judge compares with.
func (j *judge) baseline() *shapes.Baseline {
	if j.env.cfg.ServerShapes != nil {
		return j.env.cfg.ServerShapes
	}
	if j.shapeBase == nil {
		j.shapeBase = shapes.Default()
	}
	return j.shapeBase
}

// intercept judges the signals that need no certificate: TCP termination
// by timing, the server's shape against the baseline, and a downgrade.
func (j *judge) intercept(f *flow.Flow, at *attribution) verdict {
	a := f.App
	if a.ServerHello == nil || !at.apple || at.source == SourceIP && at.host == "" {
		return verdict{}
	}
	shape := shapes.Of(a.ServerHello)
	fl := a.Intercept.ShapeFlightOf()
	if l := j.env.cfg.LearnShapes; l != nil {
		l.Observe(at.host, shape, fl, "")
	}
	term := termination(f)
	chk := j.baseline().Check(at.host, shape, fl)
	// A TLS 1.2 answer whose chain was checked and found genuine is the
	// real server's choice, not a box's; a forged one is reported by the
	// chain's verdict (tls.intercepted), which comes first.
	down := downgraded(f) && chk.TLS13 && len(a.Certs) == 0
	// A downgrade changes the shape's version: the shape is then not
	// evidence beside it.
	var diff []string
	switch {
	case down:
	case !chk.ShapeOK:
		if chk.Known {
			diff = append(diff, "server hello shape "+shape+" is not one "+at.host+" answers with")
		} else {
			diff = append(diff, "server hello shape "+shape+" is not among Apple's known server shapes")
		}
	case !chk.FlightOK:
		diff = append(diff, fmt.Sprintf("first flight of %d bytes where %s sends %d", fl.Total(), at.host, chk.WantTotal))
	}
	var why []string
	if term != "" {
		why = append(why, term)
	}
	if down {
		why = append(why, "the device offered TLS 1.3 and was answered "+dissect.TLSVersionString(a.ServerHello.Version)+" by a host that answers TLS 1.3")
	}
	why = append(why, diff...)
	if ttl := f.Resp.FirstTTL; f.Resp.TTLSet {
		why = append(why, j.hopNote(f, term != "", hops(ttl), ttl)...)
	}
	ev := strings.Join(why, "; ")
	switch {
	case term != "" && (down || len(diff) > 0):
		// High when the comparison is with the host's own servers.
		conf := "medium"
		if chk.Known {
			conf = "high"
		}
		return raise(&defIntercepted, ev+"; confidence "+conf+": TLS inspection")
	case down:
		return raise(&defDowngraded, ev)
	case term != "":
		return raise(&defMiddlebox, ev+"; the server's answer is Apple's: a transparent proxy, not inspection")
	}
	return verdict{}
}

// hops estimates the hops a packet came over from its TTL, taking the
// initial TTL as the next of 64, 128 and 255.
func hops(ttl uint8) int {
	switch {
	case ttl <= 64:
		return 64 - int(ttl)
	case ttl <= 128:
		return 128 - int(ttl)
	}
	return 255 - int(ttl)
}

// hopNote remembers the hop count of flows whose timing shows no box, per
// server network (IPv4 /16, IPv6 /32), and for a terminated flow says how
// much nearer than those its server's packets came from.
func (j *judge) hopNote(f *flow.Flow, terminated bool, h int, ttl uint8) []string {
	p, err := f.Server.Unmap().Prefix(16)
	if f.Server.Is6() && !f.Server.Is4In6() {
		p, err = f.Server.Prefix(32)
	}
	if err != nil {
		return nil
	}
	if !terminated {
		if f.SynRetries == 0 && f.SynAckTime > f.SynTime && f.SynTime != 0 {
			if old, ok := j.hops[p]; ok || len(j.hops) < maxTracked {
				j.hops[p] = uint8(max(int(old), h))
			}
		}
		return nil
	}
	note := fmt.Sprintf("server packets arrive with TTL %d (%d hops away)", ttl, h)
	if far, ok := j.hops[p]; ok && int(far) > h {
		note += fmt.Sprintf(", %d nearer than the other flows to %s", int(far)-h, p)
	}
	return []string{note}
}
