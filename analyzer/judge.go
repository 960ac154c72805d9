package analyzer

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"time"

	"orchard/analyzer/decode"
	"orchard/dissect"
)

// Finding names: stable, like Zeek's notices. Never rename one lightly.
const (
	FindSYNUnanswered   = "tcp.syn_unanswered"
	FindSYNRejected     = "tcp.syn_rejected"
	FindICMPUnreachable = "tcp.icmp_unreachable"
	FindReset           = "tcp.reset"
	FindIntercepted     = "tls.intercepted"
	FindCertExpired     = "tls.cert_expired"
	FindHelloUnanswered = "tls.hello_unanswered"
	FindAborted         = "tls.handshake_aborted"
	FindDNSFailure      = "dns.failure"
	FindDNSSinkhole     = "dns.sinkhole"
	FindDNSUnanswered   = "dns.unanswered"
	FindNTPUnanswered   = "ntp.unanswered"
	FindNTPBad          = "ntp.bad"
	FindUDPUnanswered   = "udp.unanswered"
	FindProxyDenied     = "http.proxy_denied"
	FindAPNSFallback    = "apns.fallback"
	FindPortUnlisted    = "port.unlisted"
)

// maxTracked caps each per-key table of the report (findings, hosts,
// devices, push state) so that address churn cannot grow memory without
// bound; what does not fit is counted and reported as a warning.
const maxTracked = 65536

// verdict is one flow's root cause.
type verdict struct {
	name     string
	sev      Severity
	evidence string
}

type findingKey struct {
	name   string
	host   string
	client netip.Addr
	server netip.Addr
	port   uint16
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
	e          *Engine
	trust      *trustStore
	findings   map[findingKey]*Finding
	order      []*Finding
	hosts      map[string]*HostSummary
	apns       map[netip.Addr]*apnsState
	appleFlows uint64
	// untracked counts findings, hosts, devices and push states beyond maxTracked.
	untracked uint64
	// dnsScratch is what dnsMessage decodes into (a worker hands its judge a copy).
	dnsScratch dissect.DNSMessage
	// noApp stands for the facts of a flow no dissector looked at.
	noApp appFacts
}

func newJudge(e *Engine) *judge {
	return &judge{
		e:        e,
		findings: make(map[findingKey]*Finding),
		hosts:    make(map[string]*HostSummary),
		apns:     make(map[netip.Addr]*apnsState),
	}
}

func (j *judge) tick(now int64) {}

// flow judges one ended flow.
func (j *judge) flow(f *Flow, evicted bool) {
	e := j.e
	if f.app == nil {
		f.app = &j.noApp // read only
		defer func() { f.app = nil }()
	}
	at := e.attribute(f)
	report := at.apple || e.cfg.AllHosts
	var v verdict
	if report {
		// Only reported flows use the verdict: skip the chain checks of the rest.
		v = j.classify(f, &at)
	}
	dev := e.devs.get(f, &j.untracked)
	dev.Flows++
	if at.apple {
		j.appleFlows++
		dev.AppleFlows++
		j.hostStat(f, &at, v)
	}
	if v.name != "" && report {
		j.add(v, f, &at)
		if v.sev >= SevWarn {
			dev.Failed++
		}
	}
	if at.apple {
		j.pushFallback(f, &at, v)
	}
	if e.ev != nil {
		dnsName := ""
		if at.source == SourceDNS {
			dnsName = at.host
		}
		e.releaseEvidence(f, v.name != "" && report && v.sev >= SevWarn, dnsName)
	}
	if s := e.cfg.Sink; s != nil {
		ev := j.flowEvent(f, &at, evicted)
		if v.name != "" && report {
			ev.Findings = []string{v.name}
		}
		s.Flow(&ev)
	}
}

