package analyzer

import (
	"fmt"
	"hash/maphash"
	"net/netip"
	"sort"
	"strings"
	"time"

	"orchard/catalog"
	"orchard/decode"
	"orchard/dissect"
	"orchard/flow"
	"orchard/report"
	"orchard/shapes"
	"orchard/trust"
)

// maxTracked caps each per-key table of the report (findings, hosts,
// devices, push state) so that address churn cannot grow memory without
// bound; what does not fit is counted and reported as a warning.
const maxTracked = 65536

// verdict is one flow's root cause.
type verdict struct {
	def      *FindingDef // nil: no finding
	sev      Severity
	evidence string
	// absent is set when the only evidence is an answer that never came:
	// req is when the unanswered request was sent, and wait how long its
	// protocol waits for an answer before it retries or gives up.
	absent bool
	req    int64
	wait   int64
	// undecided says why the verdict cannot be decided (severity info).
	undecided string
}

// How long a request's answer may take before its protocol retries: the
// answer to a request this close to the end of the capture may have come
// out of sight.
const (
	synWait   = 3e9 // a SYN's first retransmission (RFC 6298 permits 1 s; older stacks wait 3 s)
	helloWait = 5e9 // a ClientHello: servers answer in milliseconds; clients time out after seconds
	dnsWait   = 5e9 // a stub resolver's timeout (RES_TIMEOUT)
	ntpWait   = 3e9 // an NTP client's poll retry
	udpWait   = 3e9 // a QUIC Initial's retransmission (RFC 9002 initial PTO is 1 s)
)

// name returns the verdict's finding name, "" for none.
func (v verdict) name() string {
	if v.def == nil {
		return ""
	}
	return v.def.Name
}

// absentAnswer marks v as resting only on an answer that did not come to
// a request sent at req.
func (v verdict) absentAnswer(req, wait int64) verdict {
	v.absent, v.req, v.wait = true, req, wait
	return v
}

// undecide turns v into an undecided verdict: severity info, with why.
func (v verdict) undecide(why string) verdict {
	v.sev = SevInfo
	v.undecided = why
	v.evidence += "; undecided: " + why
	return v
}

// cutOff makes an absent-answer verdict undecided when the capture (a
// file, or the timeline) ended before the answer had time to come.
func (j *judge) cutOff(v verdict, last int64) verdict {
	if !v.absent || v.undecided != "" {
		return v
	}
	if end := j.env.ends.cutOff(v.req, last, v.wait, j.at); end != 0 {
		return v.undecide("the capture ended " + dur(end-v.req) + " after the request, before an answer was due")
	}
	return v
}

type findingKey struct {
	name      string
	host      string
	client    netip.Addr
	server    netip.Addr
	port      uint16
	undecided bool
}

// apnsState tracks a device's push connections: failures on 5223 and
// successes on 443, in whatever order their flows end.
type apnsState struct {
	fails     int
	firstFail int64
	success   int64 // start of the latest working push connection on 443
	host      string
	reported  bool
}

// judge classifies ended flows and DNS answers into findings and keeps the
// per-service, per-host and per-device tallies.
type judge struct {
	env judgeEnv
	// at is the packet index of what is being judged, for the capture
	// ends a verdict may see (captureEnds); the one-worker wiring leaves
	// it at its maximum.
	at         uint64
	trust      *trust.Store
	keys       findingIndex // the findings' keys, by position in order (findingset.go)
	order      []*Finding
	hosts      map[string]*hostRec
	hostOrder  []*HostSummary // the hosts in the order first seen
	apns       map[netip.Addr]*apnsState
	appleFlows uint64
	// untracked counts findings, hosts, devices and push states beyond maxTracked.
	untracked uint64
	// nobody tallies the flows whose client cannot be a device (multicast,
	// broadcast, unspecified): not reported.
	nobody DeviceSummary
	// publicNames are the names seen with a publicly trusted chain.
	publicNames map[string]bool
	// unanswered holds DNS queries without an answer until the report, and
	// named the names each client connected to: a device that connects
	// to the name it asked for got its answer, seen or not (dnsseen.go).
	unanswered []deferredQuery
	named      map[uint64]struct{} // namedHash of client and name
	namedSeed  maphash.Seed
	// vis tallies what the capture saw of each TCP flow.
	vis visTally
	// noApp stands for the facts of a flow no dissector looked at.
	noApp flow.Facts
	// shapeBase is the embedded server-shape baseline, loaded when first
	// needed; hops the farthest hop count per server network (intercept.go).
	shapeBase *shapes.Baseline
	hops      map[netip.Prefix]uint8
}

