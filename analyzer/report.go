package analyzer

import (
	"cmp"
	"encoding/binary"
	"math/bits"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"orchard/dissect"
	"orchard/flow"
	"orchard/report"
)

func addServer(h *HostSummary, s string) { h.Servers = addUnique(h.Servers, s, maxHostServers) }

// maxHostServers caps the servers listed per host.
const maxHostServers = 16

func addFinding(h *HostSummary, n string) { h.Findings = addUnique(h.Findings, n, 32) }

// addUnique appends s to list unless it is there already or list holds max.
func addUnique(list []string, s string, max int) []string {
	if len(list) >= max || slices.Contains(list, s) {
		return list
	}
	return append(list, s)
}

// fillStrings sets s's Address and MAC from the device's addresses.
func fillStrings(s *DeviceSummary) {
	if s.Address == "" {
		s.Address = addrString(s.Tally.Addr)
	}
	if s.MAC == "" && s.Tally.HasMAC {
		s.MAC = macString(s.Tally.MAC)
	}
}

// devices tallies client devices; last caches the most recent one, since
// consecutive flows mostly come from the same device.
type devices struct {
	idx  devIndex // the tallies, by address (devindex.go)
	last *DeviceSummary
	addr netip.Addr
	// scratch is the tally of a device past maxTracked.
	scratch DeviceSummary
	free    []DeviceSummary // the rest of the chunk tallies come from (newDevice)
}

// get returns f's client's tally; past maxTracked devices a scratch tally
// that is not kept (untracked is counted). A new tally's slot is marked
// slotMore when others says the finding index holds keys (some may be
// this device's).
func (d *devices) get(f *flow.Flow, untracked *uint64, others bool) *DeviceSummary {
	var s *DeviceSummary
	var h uint64
	if d.last != nil && d.addr == f.Client {
		s = d.last
	} else if s, h = d.idx.find(f.Client); s == nil {
		if len(d.idx.devs) >= maxTracked {
			*untracked++
			d.scratch = DeviceSummary{Tally: report.DeviceTally{Addr: f.Client}}
			return &d.scratch
		}
		s = d.newDevice()
		s.Tally.Addr = f.Client
		d.idx.add(s, h, others)
	}
	d.last, d.addr = s, f.Client
	if !s.Tally.HasMAC {
		s.Tally.MAC, s.Tally.HasMAC = f.ClientMAC()
	}
	if f.Proc != "" {
		s.Processes = addUnique(s.Processes, f.Proc, 32)
	}
	return s
}

// Finish ends every open flow and returns the report. The engine must not
// be fed afterwards.
func (e *Engine) Finish() *Report {
	e.run.finish()
	return e.report(e.view(nil))
}

// Snapshot returns the report so far without ending open flows (live
// --report-every): flows still open are not judged yet. The judge rests
// only while what the report reads is copied; the report is built after.
func (e *Engine) Snapshot() *Report {
	return e.report(e.run.snapshot(e.view))
}

// report builds the report of v.
func (e *Engine) report(v *reportView) *Report {
	for _, fd := range v.findings {
		settle(fd)
	}
	st := v.stats
	r := &Report{
		Capture: CaptureInfo{
			Packets: st.Packets, Bytes: st.Bytes, Flows: st.Flows, AppleFlows: v.appleFlows,
			Stats: st, Files: []string{},
		},
		Findings: v.findings,
	}
	sortReport(r.Findings)
	r.Capture.Visibility = v.vis
	withheld, why := withholds(&r.Capture.Visibility)
	if withheld {
		r.Findings, r.Capture.Visibility.Withheld = withhold(r.Findings, why)
		sortReport(r.Findings)
	}
	if st.First != 0 {
		r.Capture.First, r.Capture.Last = rfc3339(st.First), rfc3339(st.Last)
		r.Capture.Duration = time.Duration(st.Last - st.First).Seconds()
	}
	if len(r.Findings) == 0 {
		r.Findings = []*Finding{}
	}
	r.Hosts = hostList(v.hosts, withheld)
	r.Devices = deviceList(v.devs, r.Findings, withheld)
	r.Capture.Devices = len(r.Devices)
	r.Services = e.services(r)
	if v.untracked > 0 {
		r.Capture.Warnings = append(r.Capture.Warnings, strconv.FormatUint(v.untracked, 10)+" findings, hosts or devices beyond the report's tracking cap of "+strconv.Itoa(maxTracked)+" each were not kept")
	}
	if st.FlowsEvicted > 0 {
		r.Capture.Warnings = append(r.Capture.Warnings, "flow table full: "+strconv.FormatUint(st.FlowsEvicted, 10)+" flows evicted early (raise --max-flows)")
	}
	r.Capture.Warnings = append(r.Capture.Warnings, v.evWarn...)
	return r
}

