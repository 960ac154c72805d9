package ecs

import (
	"io"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"orchard/analyzer"
)

// Version is the ECS version of the documents (ecs.version); the field set
// is checked against this version's schema.
const Version = "9.5.0"

// Reference is Apple's article the findings are judged against
// (rule.reference).
const Reference = "https://support.apple.com/en-us/101555"

// Severity numbers for event.severity, on the scale of Elastic's detection
// rules (low 21, medium 47, high 73).
const (
	SeverityInfo  = 21
	SeverityWarn  = 47
	SeverityError = 73
)

// Observer names the sensor that saw the traffic (observer.*).
type Observer struct {
	Name     string // observer.name: the sensor, e.g. a site
	Hostname string // observer.hostname, when known
}

// Writer writes ECS documents as NDJSON. It is not safe for concurrent use.
type Writer struct {
	w     io.Writer
	obs   Observer
	buf   []byte
	parts parts // the flow and DNS documents, rebuilt for each event
}

// NewWriter returns a Writer writing to w, naming the sensor o.
func NewWriter(w io.Writer, o Observer) *Writer {
	return &Writer{w: w, obs: o}
}

// write writes one document and its newline.
func (w *Writer) write(d *Doc) error {
	w.buf = append(d.AppendJSON(w.buf[:0]), '\n')
	_, err := w.w.Write(w.buf)
	return err
}

// Flow writes a flow event.
func (w *Writer) Flow(e *analyzer.FlowEvent) error { return w.write(w.parts.flow(e, w.obs)) }

// DNS writes a DNS response event.
func (w *Writer) DNS(e *analyzer.DNSEvent) error { return w.write(w.parts.dns(e, w.obs)) }

// Finding writes a finding as an alert.
func (w *Writer) Finding(f *analyzer.Finding) error { return w.write(FindingDoc(f, w.obs)) }

// Capture writes the run's counters as a metric event.
func (w *Writer) Capture(c *analyzer.CaptureInfo) error { return w.write(CaptureDoc(c, w.obs)) }

// AppendFlow appends a flow event's document (no newline) to b.
func (w *Writer) AppendFlow(b []byte, e *analyzer.FlowEvent) []byte {
	return w.parts.flow(e, w.obs).AppendJSON(b)
}

// AppendDNS appends a DNS response event's document (no newline) to b.
func (w *Writer) AppendDNS(b []byte, e *analyzer.DNSEvent) []byte {
	return w.parts.dns(e, w.obs).AppendJSON(b)
}

// AppendFinding appends a finding's alert document (no newline) to b.
func (w *Writer) AppendFinding(b []byte, f *analyzer.Finding) []byte {
	return FindingDoc(f, w.obs).AppendJSON(b)
}

// Doc is one ECS document; nil parts are left out.
type Doc struct {
	Timestamp   string     `json:"@timestamp"`
	ECS         ecsVersion `json:"ecs"`
	Message     string     `json:"message,omitempty"`
	Event       Event      `json:"event"`
	Observer    observer   `json:"observer"`
	Network     *Network   `json:"network,omitempty"`
	Source      *Endpoint  `json:"source,omitempty"`
	Destination *Endpoint  `json:"destination,omitempty"`
	Process     *Process   `json:"process,omitempty"`
	TLS         *TLS       `json:"tls,omitempty"`
	HTTP        *HTTP      `json:"http,omitempty"`
	URL         *URL       `json:"url,omitempty"`
	UserAgent   *UserAgent `json:"user_agent,omitempty"`
	DNS         *DNS       `json:"dns,omitempty"`
	Rule        *Rule      `json:"rule,omitempty"`
	Orchard     *Orchard   `json:"orchard,omitempty"`
	Related     *Related   `json:"related,omitempty"`
}

type ecsVersion struct {
	Version string `json:"version"`
}