// judgeEnv is what the judge reads and keeps beside its tallies: the
// catalog and settings, the DNS answers seen, the chains verified, the
// devices, where the capture's inputs end, and the evidence being written.
// It holds nothing of the flow engines.
type judgeEnv struct {
	cat    *catalog.Catalog
	cfg    Config
	dns    *dnsCache
	chains trust.Cache
	devs   devices
	// addrRows caches server addresses' catalog rows (addrcache.go).
	addrRows addrRows
	ends     *captureEnds // written between inputs by the reader
	// dnsEv is the DNS event given to the Sink, reused (dnsevent.go).
	dnsEv dnsEventBuf
	ev    *evidence // nil unless evidence is written (SetRecorder)
}

// newJudge returns a judge for cfg (defaults filled in) that reads where
// the inputs end from ends.
func newJudge(cfg Config, ends *captureEnds) *judge {
	j := &judge{
		at: ^uint64(0),
		env: judgeEnv{
			cat:  cfg.Catalog,
			cfg:  cfg,
			dns:  newDNSCache(cfg.MaxDNS),
			ends: ends,
		},
		hosts: make(map[string]*hostRec),
		apns:  make(map[netip.Addr]*apnsState),
		hops:  make(map[netip.Prefix]uint8),
	}
	j.env.addrRows.init()
	return j
}

// FlowEnded judges a flow the flow engine ended: its last dissection
// (queries left unanswered), then its verdict.
func (j *judge) FlowEnded(f *flow.Flow, evicted bool) {
	j.finishApp(f)
	j.flow(f, evicted)
}

// flow judges one ended flow.
func (j *judge) flow(f *flow.Flow, evicted bool) {
	e := &j.env
	if f.App == nil {
		f.App = &j.noApp // read only
		defer func() { f.App = nil }()
	}
	at := e.attribute(f)
	report := at.apple || e.cfg.AllHosts
	var v verdict
	if report {
		// Only reported flows use the verdict: skip the chain checks of the rest.
		v = j.cutOff(j.classify(f, &at), f.Last)
	}
	j.vis.flow(f)
	dev := &j.nobody
	if isDeviceAddr(f.Client) {
		dev = e.devs.get(f, &j.untracked, j.keys.indexed > 0)
	}
	dev.Flows++
	if at.apple {
		j.appleFlows++
		dev.AppleFlows++
		j.hostStat(f, &at, v)
	}
	if v.def != nil && report {
		j.add(v, f, &at)
		if v.sev >= SevWarn {
			dev.Failed++
			if v.absent {
				dev.Tally.AbsentFailed++
			}
		}
	}
	if at.apple {
		j.pushFallback(f, &at, v)
	}
	if at.source == SourceSNI || at.source == SourceHTTP {
		j.connected(f.Client, at.host)
	}
	e.releaseEvidence(f, v, &at, report)
	if s := e.cfg.Sink; s != nil {
		ev := j.flowEvent(f, &at, evicted)
		if v.def != nil && report {
			ev.Findings = []string{v.def.Name}
		}
		s.Flow(&ev)
	}
}

// FindPortUnlisted is an Apple host reached on a port the catalog does not
// list for it (classify).
const FindPortUnlisted = "port.unlisted"

var defPortUnlisted = FindingDef{Name: FindPortUnlisted, Severity: SevInfo, Unit: unitConnections,
	Advice: "Informational: Apple does not list this port for the host."}