// hostList returns the hosts, most failed flows first, then most flows.
// When findings resting on absent answers are withheld, their flows count
// as undecided.
func hostList(hosts []*HostSummary, withheld bool) []*HostSummary {
	out := make([]*HostSummary, 0, len(hosts))
	for _, h := range hosts {
		if withheld && h.Tally.AbsentFailed > 0 {
			c := *h
			c.Failed -= h.Tally.AbsentFailed
			c.Undecided += h.Tally.AbsentFailed
			h = &c
		}
		out = append(out, h)
	}
	sortByKeys(out, func(_ int, h *HostSummary) hostKey {
		return hostKey{failed: h.Failed, flows: h.Flows, host: h.Host}
	}, func(a, b hostKey) int {
		if a.failed != b.failed {
			return cmp.Compare(b.failed, a.failed)
		}
		if a.flows != b.flows {
			return cmp.Compare(b.flows, a.flows)
		}
		return strings.Compare(a.host, b.host)
	})
	return out
}

// hostKey is what hostList sorts a host by.
type hostKey struct {
	failed, flows int
	host          string
}

// keyed is a record and the key it is sorted by.
type keyed[P, K any] struct {
	key K
	p   P
}

// sortByKeys sorts ps by the keys key makes of them (from each one's
// position and itself), made once each and sorted beside the records, so
// that comparing reads no record: with tens of thousands of records,
// which lie all over memory, reading two per comparison is most of a
// sort's time. slices.SortFunc's order depends only on the comparisons,
// so the order is the one sorting the records by the same comparison
// gives.
func sortByKeys[P, K any](ps []P, key func(int, P) K, compare func(a, b K) int) {
	ks := make([]keyed[P, K], len(ps))
	for i, p := range ps {
		ks[i] = keyed[P, K]{key(i, p), p}
	}
	slices.SortFunc(ks, func(a, b keyed[P, K]) int { return compare(a.key, b.key) })
	for i, k := range ks {
		ps[i] = k.p
	}
}

// deviceList returns the devices, most Apple flows first, each with its
// count of findings (it sets their Findings and strings). When findings
// resting on absent answers are withheld, their flows do not count as
// failed.
func deviceList(devs []*DeviceSummary, findings []*Finding, withheld bool) []*DeviceSummary {
	for _, d := range devs {
		fillStrings(d)
	}
	counts := countByClient(devs, findings)
	for i, d := range devs {
		d.Findings = int(counts[i])
	}
	out := make([]*DeviceSummary, 0, len(devs))
	for _, d := range devs {
		if withheld && d.Tally.AbsentFailed > 0 {
			c := *d
			c.Failed -= d.Tally.AbsentFailed
			d = &c
		}
		out = append(out, d)
	}
	sortByKeys(out, func(_ int, d *DeviceSummary) deviceKey {
		return deviceKey{apple: d.AppleFlows, addr: d.Address}
	}, func(a, b deviceKey) int {
		if a.apple != b.apple {
			return cmp.Compare(b.apple, a.apple)
		}
		return strings.Compare(a.addr, b.addr)
	})
	return out
}

// countByClient counts, for each device, the findings whose client
// address is the device's (or, unmapped, is it). Devices are found by a
// table of their positions (tag and position in one word, the addresses
// in an array beside it), so a lookup reads the table and that array and
// no device, and the counts go to an array too: the devices are read
// once, in order, instead of once a finding, wherever they lie.
func countByClient(devs []*DeviceSummary, findings []*Finding) []int32 {
	counts := make([]int32, len(devs))
	if len(devs) == 0 {
		return counts
	}
	addrs := make([]netip.Addr, len(devs))
	var t probeTable[tagSlot]
	t.resize(1 << bits.Len(uint(2*len(devs))))
	seed := [2]uint64{rand.Uint64() | 1, rand.Uint64() | 1}
	hash := func(a netip.Addr) uint64 {
		b := a.As16()
		return mum(binary.LittleEndian.Uint64(b[:8])^seed[0], binary.LittleEndian.Uint64(b[8:])^seed[1])
	}
	mask := uint64(len(t.slots) - 1)
	find := func(a netip.Addr, h uint64) int {
		for i := h >> t.shift; ; i = (i + 1) & mask {
			s := uint64(t.slots[i])
			if s == 0 {
				return -1
			}
			if s>>32 == h>>32 && addrs[uint32(s)-1] == a {
				return int(uint32(s) - 1)
			}
		}
	}
	for i, d := range devs {
		a := d.Tally.Addr
		addrs[i] = a
		if h := hash(a); find(a, h) < 0 { // a device's address is its own; the first holds it
			t.place(tagSlot(h&^(1<<32-1) | uint64(i+1)))
		}
	}
	last, at := "", -1
	for _, fd := range findings {
		// Findings of one device often come together.
		if at >= 0 && fd.Client == last {
			counts[at]++
			continue
		}
		a, err := netip.ParseAddr(fd.Client)
		if err != nil {
			continue
		}
		at = find(a, hash(a))
		if at < 0 {
			at = find(a.Unmap(), hash(a.Unmap()))
		}
		if at >= 0 {
			counts[at]++
			last = fd.Client
		}
	}
	return counts
}