// Event is event.*.
type Event struct {
	Kind     string   `json:"kind"`
	Category []string `json:"category"`
	Type     []string `json:"type"`
	Module   string   `json:"module"`
	Dataset  string   `json:"dataset"`
	Outcome  string   `json:"outcome,omitempty"`
	Severity int      `json:"severity,omitempty"`
	Start    string   `json:"start,omitempty"`
	End      string   `json:"end,omitempty"`
	Duration int64    `json:"duration,omitempty"` // nanoseconds
}

type observer struct {
	Name     string `json:"name,omitempty"`
	Hostname string `json:"hostname,omitempty"`
	Type     string `json:"type"`
	Product  string `json:"product"`
}

func (o Observer) doc() observer {
	return observer{Name: o.Name, Hostname: o.Hostname, Type: "sensor", Product: "orchard"}
}

// Network is network.*.
type Network struct {
	CommunityID string `json:"community_id,omitempty"`
	Transport   string `json:"transport,omitempty"`
	Type        string `json:"type,omitempty"`
	Protocol    string `json:"protocol,omitempty"`
	Bytes       uint64 `json:"bytes,omitempty"`
	Packets     uint64 `json:"packets,omitempty"`
	VLAN        *VLAN  `json:"vlan,omitempty"`
}

// VLAN is network.vlan.
type VLAN struct {
	ID string `json:"id"`
}

// Endpoint is source.* or destination.*.
type Endpoint struct {
	IP      string  `json:"ip,omitempty"`
	Port    uint16  `json:"port,omitempty"`
	MAC     string  `json:"mac,omitempty"`
	Domain  string  `json:"domain,omitempty"`
	Bytes   *uint64 `json:"bytes,omitempty"`
	Packets *uint64 `json:"packets,omitempty"`
}

// Process is process.*: the process PKTAP names.
type Process struct {
	Name string `json:"name"`
	PID  int32  `json:"pid,omitempty"`
}

// TLS is tls.*.
type TLS struct {
	Version         string     `json:"version,omitempty"`
	VersionProtocol string     `json:"version_protocol,omitempty"`
	Cipher          string     `json:"cipher,omitempty"`
	NextProtocol    string     `json:"next_protocol,omitempty"`
	Client          *TLSClient `json:"client,omitempty"`
	Server          *TLSServer `json:"server,omitempty"`
}

// TLSClient is tls.client.*.
type TLSClient struct {
	ServerName string `json:"server_name,omitempty"`
}

// TLSServer is tls.server.*.
type TLSServer struct {
	Issuer  string `json:"issuer,omitempty"`
	Subject string `json:"subject,omitempty"`
}

// HTTP is http.*.
type HTTP struct {
	Request  *HTTPRequest  `json:"request,omitempty"`
	Response *HTTPResponse `json:"response,omitempty"`
}

// HTTPRequest is http.request.*.
type HTTPRequest struct {
	Method string `json:"method"`
}

// HTTPResponse is http.response.*.
type HTTPResponse struct {
	StatusCode int `json:"status_code"`
}

// URL is url.*.
type URL struct {
	Domain string `json:"domain"`
}

// UserAgent is user_agent.*.
type UserAgent struct {
	Original string `json:"original"`
}

// DNS is dns.*.
type DNS struct {
	Type         string      `json:"type"`
	Question     DNSQuestion `json:"question"`
	ResponseCode string      `json:"response_code,omitempty"`
	Answers      []DNSAnswer `json:"answers,omitempty"`
	ResolvedIP   []string    `json:"resolved_ip,omitempty"`
}

// DNSQuestion is dns.question.*.
type DNSQuestion struct {
	Name string `json:"name"`
	Type string `json:"type,omitempty"`
}

// DNSAnswer is one of dns.answers.
type DNSAnswer struct {
	Name string `json:"name"`
	Type string `json:"type"`
	TTL  uint32 `json:"ttl"`
	Data string `json:"data"`
}