// classify returns the flow's one root cause, or an empty verdict.
func (j *judge) classify(f *flow.Flow, at *attribution) verdict {
	switch f.Proto {
	case decode.ProtoTCP:
		if v := j.classifyTCP(f, at); v.def != nil {
			return v
		}
	case decode.ProtoUDP:
		if v := j.classifyUDP(f, at); v.def != nil {
			return v
		}
	}
	if at.apple && at.best != nil && !at.portListed(protoName(f.Proto)) && f.ServerAnswered() && f.SPort != 53 {
		return raise(&defPortUnlisted, fmt.Sprintf("%s reached on %s/%d, which the catalog does not list for it", at.host, protoName(f.Proto), at.port))
	}
	return verdict{}
}

// Findings of the TCP rules (classifyTCP).
const (
	FindSYNUnanswered   = "tcp.syn_unanswered"
	FindSYNRejected     = "tcp.syn_rejected"
	FindICMPUnreachable = "tcp.icmp_unreachable"
	FindReset           = "tcp.reset"
	FindHelloUnanswered = "tls.hello_unanswered"
	FindProxyDenied     = "http.proxy_denied"
)

var (
	defSYNUnanswered = FindingDef{Name: FindSYNUnanswered, Severity: SevError, Unit: unitConnections,
		Absent: true, ConnFailure: true, Denies: true, ProxyAdvice: true,
		Advice: "A firewall drops the connection: allow outbound TCP to this host and port."}
	defSYNRejected = FindingDef{Name: FindSYNRejected, Severity: SevError, Unit: unitConnections,
		ConnFailure: true, Denies: true,
		Advice: "Something refuses the connection with a reset: check firewall reject rules and proxy settings."}
	defICMPUnreachable = FindingDef{Name: FindICMPUnreachable, Severity: SevError, Unit: unitConnections,
		ConnFailure: true, Denies: true,
		Advice: "A router or firewall reports the destination unreachable: allow it, or fix the route."}
	// defReset is an error when the reset looks injected, a warning when
	// the server reset an open connection.
	defReset = FindingDef{Name: FindReset, Severity: SevError, Also: SevWarn, Unit: unitConnections,
		ConnFailure: true, Denies: true,
		Advice: "Resets mid-connection: look for an IPS, DPI or proxy that tears down the session."}
	defHelloUnanswered = FindingDef{Name: FindHelloUnanswered, Severity: SevError, Unit: unitConnections,
		Absent: true, ConnFailure: true, Denies: true,
		Advice: "A middlebox swallows the large (post-quantum) ClientHello: update it, or exempt Apple hosts from inspection."}
	defProxyDenied = FindingDef{Name: FindProxyDenied, Severity: SevError, Unit: unitConnections,
		Denies: true, ProxyAdvice: true,
		Advice: "The proxy refuses this Apple host: allow-list it (and exempt it from authentication)."}
)

// classifyTCP returns a TCP flow's root cause: the first of its rules,
// in order, that raises a finding.
func (j *judge) classifyTCP(f *flow.Flow, at *attribution) verdict {
	if v := handshakeVerdict(f); v.def != nil {
		return v
	}
	if v := proxyVerdict(f); v.def != nil {
		return v
	}
	if len(f.App.Certs) > 0 {
		if v := j.checkChain(f, at); v.def != nil {
			return v
		}
	}
	if v := helloVerdict(f, at); v.def != nil {
		return v
	}
	if v := aborted(f); v.def != nil {
		return v
	}
	if v := j.intercept(f, at); v.def != nil {
		return v
	}
	return resetVerdict(f)
}