// deviceKey is what deviceList sorts a device by.
type deviceKey struct {
	apple int
	addr  string
}

// sortReport orders findings as sortFindings does: most severe first,
// then by name and host, findings alike in the order given. It sorts keys
// beside the pointers (no finding is read while comparing), with the
// position as the last key, so an unstable sort gives the stable order.
func sortReport(fs []*Finding) {
	sortByKeys(fs, func(i int, fd *Finding) reportKey {
		return reportKey{sev: fd.Tally.Sev, pos: int32(i), name: fd.Finding, host: fd.Host}
	}, func(a, b reportKey) int {
		if a.sev != b.sev {
			return cmp.Compare(b.sev, a.sev)
		}
		if a.name != b.name {
			return strings.Compare(a.name, b.name)
		}
		if a.host != b.host {
			return strings.Compare(a.host, b.host)
		}
		return cmp.Compare(a.pos, b.pos)
	})
}

// reportKey is what sortReport sorts a finding by.
type reportKey struct {
	sev        Severity
	pos        int32
	name, host string
}

// services rolls hosts and findings up into catalog sections with a
// verdict each. Every finding counts toward its section: a DNS failure
// for a section's name fails it even if no flow followed.
func (e *Engine) services(r *Report) []ServiceSummary {
	bySec := map[string]*sectionTally{}
	var order []string
	for _, en := range e.cat.Entries() {
		if _, ok := bySec[en.Section]; !ok {
			bySec[en.Section] = &sectionTally{s: ServiceSummary{Section: en.Section, Hosts: []string{}}}
			order = append(order, en.Section)
		}
	}
	for _, h := range r.Hosts {
		if t := bySec[h.Section]; t != nil {
			t.host(h)
		}
	}
	for _, fd := range r.Findings {
		if t := bySec[fd.Section]; t != nil {
			t.finding(fd)
		}
	}
	out := make([]ServiceSummary, 0, len(order))
	for _, name := range order {
		t := bySec[name]
		t.s.Verdict = t.verdict()
		out = append(out, t.s)
	}
	return out
}

// sectionTally is one catalog section's summary as it is rolled up.
type sectionTally struct {
	s ServiceSummary
	// seen: a finding names the section; warned: one of warn or error;
	// intercepted: one of those whose definition Intercepts.
	seen, warned, intercepted bool
}

// addHost lists h among the section's hosts (the first 64).
func (t *sectionTally) addHost(h string) {
	if len(t.s.Hosts) < 64 && !slices.Contains(t.s.Hosts, h) {
		t.s.Hosts = append(t.s.Hosts, h)
	}
}

// host adds a host's flows.
func (t *sectionTally) host(h *HostSummary) {
	t.addHost(h.Host)
	t.s.Flows += h.Flows
	t.s.OK += h.OK
	t.s.Failed += h.Failed
	t.s.Undecided += h.Undecided
}

// finding rolls a finding up as its definition says: a flow's finding is
// in its host's tally already; one judged per DNS message adds its count.
func (t *sectionTally) finding(fd *Finding) {
	t.seen = true
	t.addHost(fd.Host)
	def := lookupDef(fd.Finding)
	if def == nil {
		def = &FindingDef{} // not one of ours: counted as a flow's
	}
	switch {
	case fd.Undecided != "":
		if def.PerMessage {
			t.s.Undecided += fd.Count
		}
	case fd.Tally.Sev >= SevWarn:
		t.warned = true
		t.intercepted = t.intercepted || def.Intercepts
		if def.PerMessage {
			t.s.Failed += fd.Count
		}
	}
}