// classify returns the flow's one root cause, or an empty verdict.
func (j *judge) classify(f *Flow, at *attribution) verdict {
	switch f.Proto {
	case decode.ProtoTCP:
		if v := j.classifyTCP(f, at); v.name != "" {
			return v
		}
	case decode.ProtoUDP:
		if v := j.classifyUDP(f, at); v.name != "" {
			return v
		}
	}
	if at.apple && at.best != nil && !at.portListed(protoName(f.Proto)) && f.ServerAnswered() && f.SPort != 53 {
		return verdict{FindPortUnlisted, SevInfo, fmt.Sprintf("%s reached on %s/%d, which the catalog does not list for it", at.host, protoName(f.Proto), at.port)}
	}
	return verdict{}
}

func (j *judge) classifyTCP(f *Flow, at *attribution) verdict {
	a := f.app
	syns := f.SynRetries + 1
	span := dur(f.Last - f.synTime)
	if !f.Established() && f.ICMPCount > 0 {
		return verdict{FindICMPUnreachable, SevError, fmt.Sprintf("%s from %s after %d SYN%s", icmpName(f), addrString(f.ICMPFrom), syns, plural(syns))}
	}
	switch f.State() {
	case "S0":
		if syns == 1 {
			return verdict{FindSYNUnanswered, SevError, "1 SYN, no reply"}
		}
		return verdict{FindSYNUnanswered, SevError, fmt.Sprintf("%d SYNs over %s, no reply", syns, span)}
	case "REJ":
		return verdict{FindSYNRejected, SevError, fmt.Sprintf("SYN answered by RST after %s (TTL %d)", dur(f.RSTTime-f.synTime), f.RSTTTL)}
	case "SH", "RSTOS0":
		if f.Packets[dirServer] == 0 {
			return verdict{FindSYNUnanswered, SevError, fmt.Sprintf("%d SYN%s, no reply; the client gave up after %s", syns, plural(syns), span)}
		}
	}
	// Proxy refusals.
	if r := a.resp; r != nil && a.req != nil && (r.Status == 403 || r.Status == 407 || r.Status >= 500) {
		what := a.req.Method + " " + a.req.Target
		ev := fmt.Sprintf("%s answered %d %s", what, r.Status, r.Reason)
		if r.Server != "" {
			ev += " (server: " + r.Server + ")"
		}
		return verdict{FindProxyDenied, SevError, ev}
	}
	// TLS.
	if len(a.certs) > 0 {
		if v := j.checkChain(f, at); v.name != "" {
			return v
		}
	}
	if a.helloSeen && a.serverHello == nil && f.Bytes[dirServer] == 0 && f.Established() {
		if inj, why := injected(f); inj && f.firstRST == dirServer {
			// A filter that blocks by SNI answers the ClientHello with a forged reset.
			return verdict{FindReset, SevError, fmt.Sprintf("RST %s after the ClientHello for %s looks injected: %s (a filter blocking by name)", dur(f.RSTTime-f.synTime), at.host, why)}
		}
		ev := fmt.Sprintf("ClientHello of %d bytes", f.Bytes[dirClient])
		if ch := a.hello; ch != nil {
			ev = fmt.Sprintf("ClientHello of %d bytes", ch.Length+4)
			if pq := pqGroup(ch); pq != "" {
				ev += " (" + pq + " key share)"
			}
		}
		ev += fmt.Sprintf(", no ServerHello in %s", dur(f.Last-f.First))
		if f.firstRST == dirServer {
			ev += "; then RST from the server side"
		} else if f.hist[dirClient]&(hFIN|hRST) != 0 {
			ev += "; the client gave up"
		}
		return verdict{FindHelloUnanswered, SevError, ev}
	}
	if v := aborted(f); v.name != "" {
		return v
	}
	// Resets of established connections.
	if f.firstRST >= 0 && (f.Established() || f.hist[dirClient]&hData != 0) {
		inj, why := injected(f)
		by := f.RSTBy()
		switch {
		case inj:
			return verdict{FindReset, SevError, fmt.Sprintf("RST from the %s side looks injected: %s", by, why)}
		case by == "server" && f.hist[dirClient]&hFIN == 0 && f.hist[dirServer]&hFIN == 0:
			// A reset after either side's FIN is an abortive close (a server
			// with unread data), not a failure.
			ev := fmt.Sprintf("connection reset by the server after %s, %d bytes sent, %d received", dur(f.RSTTime-f.First), f.Bytes[dirClient], f.Bytes[dirServer])
			return verdict{FindReset, SevWarn, ev}
		}
	}
	return verdict{}
}