// handshakeVerdict judges the handshake: an ICMP error for it, SYNs
// without an answer, or a SYN answered by a reset.
func handshakeVerdict(f *flow.Flow) verdict {
	syns := f.SynRetries + 1
	if !f.Established() && f.ICMPCount > 0 {
		return raise(&defICMPUnreachable, fmt.Sprintf("%s from %s after %d SYN%s", icmpName(f), addrString(f.ICMPFrom), syns, plural(syns)))
	}
	// A client that acknowledges or sends after its SYN was answered,
	// whether or not the capture saw the answer.
	answered := f.Orig.Hist&flow.HProgress != 0
	switch st := f.State(); {
	case st == "S0" && !answered:
		if syns == 1 {
			return raise(&defSYNUnanswered, "1 SYN, no reply").absentAnswer(f.SynTime, synWait)
		}
		return raise(&defSYNUnanswered, fmt.Sprintf("%d SYNs over %s, no reply", syns, dur(f.Last-f.SynTime))).absentAnswer(f.SynTime, synWait)
	case st == "REJ":
		return raise(&defSYNRejected, fmt.Sprintf("SYN answered by RST after %s (TTL %d)", dur(f.RSTTime-f.SynTime), f.RSTTTL))
	case (st == "SH" || st == "RSTOS0") && !answered && f.Resp.Packets == 0:
		return raise(&defSYNUnanswered, fmt.Sprintf("%d SYN%s, no reply; the client gave up after %s", syns, plural(syns), dur(f.Last-f.SynTime))).absentAnswer(f.SynTime, synWait)
	}
	return verdict{}
}

// proxyVerdict judges a proxy's refusal: 403, 407 or 5xx from a proxy
// (not an origin server's own error).
func proxyVerdict(f *flow.Flow) verdict {
	a := f.App
	r := a.Response
	if r == nil || a.Request == nil || r.Status != 403 && r.Status != 407 && r.Status < 500 || !proxied(f) {
		return verdict{}
	}
	ev := fmt.Sprintf("%s %s via %s answered %d %s", a.Request.Method, a.Request.Target, socket(f), r.Status, r.Reason)
	if r.Server != "" {
		ev += " (server: " + r.Server + ")"
	}
	return raise(&defProxyDenied, ev)
}

// helloVerdict judges a ClientHello on an established connection that no
// ServerHello (nor any server byte) answered: swallowed, or answered by a
// forged reset (a filter blocking by name).
func helloVerdict(f *flow.Flow, at *attribution) verdict {
	a := f.App
	if !a.HelloSeen || a.ServerHello != nil || f.Resp.Bytes != 0 || !f.Established() {
		return verdict{}
	}
	if inj, why := injected(f); inj && f.FirstRST == flow.DirServer {
		return raise(&defReset, fmt.Sprintf("RST %s after the ClientHello for %s looks injected: %s (a filter blocking by name)", dur(f.RSTTime-f.SynTime), at.host, why))
	}
	ev := fmt.Sprintf("ClientHello of %d bytes", f.Orig.Bytes)
	if ch := a.Hello; ch != nil {
		ev = fmt.Sprintf("ClientHello of %d bytes", ch.Length+4)
		if pq := pqGroup(ch); pq != "" {
			ev += " (" + pq + " key share)"
		}
	}
	ev += fmt.Sprintf(", no ServerHello in %s", dur(f.Last-f.First))
	if f.FirstRST == flow.DirServer {
		ev += "; then RST from the server side"
	} else if f.Orig.Hist&(flow.HFIN|flow.HRST) != 0 {
		ev += "; the client gave up"
	}
	v := raise(&defHelloUnanswered, ev)
	if f.FirstRST != flow.DirServer {
		v = v.absentAnswer(a.HelloTime, helloWait)
	}
	return v
}

// resetVerdict judges the reset of an established connection: injected
// (an error), or the server's own while neither side was closing (a
// warning). A reset after either side's FIN is an abortive close (a
// server with unread data), not a failure.
func resetVerdict(f *flow.Flow) verdict {
	if f.FirstRST < 0 || !f.Established() && f.Orig.Hist&flow.HData == 0 {
		return verdict{}
	}
	inj, why := injected(f)
	by := f.RSTBy()
	switch {
	case inj:
		return raise(&defReset, fmt.Sprintf("RST from the %s side looks injected: %s", by, why))
	case by == "server" && f.Orig.Hist&flow.HFIN == 0 && f.Resp.Hist&flow.HFIN == 0:
		v := raise(&defReset, fmt.Sprintf("connection reset by the server after %s, %d bytes sent, %d received", dur(f.RSTTime-f.First), f.Orig.Bytes, f.Resp.Bytes))
		v.sev = defReset.Also
		return v
	}
	return verdict{}
}