// verdict is the section's verdict: OK, BLOCKED, INTERCEPTED, DEGRADED,
// UNDECIDED or UNSEEN.
func (t *sectionTally) verdict() string {
	s := &t.s
	switch {
	case s.Flows == 0 && !t.seen:
		return "UNSEEN"
	case t.intercepted:
		return "INTERCEPTED"
	case s.Failed == 0 && t.warned:
		return "DEGRADED" // a warning that fails no flow (push fell back to 443)
	case s.Failed == 0 && s.OK == 0 && s.Undecided > 0:
		return "UNDECIDED"
	case s.Failed == 0:
		return "OK"
	case s.OK == 0:
		return "BLOCKED"
	}
	return "DEGRADED"
}

// flowEvent renders a flow for the event stream.
func (j *judge) flowEvent(f *flow.Flow, at *attribution, evicted bool) FlowEvent {
	a := f.App
	ev := FlowEvent{
		Type: "flow", Proto: protoName(f.Proto), Client: addrString(f.Client), ClientPort: f.CPort,
		Server: addrString(f.Server), Port: f.SPort, VLAN: f.VLAN, Process: f.Proc, PID: f.PID,
		State: f.State(), First: rfc3339(f.First), Last: rfc3339(f.Last),
		Duration:      time.Duration(f.Last - f.First).Seconds(),
		PacketsClient: f.Orig.Packets, PacketsServer: f.Resp.Packets,
		BytesClient: f.Orig.Bytes, BytesServer: f.Resp.Bytes,
		SynRetries: f.SynRetries, RSTBy: f.RSTBy(), Evicted: evicted,
		Host: at.host, NameSource: at.source, Service: at.service(), Section: at.section(), Apple: at.apple,
		CommunityID: flowCommunityID(f),
	}
	if m, ok := f.ClientMAC(); ok {
		ev.ClientMAC = macString(m)
	}
	if f.ICMPCount > 0 {
		ev.ICMP = icmpName(f)
	}
	tlsEvent(&ev, f)
	if r := a.Request; r != nil {
		ev.HTTPMethod, ev.HTTPHost, ev.UserAgent = r.Method, r.Host, r.UserAgent
		if r.Method == "CONNECT" {
			ev.ConnectTarget = r.Target
		}
	}
	if r := a.Response; r != nil {
		ev.HTTPStatus = r.Status
	}
	if a.NTPRequests > 0 || a.NTPReplies > 0 {
		ev.NTPMode = a.NTP.ModeString()
		s := int(a.NTP.Stratum)
		ev.NTPStratum = &s
		ev.NTPRefID = a.NTP.RefIDString()
	}
	if n, ver := a.QUICInitials(); n > 0 {
		ev.QUICVersion = dissect.QUICVersionString(ver)
	}
	return ev
}

// tlsEvent fills a flow event's TLS fields: the hello, the server's
// answer and chain, the alerts.
func tlsEvent(ev *FlowEvent, f *flow.Flow) {
	a := f.App
	if ch := f.ClientHello(); ch != nil {
		ev.SNI, ev.ALPN, ev.JA4 = ch.SNI, ch.ALPN, ch.JA4(a.QUICHello == ch)
		ev.HelloBytes = ch.Length + 4
		ev.TLSPQ = pqGroup(ch) != ""
		if a.ServerHello == nil {
			ev.TLSVersion = dissect.TLSVersionString(ch.MaxVersion())
		}
	}
	if sh := a.ServerHello; sh != nil {
		ev.TLSVersion = dissect.TLSVersionString(sh.Version)
		ev.TLSCipher = dissect.CipherSuiteString(sh.CipherSuite)
		if sh.Group != 0 {
			ev.TLSGroup = dissect.GroupString(sh.Group)
		}
	}
	if len(a.Certs) > 0 {
		certs, _ := dissect.ParseCertificates(a.Certs)
		for _, c := range certs {
			if c == nil {
				continue
			}
			ev.CertChain = append(ev.CertChain, Cert{Subject: c.Subject.String(), Issuer: c.Issuer.String()})
		}
		if len(ev.CertChain) > 0 {
			ev.CertSubject, ev.CertIssuer = ev.CertChain[0].Subject, ev.CertChain[0].Issuer
		}
	}
	var alerts []string
	for _, al := range a.ClientAlert {
		alerts = append(alerts, "client: "+al.String())
	}
	for _, al := range a.ServerAlert {
		alerts = append(alerts, "server: "+al.String())
	}
	ev.TLSAlert = strings.Join(alerts, "; ")
}