// Rule is rule.*: the finding.
type Rule struct {
	Name      string `json:"name"`
	Category  string `json:"category"`
	Reference string `json:"reference"`
	Ruleset   string `json:"ruleset"`
}

// Related is related.*: every address and name, for pivoting.
type Related struct {
	IP    []string `json:"ip,omitempty"`
	Hosts []string `json:"hosts,omitempty"`
}

// Orchard holds orchard's own fields (orchard.*).
type Orchard struct {
	Type       string   `json:"type"` // flow, dns, finding, capture
	Host       string   `json:"host,omitempty"`
	NameSource string   `json:"name_source,omitempty"`
	Service    string   `json:"service,omitempty"`
	Section    string   `json:"section,omitempty"`
	Apple      bool     `json:"apple,omitempty"`
	Findings   []string `json:"findings,omitempty"`
	Verdict    string   `json:"verdict,omitempty"`
	State      string   `json:"state,omitempty"`
	JA4        string   `json:"ja4,omitempty"`
	TLSGroup   string   `json:"tls_group,omitempty"`
	TLSPQ      bool     `json:"tls_pq,omitempty"`
	HelloBytes int      `json:"hello_bytes,omitempty"`
	TLSAlert   string   `json:"tls_alert,omitempty"`
	CertChain  []string `json:"cert_chain,omitempty"`
	Connect    string   `json:"connect_target,omitempty"`
	RSTBy      string   `json:"rst_by,omitempty"`
	ICMP       string   `json:"icmp,omitempty"`
	SynRetries int      `json:"syn_retries,omitempty"`
	Evicted    bool     `json:"evicted,omitempty"`
	NTP        *NTP     `json:"ntp,omitempty"`
	QUIC       string   `json:"quic_version,omitempty"`
	Count      int      `json:"count,omitempty"`
	Severity   string   `json:"severity,omitempty"`
	Advice     string   `json:"advice,omitempty"`
	Capture    *Capture `json:"capture,omitempty"`
}

// NTP is orchard.ntp.*.
type NTP struct {
	Mode    string `json:"mode,omitempty"`
	Stratum *int   `json:"stratum,omitempty"`
	RefID   string `json:"refid,omitempty"`
}

// Capture is orchard.capture.*: the run's counters.
type Capture struct {
	Files      []string `json:"files,omitempty"`
	Packets    uint64   `json:"packets"`
	Bytes      uint64   `json:"bytes"`
	Flows      uint64   `json:"flows"`
	AppleFlows uint64   `json:"apple_flows"`
	Devices    int      `json:"devices"`
	Malformed  uint64   `json:"malformed"`
	Warnings   []string `json:"warnings,omitempty"`
	Errors     []string `json:"errors,omitempty"`
	Dropped    uint64   `json:"dropped,omitempty"`
}

func base(ts string, o Observer, kind, dataset string, category, typ []string) Doc {
	return Doc{
		Timestamp: ts, ECS: ecsVersion{Version}, Observer: o.doc(),
		Event: Event{Kind: kind, Category: category, Type: typ, Module: "orchard", Dataset: dataset},
	}
}

// netType is network.type for an address.
func netType(a string) string {
	ip, err := netip.ParseAddr(a)
	switch {
	case err != nil:
		return ""
	case ip.Unmap().Is4():
		return "ipv4"
	}
	return "ipv6"
}

// mac writes a MAC in ECS's notation: upper-case octets joined by hyphens.
func mac(m string) string {
	return strings.ToUpper(strings.ReplaceAll(m, ":", "-"))
}

// tlsVersion splits "TLS1.3" into ("1.3", "tls").
func tlsVersion(v string) (string, string) {
	for _, p := range []string{"DTLS", "TLS", "SSL"} {
		if n, ok := strings.CutPrefix(v, p); ok {
			return n, strings.ToLower(p)
		}
	}
	return v, ""
}