func (j *judge) classifyUDP(f *Flow, at *attribution) verdict {
	a := f.app
	switch {
	case f.SPort == 53 || f.CPort == 53:
		return verdict{} // judged per message
	case a.ntpClient && a.ntpReplies == 0:
		if a.ntpRequests == 1 {
			return verdict{FindNTPUnanswered, SevError, "1 NTP request, no reply"}
		}
		return verdict{FindNTPUnanswered, SevError, fmt.Sprintf("%d NTP requests over %s, no reply", a.ntpRequests, dur(f.Last-f.First))}
	case a.ntpReplies > 0:
		n := a.ntp
		if k := n.KissCode(); k != "" {
			return verdict{FindNTPBad, SevWarn, "server sent kiss-o'-death " + k}
		}
		if n.Leap == 3 || n.Stratum >= 16 {
			return verdict{FindNTPBad, SevWarn, fmt.Sprintf("server is unsynchronised (leap %d, stratum %d)", n.Leap, n.Stratum)}
		}
	case f.SPort == 443 && f.Packets[dirServer] == 0 && f.Packets[dirClient] > 0:
		sev := SevWarn
		ev := fmt.Sprintf("%d UDP datagram%s to port 443", f.Packets[dirClient], plural(int(f.Packets[dirClient])))
		if n, ver := a.quicInitials(); n > 0 {
			ev = fmt.Sprintf("%d QUIC Initial%s (%s), no reply", n, plural(n), dissect.QUICVersionString(ver))
		} else {
			ev += ", no reply"
		}
		if isPrivateRelay(at.host) {
			sev = SevInfo
			ev += "; iCloud Private Relay blocked (how Apple tells networks to turn it off)"
		}
		return verdict{FindUDPUnanswered, sev, ev}
	}
	return verdict{}
}

// aborted recognises a client that gave up right after the server's first
// flight: a plaintext fatal alert (TLS 1.2) or, in TLS 1.3, one short
// encrypted record and a close with no application data.
func aborted(f *Flow) verdict {
	a := f.app
	if a.serverHello == nil {
		return verdict{}
	}
	for _, al := range a.clientAlert {
		if al.Level == 2 {
			return verdict{FindAborted, SevError, "client sent alert " + al.String() + " after the server's certificate"}
		}
	}
	if !a.serverEnc || a.serverHello.Version != 0x0304 {
		return verdict{}
	}
	closed := f.hist[dirClient]&(hFIN|hRST) != 0
	if !closed {
		return verdict{}
	}
	var appRecs, appLen int
	seenHello := false
	for _, r := range a.clientRecs {
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
		if f.hist[dirClient]&hRST != 0 {
			how = "RST"
		}
		return verdict{FindAborted, SevError, fmt.Sprintf("TLS 1.3: after the server's flight the client sent one %d-byte encrypted record (an alert) and a %s, no data: certificate rejected", appLen, how)}
	}
	return verdict{}
}

// injected tells a forged RST from the peer's own: its TTL disagrees with
// the peer's earlier packets, or the peer kept sending after "its" RST.
func injected(f *Flow) (bool, string) {
	d := f.firstRST
	if d < 0 {
		return false, ""
	}
	side := "server"
	if d == dirClient {
		side = "client"
	}
	if f.dataAfterRST[d] {
		return true, "the " + side + " kept sending data after it"
	}
	if f.ttlSet[d] {
		diff := int(f.RSTTTL) - int(f.lastTTL[d])
		if diff < 0 {
			diff = -diff
		}
		if diff >= 3 {
			return true, fmt.Sprintf("TTL %d, the %s's packets had TTL %d", f.RSTTTL, side, f.lastTTL[d])
		}
	}
	return false, ""
}