// Findings of the UDP rules (classifyUDP).
const (
	FindNTPUnanswered = "ntp.unanswered"
	FindNTPBad        = "ntp.bad"
	FindUDPUnanswered = "udp.unanswered"
)

var (
	defNTPUnanswered = FindingDef{Name: FindNTPUnanswered, Severity: SevError, Unit: unitExchanges,
		Absent: true, Denies: true,
		Advice: "Allow outbound UDP 123 to Apple's time servers, or the device clock will drift and TLS will fail."}
	defNTPBad = FindingDef{Name: FindNTPBad, Severity: SevWarn, Unit: unitExchanges,
		Advice: "The time server refuses or is unsynchronised: use time.apple.com or a healthy local server."}
	// defUDPUnanswered is information for iCloud Private Relay, which
	// Apple tells networks to turn off by blocking it.
	defUDPUnanswered = FindingDef{Name: FindUDPUnanswered, Severity: SevWarn, Also: SevInfo, Unit: unitExchanges,
		Absent: true, Denies: true,
		Advice: "UDP 443 (QUIC) is blocked: services fall back to TCP, slower; allow it if you can."}
)

func (j *judge) classifyUDP(f *flow.Flow, at *attribution) verdict {
	a := f.App
	switch {
	case f.SPort == 53 || f.CPort == 53:
		return verdict{} // judged per message
	case a.NTPClient && a.NTPReplies == 0:
		if a.NTPRequests == 1 {
			return raise(&defNTPUnanswered, "1 NTP request, no reply").absentAnswer(a.NTPFirst, ntpWait)
		}
		return raise(&defNTPUnanswered, fmt.Sprintf("%d NTP requests over %s, no reply", a.NTPRequests, dur(f.Last-f.First))).absentAnswer(a.NTPFirst, ntpWait)
	case a.NTPReplies > 0:
		n := a.NTP
		if k := n.KissCode(); k != "" {
			return raise(&defNTPBad, "server sent kiss-o'-death "+k)
		}
		if n.Leap == 3 || n.Stratum >= 16 {
			return raise(&defNTPBad, fmt.Sprintf("server is unsynchronised (leap %d, stratum %d)", n.Leap, n.Stratum))
		}
	case f.SPort == 443 && f.Resp.Packets == 0 && f.Orig.Packets > 0 && !a.QUICShort:
		sev := defUDPUnanswered.Severity
		ev := fmt.Sprintf("%d UDP datagram%s to port 443", f.Orig.Packets, plural(int(f.Orig.Packets)))
		if n, ver := a.QUICInitials(); n > 0 {
			ev = fmt.Sprintf("%d QUIC Initial%s (%s), no reply", n, plural(n), dissect.QUICVersionString(ver))
		} else {
			ev += ", no reply"
		}
		if isPrivateRelay(at.host) {
			sev = SevInfo
			ev += "; iCloud Private Relay blocked (how Apple tells networks to turn it off)"
		}
		v := raise(&defUDPUnanswered, ev)
		v.sev = sev
		return v.absentAnswer(f.First, udpWait)
	}
	return verdict{}
}

// FindAborted is a client that rejected the server's first flight (aborted).
const FindAborted = "tls.handshake_aborted"

var defAborted = FindingDef{Name: FindAborted, Severity: SevError, Unit: unitConnections,
	Intercepts: true, Denies: true, Advice: adviceInspection}

// adviceInspection is what to do about TLS inspection.
const adviceInspection = "TLS inspection breaks Apple services: exempt Apple hosts (*.apple.com, 17.0.0.0/8) from decryption."