func related(ips []string, hosts ...string) *Related {
	r := &Related{}
	relate(r, ips, hosts...)
	return r
}

// relate adds the addresses and names to r, once each.
func relate(r *Related, ips []string, hosts ...string) {
	for _, ip := range ips {
		if ip != "" && !contains(r.IP, ip) {
			r.IP = append(r.IP, ip)
		}
	}
	for _, h := range hosts {
		if h != "" && !contains(r.Hosts, h) {
			r.Hosts = append(r.Hosts, h)
		}
	}
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// FlowDoc is a flow's document: a network connection that ended.
func FlowDoc(e *analyzer.FlowEvent, o Observer) *Doc { return new(parts).flow(e, o) }

// DNSDoc is a DNS response's document.
func DNSDoc(e *analyzer.DNSEvent, o Observer) *Doc { return new(parts).dns(e, o) }

// parts hold a flow or DNS document and everything it points to: a Writer
// keeps one and rebuilds the document of each event in it, so writing
// allocates nothing once the slices have grown.
type parts struct {
	doc        Doc
	network    Network
	vlan       VLAN
	src, dst   Endpoint
	counts     [4]uint64
	process    Process
	tls        TLS
	tlsClient  TLSClient
	tlsServer  TLSServer
	http       HTTP
	req        HTTPRequest
	resp       HTTPResponse
	url        URL
	ua         UserAgent
	dnsPart    DNS
	orchard    Orchard
	ntp        NTP
	related    Related
	relIP      []string
	relHosts   []string
	ips        []string
	chain      []string
	answers    []DNSAnswer
	resolved   []string
	categories [1]string
	types      [2]string
}

// base starts the document of the parts, in category network.
func (p *parts) base(ts string, o Observer, kind, dataset, type1, type2 string) *Doc {
	p.categories[0] = "network"
	p.types[0], p.types[1] = type1, type2
	p.doc = base(ts, o, kind, dataset, p.categories[:], p.types[:])
	p.related = Related{IP: p.relIP[:0], Hosts: p.relHosts[:0]}
	return &p.doc
}

// relate fills related.* and keeps its slices for the next document.
func (p *parts) relate(ips []string, hosts ...string) {
	relate(&p.related, ips, hosts...)
	p.relIP, p.relHosts = p.related.IP, p.related.Hosts
	p.doc.Related = &p.related
}

func (p *parts) flow(e *analyzer.FlowEvent, o Observer) *Doc {
	d := p.base(e.First, o, "event", "orchard.flow", "connection", "end")
	d.Event.Start, d.Event.End = e.First, e.Last
	d.Event.Duration = int64(e.Duration * 1e9)
	if e.Apple {
		d.Event.Outcome = "success"
		if len(e.Findings) > 0 {
			d.Event.Outcome = "failure"
		}
	}
	p.network = Network{CommunityID: e.CommunityID, Transport: e.Proto, Type: netType(e.Client),
		Bytes: e.BytesClient + e.BytesServer, Packets: e.PacketsClient + e.PacketsServer}
	d.Network = &p.network
	switch {
	case e.SNI != "" || e.TLSVersion != "":
		d.Network.Protocol = "tls"
		if e.QUICVersion != "" {
			d.Network.Protocol = "quic"
		}
	case e.HTTPMethod != "" || e.HTTPStatus != 0:
		d.Network.Protocol = "http"
	case e.NTPMode != "":
		d.Network.Protocol = "ntp"
	}
	if e.VLAN != 0 {
		p.vlan = VLAN{ID: strconv.Itoa(int(e.VLAN))}
		d.Network.VLAN = &p.vlan
	}
	p.counts = [4]uint64{e.BytesClient, e.PacketsClient, e.BytesServer, e.PacketsServer}
	p.src = Endpoint{IP: e.Client, Port: e.ClientPort, Bytes: &p.counts[0], Packets: &p.counts[1]}
	if e.ClientMAC != "" {
		p.src.MAC = mac(e.ClientMAC)
	}
	d.Source = &p.src
	p.dst = Endpoint{IP: e.Server, Port: e.Port, Domain: e.Host, Bytes: &p.counts[2], Packets: &p.counts[3]}
	d.Destination = &p.dst
	if e.Process != "" {
		p.process = Process{Name: e.Process, PID: e.PID}
		d.Process = &p.process
	}
	if e.SNI != "" || e.TLSVersion != "" || e.CertIssuer != "" {
		p.tls = TLS{Cipher: e.TLSCipher}
		t := &p.tls
		t.Version, t.VersionProtocol = tlsVersion(e.TLSVersion)
		if len(e.ALPN) > 0 {
			t.NextProtocol = e.ALPN[0]
		}
		if e.SNI != "" {
			p.tlsClient = TLSClient{ServerName: e.SNI}
			t.Client = &p.tlsClient
		}
		if e.CertIssuer != "" || e.CertSubject != "" {
			p.tlsServer = TLSServer{Issuer: e.CertIssuer, Subject: e.CertSubject}
			t.Server = &p.tlsServer
		}
		d.TLS = t
	}
	if e.HTTPMethod != "" || e.HTTPStatus != 0 {
		p.http = HTTP{}
		d.HTTP = &p.http
		if e.HTTPMethod != "" {
			p.req = HTTPRequest{Method: e.HTTPMethod}
			d.HTTP.Request = &p.req
		}
		if e.HTTPStatus != 0 {
			p.resp = HTTPResponse{StatusCode: e.HTTPStatus}
			d.HTTP.Response = &p.resp
		}
	}
	if e.HTTPHost != "" {
		p.url = URL{Domain: e.HTTPHost}
		d.URL = &p.url
	}
	if e.UserAgent != "" {
		p.ua = UserAgent{Original: e.UserAgent}
		d.UserAgent = &p.ua
	}
	p.orchard = Orchard{Type: "flow", Host: e.Host, NameSource: e.NameSource, Service: e.Service, Section: e.Section, Apple: e.Apple,
		Findings: e.Findings, State: e.State, JA4: e.JA4, TLSGroup: e.TLSGroup, TLSPQ: e.TLSPQ, HelloBytes: e.HelloBytes,
		TLSAlert: e.TLSAlert, Connect: e.ConnectTarget, RSTBy: e.RSTBy, ICMP: e.ICMP, SynRetries: e.SynRetries,
		Evicted: e.Evicted, QUIC: e.QUICVersion}
	or := &p.orchard
	if e.Apple {
		or.Verdict = "ok"
		if len(e.Findings) > 0 {
			or.Verdict = e.Findings[0]
		}
	}
	if len(e.CertChain) > 0 {
		p.chain = p.chain[:0]
		for _, c := range e.CertChain {
			p.chain = append(p.chain, c.Subject)
		}
		or.CertChain = p.chain
	}
	if e.NTPMode != "" {
		p.ntp = NTP{Mode: e.NTPMode, Stratum: e.NTPStratum, RefID: e.NTPRefID}
		or.NTP = &p.ntp
	}
	d.Orchard = or
	p.ips = append(p.ips[:0], e.Client, e.Server)
	p.relate(p.ips, e.Host, e.SNI, e.HTTPHost)
	return d
}

func (p *parts) dns(e *analyzer.DNSEvent, o Observer) *Doc {
	d := p.base(e.TS, o, "event", "orchard.dns", "protocol", "info")
	p.network = Network{CommunityID: e.CommunityID, Transport: e.Proto, Type: netType(e.Client), Protocol: "dns"}
	d.Network = &p.network
	p.src = Endpoint{IP: e.Client}
	d.Source = &p.src
	p.dst = Endpoint{IP: e.Server, Port: e.Port}
	d.Destination = &p.dst
	p.dnsPart = DNS{Type: "answer", Question: DNSQuestion{Name: e.Query, Type: e.QType}, ResponseCode: e.RCode}
	dns := &p.dnsPart
	p.ips = append(p.ips[:0], e.Client, e.Server)
	if len(e.Answers) > 0 {
		p.answers, p.resolved = p.answers[:0], p.resolved[:0]
		for _, a := range e.Answers {
			p.answers = append(p.answers, DNSAnswer(a))
			if a.Type == "A" || a.Type == "AAAA" {
				p.resolved = append(p.resolved, a.Data)
				p.ips = append(p.ips, a.Data)
			}
		}
		dns.Answers = p.answers
		if len(p.resolved) > 0 {
			dns.ResolvedIP = p.resolved
		}
	}
	d.DNS = dns
	p.orchard = Orchard{Type: "dns"}
	d.Orchard = &p.orchard
	p.relate(p.ips, e.Query)
	return d
}

// denies reports the findings that mean the network refused the
// connection, as their definitions say.
func denies(name string) bool {
	d, ok := analyzer.Definition(name)
	return ok && d.Denies
}

// FindingDoc is a finding's document: an alert.
func FindingDoc(f *analyzer.Finding, o Observer) *Doc {
	typ := []string{"connection", "info"}
	if denies(f.Finding) {
		typ = []string{"connection", "denied"}
	}
	d := base(f.First, o, "alert", "orchard.finding", []string{"network"}, typ)
	d.Message = f.Evidence
	d.Event.Start, d.Event.End = f.First, f.Last
	d.Event.Outcome = "failure"
	switch f.Sev() {
	case analyzer.SevError:
		d.Event.Severity = SeverityError
	case analyzer.SevWarn:
		d.Event.Severity = SeverityWarn
	default:
		d.Event.Severity = SeverityInfo
	}
	category, _, _ := strings.Cut(f.Finding, ".")
	d.Rule = &Rule{Name: f.Finding, Category: category, Reference: Reference, Ruleset: "orchard"}
	d.Network = &Network{CommunityID: f.CommunityID, Transport: f.Proto, Type: netType(f.Client)}
	d.Source = &Endpoint{IP: f.Client}
	if f.ClientMAC != "" {
		d.Source.MAC = mac(f.ClientMAC)
	}
	d.Destination = &Endpoint{IP: f.Server, Port: f.Port, Domain: f.Host}
	if f.Process != "" {
		d.Process = &Process{Name: f.Process}
	}
	if f.NameSource == analyzer.SourceSNI {
		d.TLS = &TLS{Client: &TLSClient{ServerName: f.Host}}
	}
	d.Orchard = &Orchard{Type: "finding", Host: f.Host, NameSource: f.NameSource, Service: f.Service, Section: f.Section,
		Count: f.Count, Severity: f.Severity, Advice: f.Advice}
	d.Related = related([]string{f.Client, f.Server}, f.Host)
	return &d
}

// CaptureDoc is the run's counters: the last document of a stream.
func CaptureDoc(c *analyzer.CaptureInfo, o Observer) *Doc {
	ts := c.Last
	if ts == "" {
		// Nothing was read: the document still needs a time.
		ts = time.Now().UTC().Format(time.RFC3339Nano)
	}
	d := base(ts, o, "metric", "orchard.capture", []string{"network"}, []string{"info"})
	d.Event.Start, d.Event.End = c.First, c.Last
	d.Event.Duration = int64(c.Duration * 1e9)
	cp := &Capture{Files: c.Files, Packets: c.Packets, Bytes: c.Bytes, Flows: c.Flows, AppleFlows: c.AppleFlows,
		Devices: c.Devices, Malformed: c.Stats.Malformed, Warnings: c.Warnings, Errors: c.Errors}
	if l := c.Live; l != nil {
		cp.Dropped = l.DroppedKernel + l.DroppedIface
	}
	d.Orchard = &Orchard{Type: "capture", Capture: cp}
	return &d
}