// dnsResponse judges one DNS response for an Apple name.
func (j *judge) dnsResponse(f *Flow, client, server netip.Addr, m *dissect.DNSMessage, ts int64, proto string) {
	if len(m.Questions) == 0 {
		return
	}
	q := m.Questions[0]
	entries := j.e.cat.MatchHost(q.Name)
	if len(entries) == 0 && !j.e.cfg.AllHosts {
		return
	}
	at := attribution{host: q.Name, source: SourceDNS, entries: entries, apple: len(entries) > 0, port: 53}
	at.best = bestEntry(entries, 443, "tcp")
	var v verdict
	relay := isPrivateRelay(q.Name)
	switch m.RCode {
	case 0:
		for _, r := range m.Answers {
			if !r.Addr.IsValid() {
				continue
			}
			if isSinkhole(r.Addr) {
				v = verdict{FindDNSSinkhole, SevError, fmt.Sprintf("%s %s answered %s by %s", q.Name, dissect.DNSTypeString(q.Type), r.Addr, addrString(server))}
				break
			}
		}
		if v.name == "" && relay && len(m.Answers) == 0 && (q.Type == 1 || q.Type == 28) {
			v = verdict{FindDNSFailure, SevInfo, fmt.Sprintf("%s %s answered with no address: iCloud Private Relay turned off by the network, as Apple documents", q.Name, dissect.DNSTypeString(q.Type))}
		}
	case 2, 3, 5:
		v = verdict{FindDNSFailure, SevError, fmt.Sprintf("%s %s answered %s by %s", q.Name, dissect.DNSTypeString(q.Type), dissect.DNSRCodeString(m.RCode), addrString(server))}
		if m.RCode == 3 && relay {
			v.sev = SevInfo
			v.evidence += ": iCloud Private Relay turned off by the network, as Apple documents"
		}
	}
	if v.name == "" {
		return
	}
	if v.name == FindDNSSinkhole && relay {
		v.sev = SevInfo
	}
	if v.sev >= SevWarn {
		j.e.writeCurrent()
	}
	j.addAt(v, &at, client, server, 53, proto, ts, f)
}

func (j *judge) dnsUnanswered(f *Flow, q pendingQuery) {
	entries := j.e.cat.MatchHost(q.name)
	if len(entries) == 0 && !j.e.cfg.AllHosts {
		return
	}
	at := attribution{host: q.name, source: SourceDNS, entries: entries, apple: len(entries) > 0, port: 53}
	at.best = bestEntry(entries, 443, "tcp")
	v := verdict{FindDNSUnanswered, SevWarn, fmt.Sprintf("%s %s to %s, no answer", q.name, dissect.DNSTypeString(q.qtype), addrString(f.Server))}
	j.addAt(v, &at, f.Client, f.Server, 53, protoName(f.Proto), q.ts, f)
}

// pushFallback notes push failures on 5223 and working push connections
// on 443, and reports once per device when a failure came first.
func (j *judge) pushFallback(f *Flow, at *attribution, v verdict) {
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
	case at.port == 5223 && isConnFailure(v.name):
		st.fails++
		if st.firstFail == 0 || f.First < st.firstFail {
			st.firstFail = f.First
		}
	case at.port == 443 && v.name == "" && f.Established() && f.Bytes[dirServer] > 0:
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
	fv := verdict{FindAPNSFallback, SevWarn, fmt.Sprintf("push over port 5223 failed (%d connection%s), then the device reached %s on 443", st.fails, plural(st.fails), st.host)}
	j.add(fv, f, at)
}

func isConnFailure(name string) bool {
	switch name {
	case FindSYNUnanswered, FindSYNRejected, FindICMPUnreachable, FindReset, FindHelloUnanswered:
		return true
	}
	return false
}

func isPush(at *attribution) bool {
	if strings.HasSuffix(at.host, ".push.apple.com") || at.host == "push.apple.com" {
		return true
	}
	for _, e := range at.entries {
		if containsFold(e.Description, "push") && !e.IsCatchAll() {
			return true
		}
	}
	return false
}