// aborted recognises a client that gave up right after the server's first
// flight: a plaintext fatal alert (TLS 1.2) or, in TLS 1.3, one short
// encrypted record and a close with no application data.
func aborted(f *flow.Flow) verdict {
	a := f.App
	if a.ServerHello == nil {
		return verdict{}
	}
	for _, al := range a.ClientAlert {
		if al.Level == 2 {
			return raise(&defAborted, "client sent alert "+al.String()+" after the server's certificate")
		}
	}
	if !a.ServerEnc || a.ServerHello.Version != 0x0304 {
		return verdict{}
	}
	closed := f.Orig.Hist&(flow.HFIN|flow.HRST) != 0
	if !closed {
		return verdict{}
	}
	var appRecs, appLen int
	seenHello := false
	for _, r := range a.ClientRecs {
		if r.Type == 22 {
			seenHello = true
			continue
		}
		if r.Type == 23 && seenHello {
			appRecs++
			appLen = r.Length
		}
	}
	if appRecs == 1 && appLen <= 40 {
		how := "FIN"
		if f.Orig.Hist&flow.HRST != 0 {
			how = "RST"
		}
		return raise(&defAborted, fmt.Sprintf("TLS 1.3: after the server's flight the client sent one %d-byte encrypted record (an alert) and a %s, no data: certificate rejected", appLen, how))
	}
	return verdict{}
}

// Findings of the DNS rules (dnsResponse, dnsUnanswered), judged per
// message: information for iCloud Private Relay's names, which Apple tells
// networks to block in DNS to turn it off.
const (
	FindDNSFailure    = "dns.failure"
	FindDNSSinkhole   = "dns.sinkhole"
	FindDNSUnanswered = "dns.unanswered"
)

var (
	defDNSFailure = FindingDef{Name: FindDNSFailure, Severity: SevError, Also: SevInfo, Unit: unitAnswers,
		PerMessage: true, Denies: true,
		Advice: "The resolver fails for this Apple name: check DNS filtering and forwarders."}
	defDNSSinkhole = FindingDef{Name: FindDNSSinkhole, Severity: SevError, Also: SevInfo, Unit: unitAnswers,
		PerMessage: true, Denies: true,
		Advice: "A DNS filter sinkholes this Apple name: allow-list it."}
	defDNSUnanswered = FindingDef{Name: FindDNSUnanswered, Severity: SevWarn, Unit: unitQueries,
		PerMessage: true, Absent: true, Denies: true,
		Advice: "DNS queries get no answer: check that the resolver is reachable and allowed."}
)

func (j *judge) dnsUnanswered(f *flow.Flow, q flow.PendingQuery) {
	if !unicastDNS(f) {
		return // mDNS and LLMNR queries need no answer
	}
	entries := j.env.cat.MatchHost(q.Name)
	if len(entries) == 0 && !j.env.cfg.AllHosts {
		return
	}
	at := attribution{host: q.Name, source: SourceDNS, entries: entries, apple: len(entries) > 0, port: 53}
	at.best = bestEntry(entries, 443, "tcp")
	v := raise(&defDNSUnanswered, fmt.Sprintf("%s %s to %s, no answer", q.Name, dissect.DNSTypeString(q.QType), addrString(f.Server)))
	if q.Copies > 1 {
		v.evidence = fmt.Sprintf("%s %s to %s sent %d times, no answer", q.Name, dissect.DNSTypeString(q.QType), addrString(f.Server), q.Copies)
	}
	v = j.cutOff(v.absentAnswer(q.TS, dnsWait), f.Last)
	j.deferQuery(v, &at, f, q)
}

// FindAPNSFallback is push that failed over 5223 and worked over 443
// (pushFallback).
const FindAPNSFallback = "apns.fallback"

var defAPNSFallback = FindingDef{Name: FindAPNSFallback, Severity: SevWarn, Unit: unitConnections,
	Advice: "Push works only over 443: allow TCP 5223 to 17.0.0.0/8 for reliable push notifications."}

// pushFallback notes push failures on 5223 and working push connections
// on 443, and reports once per device when a failure came first.
func (j *judge) pushFallback(f *flow.Flow, at *attribution, v verdict) {
	if !isPush(at) || f.Proto != decode.ProtoTCP {
		return
	}
	st := j.apns[f.Client]
	if st == nil {
		if len(j.apns) >= maxTracked {
			j.untracked++
			return
		}
		st = &apnsState{}
		j.apns[f.Client] = st
	}
	switch {
	case at.port == 5223 && v.def != nil && v.def.ConnFailure && v.undecided == "":
		st.fails++
		if st.firstFail == 0 || f.First < st.firstFail {
			st.firstFail = f.First
		}
	case at.port == 443 && v.def == nil && f.Established() && f.Resp.Bytes > 0:
		if f.First > st.success {
			st.success, st.host = f.First, at.host
		}
	default:
		return
	}
	if st.reported || st.fails == 0 || st.success < st.firstFail {
		return
	}
	st.reported = true
	fv := raise(&defAPNSFallback, fmt.Sprintf("push over port 5223 failed (%d connection%s), then the device reached %s on 443", st.fails, plural(st.fails), st.host))
	j.add(fv, f, at)
}

func isPush(at *attribution) bool {
	if at.push != 0 {
		return at.push > 0
	}
	if strings.HasSuffix(at.host, ".push.apple.com") || at.host == "push.apple.com" {
		return true
	}
	return pushRows(at.entries)
}

func isPrivateRelay(h string) bool {
	switch h {
	case "mask.icloud.com", "mask-h2.icloud.com", "mask-api.icloud.com":
		return true
	}
	return false
}

// add records a finding for flow f. Through a proxy the server and port
// are the proxy's socket, and the finding names what was asked of it.
func (j *judge) add(v verdict, f *flow.Flow, at *attribution) {
	port, proxy, target := at.port, "", ""
	if f.Proto == decode.ProtoTCP && proxied(f) {
		port, proxy, target = f.SPort, socket(f), proxyTarget(f)
	}
	if fd := j.addAt(v, at, f.Client, f.Server, port, protoName(f.Proto), f.First, f); fd != nil {
		if f.Last > fd.Tally.LastNS {
			fd.Tally.LastNS, fd.Tally.Stale = f.Last, true
			if j.env.cfg.Sink != nil {
				settle(fd) // a sink may read it now
			}
		}
		fd.Proxy, fd.Target = proxy, target
	}
}

// addAt counts a finding and returns it, or nil when it is not kept (past
// maxTracked).
func (j *judge) addAt(v verdict, at *attribution, client, server netip.Addr, port uint16, proto string, ts int64, f *flow.Flow) *Finding {
	k := findingKey{v.def.Name, at.host, client, server, port, v.undecided != ""}
	var fd *Finding
	h := j.keys.hash(&k)
	// A device that the index held keys for before it was seen has its
	// slot marked (devices.get), so its slot has the last word.
	sl, _ := j.env.devs.idx.slot(client)
	if p := j.findKey(sl, &k, h); p >= 0 {
		fd = j.order[p]
	}
	if fd == nil && len(j.order) >= maxTracked && j.env.cfg.Sink == nil {
		j.untracked++ // past the cap, with nothing to stream it to
		return nil
	}
	kept := fd != nil
	if fd == nil {
		fd = &Finding{
			Type: "finding", Finding: v.def.Name, Severity: v.sev.String(),
			Undecided: v.undecided,
			Host:      at.host, NameSource: at.source, Service: at.service(), Section: at.section(),
			Client: addrString(client), Server: addrString(server), Port: port, Proto: proto,
			Evidence: v.evidence, Advice: advice(v.def, at),
			First: rfc3339(ts), Last: rfc3339(ts),
			Tally: report.FindingTally{Sev: v.sev, Absent: v.absent, FirstNS: ts, LastNS: ts},
		}
		if f != nil {
			if mac, ok := f.ClientMAC(); ok && f.Client == client {
				fd.ClientMAC = macString(mac)
			}
			fd.Process = f.Proc
			fd.CommunityID = flowCommunityID(f)
		}
		if len(j.order) < maxTracked {
			j.keepKey(sl, &k, h)
			j.order = append(j.order, fd)
			kept = true
		} else {
			// Past the cap a finding still streams, but is not kept.
			j.untracked++
		}
	}
	fd.Count++
	if fd.Count == 1 {
		fd.Tally.OneEv = v.evidence
		if s := j.env.cfg.Sink; s != nil {
			s.Finding(fd)
		}
		return keptOnly(fd, kept)
	}
	// A repeat only counts: its strings are written when a report (or a
	// sink) reads them (settle).
	t := &fd.Tally
	t.FirstNS, t.LastNS = min(t.FirstNS, ts), max(t.LastNS, ts)
	if v.evidence != t.OneEv {
		t.Mixed = true
	}
	t.LastEv, t.Stale = v.evidence, true
	if j.env.cfg.Sink != nil {
		settle(fd)
		if r, ok := j.env.cfg.Sink.(FindingRepeater); ok {
			r.FindingRepeated(fd)
		}
	}
	return keptOnly(fd, kept)
}