func isPrivateRelay(h string) bool {
	switch h {
	case "mask.icloud.com", "mask-h2.icloud.com", "mask-api.icloud.com":
		return true
	}
	return false
}

// isSinkhole reports addresses DNS filters answer instead of the real one.
func isSinkhole(a netip.Addr) bool {
	a = a.Unmap()
	if a.IsUnspecified() || a.IsLoopback() {
		return true
	}
	// Cisco Umbrella / OpenDNS block pages.
	if a.Is4() {
		b := a.As4()
		if b[0] == 146 && b[1] == 112 && b[2] == 61 && b[3] >= 104 && b[3] <= 110 {
			return true
		}
	}
	return false
}

// add records a finding for flow f.
func (j *judge) add(v verdict, f *Flow, at *attribution) {
	j.addAt(v, at, f.Client, f.Server, at.port, protoName(f.Proto), f.First, f)
	if fd := j.findings[findingKey{v.name, at.host, f.Client, f.Server, at.port}]; fd != nil && f.Last > fd.lastNS {
		fd.lastNS = f.Last
		fd.Last = rfc3339(f.Last)
	}
}

func (j *judge) addAt(v verdict, at *attribution, client, server netip.Addr, port uint16, proto string, ts int64, f *Flow) {
	k := findingKey{v.name, at.host, client, server, port}
	fd := j.findings[k]
	if fd == nil && len(j.findings) >= maxTracked && j.e.cfg.Sink == nil {
		j.untracked++ // past the cap, with nothing to stream it to
		return
	}
	if fd == nil {
		fd = &Finding{
			Type: "finding", Finding: v.name, Severity: v.sev.String(), sev: v.sev,
			Host: at.host, NameSource: at.source, Service: at.service(), Section: at.section(),
			Client: addrString(client), Server: addrString(server), Port: port, Proto: proto,
			Evidence: v.evidence, Advice: advice(v.name, at), firstNS: ts, lastNS: ts,
			First: rfc3339(ts), Last: rfc3339(ts),
		}
		if f != nil {
			if mac, ok := f.ClientMAC(); ok && f.Client == client {
				fd.ClientMAC = macString(mac)
			}
			fd.Process = f.Proc
		}
		if len(j.findings) < maxTracked {
			j.findings[k] = fd
			j.order = append(j.order, fd)
		} else {
			// Past the cap a finding still streams, but is not kept.
			j.untracked++
		}
	}
	fd.Count++
	if ts < fd.firstNS {
		fd.firstNS, fd.First = ts, rfc3339(ts)
	}
	if ts > fd.lastNS {
		fd.lastNS, fd.Last = ts, rfc3339(ts)
	}
	if fd.Count == 1 {
		if s := j.e.cfg.Sink; s != nil {
			s.Finding(fd)
		}
	} else {
		fd.Evidence = v.evidence
	}
}

// hostStat tallies an Apple flow under its host.
func (j *judge) hostStat(f *Flow, at *attribution, v verdict) {
	key := at.host
	h := j.hosts[key]
	if h == nil {
		h = &HostSummary{Host: at.host, NameSource: at.source, Service: at.service(), Section: at.section()}
		if len(j.hosts) >= maxTracked {
			j.untracked++
			return
		}
		j.hosts[key] = h
	}
	h.Flows++
	if v.name != "" && v.sev >= SevWarn {
		h.Failed++
		h.addFinding(v.name)
	} else {
		h.OK++
	}
	h.addPort(at.port, protoName(f.Proto))
	if len(h.Servers) < maxHostServers {
		h.addServer(addrString(f.Server))
	}
}

// sortedFindings returns the findings, most severe first, then by count.
func (j *judge) sortedFindings() []*Finding {
	out := append([]*Finding(nil), j.order...)
	sort.SliceStable(out, func(a, b int) bool {
		if out[a].sev != out[b].sev {
			return out[a].sev > out[b].sev
		}
		if out[a].Finding != out[b].Finding {
			return out[a].Finding < out[b].Finding
		}
		return out[a].Host < out[b].Host
	})
	return out
}

func icmpName(f *Flow) string {
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