// sortFindings orders findings most severe first, then by name and host.
func sortFindings(out []*Finding) {
	sort.SliceStable(out, func(a, b int) bool {
		if out[a].Tally.Sev != out[b].Tally.Sev {
			return out[a].Tally.Sev > out[b].Tally.Sev
		}
		if out[a].Finding != out[b].Finding {
			return out[a].Finding < out[b].Finding
		}
		return out[a].Host < out[b].Host
	})
}

func icmpName(f *flow.Flow) string {
	if f.ICMPFrom.Is4() || f.ICMPFrom.Is4In6() {
		names := map[uint8]string{0: "net unreachable", 1: "host unreachable", 2: "protocol unreachable", 3: "port unreachable",
			4: "fragmentation needed", 6: "destination network unknown", 7: "destination host unknown",
			9: "network administratively prohibited", 10: "host administratively prohibited", 13: "communication administratively prohibited"}
		if n, ok := names[f.ICMPCode]; ok {
			return fmt.Sprintf("ICMP %s (3/%d)", n, f.ICMPCode)
		}
		return fmt.Sprintf("ICMP unreachable (3/%d)", f.ICMPCode)
	}
	names := map[uint8]string{0: "no route", 1: "administratively prohibited", 2: "beyond scope", 3: "address unreachable",
		4: "port unreachable", 5: "source policy failed", 6: "reject route"}
	if n, ok := names[f.ICMPCode]; ok {
		return fmt.Sprintf("ICMPv6 %s (1/%d)", n, f.ICMPCode)
	}
	return fmt.Sprintf("ICMPv6 unreachable (1/%d)", f.ICMPCode)
}

func pqGroup(ch *dissect.ClientHello) string {
	for _, g := range ch.KeyShareGroups {
		switch g {
		case 0x11EC, 0x11EB, 0x11ED, 0x6399, 0x639A:
			return dissect.GroupString(g)
		}
	}
	return ""
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// dur formats a duration compactly: "21.0s", "350ms", "2m05s".
func dur(ns int64) string {
	d := time.Duration(ns)
	switch {
	case d < 0:
		return "0s"
	case d < time.Second:
		return fmt.Sprintf("%dms", d.Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%.1fs", d.Seconds())
	}
	return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
}

func rfc3339(ns int64) string {
	return time.Unix(0, ns).UTC().Format(time.RFC3339Nano)
}

func macString(m [6]byte) string {
	const hex = "0123456789abcdef"
	var b [17]byte
	for i, c := range m {
		if i > 0 {
			b[3*i-1] = ':'
		}
		b[3*i], b[3*i+1] = hex[c>>4], hex[c&0xf]
	}
	return string(b[:])
}
