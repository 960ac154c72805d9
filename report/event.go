package report

// FlowEvent is the record written for each flow when it ends, or at the end
// of input. Field names are the NDJSON/JSON/CSV schema; empty fields are
// omitted.
type FlowEvent struct {
	Type          string   `json:"type"` // "flow"
	Proto         string   `json:"proto"`
	Client        string   `json:"client"`
	ClientPort    uint16   `json:"client_port"`
	Server        string   `json:"server"`
	Port          uint16   `json:"port"`
	CommunityID   string   `json:"community_id,omitempty"`
	ClientMAC     string   `json:"client_mac,omitempty"`
	VLAN          uint16   `json:"vlan,omitempty"`
	Process       string   `json:"process,omitempty"`
	PID           int32    `json:"pid,omitempty"`
	State         string   `json:"state,omitempty"`
	First         string   `json:"first"`
	Last          string   `json:"last"`
	Duration      float64  `json:"duration"`
	PacketsClient uint64   `json:"packets_client"`
	PacketsServer uint64   `json:"packets_server"`
	BytesClient   uint64   `json:"bytes_client"`
	BytesServer   uint64   `json:"bytes_server"`
	SynRetries    int      `json:"syn_retries"`
	RSTBy         string   `json:"rst_by,omitempty"`
	ICMP          string   `json:"icmp,omitempty"`
	Evicted       bool     `json:"evicted,omitempty"`
	SNI           string   `json:"sni,omitempty"`
	ALPN          []string `json:"alpn,omitempty"`
	TLSVersion    string   `json:"tls_version,omitempty"`
	TLSCipher     string   `json:"tls_cipher,omitempty"`
	TLSGroup      string   `json:"tls_group,omitempty"`
	TLSPQ         bool     `json:"tls_pq,omitempty"`
	HelloBytes    int      `json:"hello_bytes,omitempty"`
	JA4           string   `json:"ja4,omitempty"`
	CertSubject   string   `json:"cert_subject,omitempty"`
	CertIssuer    string   `json:"cert_issuer,omitempty"`
	CertChain     []Cert   `json:"cert_chain,omitempty"`
	TLSAlert      string   `json:"tls_alert,omitempty"`
	HTTPHost      string   `json:"http_host,omitempty"`
	HTTPMethod    string   `json:"http_method,omitempty"`
	HTTPStatus    int      `json:"http_status,omitempty"`
	UserAgent     string   `json:"user_agent,omitempty"`
	ConnectTarget string   `json:"connect_target,omitempty"`
	NTPMode       string   `json:"ntp_mode,omitempty"`
	NTPStratum    *int     `json:"ntp_stratum,omitempty"`
	NTPRefID      string   `json:"ntp_refid,omitempty"`
	QUICVersion   string   `json:"quic_version,omitempty"`
	Host          string   `json:"host,omitempty"`
	NameSource    string   `json:"name_source,omitempty"`
	Service       string   `json:"service,omitempty"`
	Section       string   `json:"section,omitempty"`
	Apple         bool     `json:"apple,omitempty"`
	Findings      []string `json:"findings,omitempty"`
}

// Cert is one certificate of a chain, as shown in events.
type Cert struct {
	Subject string `json:"subject"`
	Issuer  string `json:"issuer"`
}

// DNSEvent is written for each DNS response.
type DNSEvent struct {
	Type   string `json:"type"` // "dns"
	TS     string `json:"ts"`
	Client string `json:"client"`
	Server string `json:"server"`
	Port   uint16 `json:"port"`
	Proto  string `json:"proto"`
	// CommunityID is the ID of the flow that carried the response.
	CommunityID string      `json:"community_id,omitempty"`
	Query       string      `json:"query"`
	QType       string      `json:"qtype"`
	RCode       string      `json:"rcode"`
	Answers     []DNSAnswer `json:"answers"`
}

// DNSAnswer is one answer record of a DNS response.
type DNSAnswer struct {
	Name string `json:"name"`
	Type string `json:"type"`
	TTL  uint32 `json:"ttl"`
	Data string `json:"data"`
}

// Severity orders findings: info < warn < error.
type Severity int

// Severities of findings.
const (
	SevInfo Severity = iota + 1
	SevWarn
	SevError
)

// String returns "info", "warn" or "error".
func (s Severity) String() string {
	switch s {
	case SevInfo:
		return "info"
	case SevWarn:
		return "warn"
	case SevError:
		return "error"
	}
	return "none"
}

// ParseSeverity reads "info", "warn"/"warning" or "error".
func ParseSeverity(s string) (Severity, bool) {
	switch s {
	case "info":
		return SevInfo, true
	case "warn", "warning":
		return SevWarn, true
	case "error":
		return SevError, true
	}
	return 0, false
}

// Finding is one problem with an Apple endpoint, aggregated over the flows
// that showed it (same finding, host, server, port, client).
type Finding struct {
	Type       string `json:"type"` // "finding"
	Finding    string `json:"finding"`
	Severity   string `json:"severity"`
	Host       string `json:"host"`
	NameSource string `json:"name_source,omitempty"`
	Service    string `json:"service,omitempty"`
	Section    string `json:"section,omitempty"`
	Client     string `json:"client"`
	ClientMAC  string `json:"client_mac,omitempty"`
	Process    string `json:"process,omitempty"`
	Server     string `json:"server,omitempty"`
	Port       uint16 `json:"port,omitempty"`
	Proto      string `json:"proto"`
	// Proxy is the proxy's socket ("10.20.0.8:3128") when the flow went
	// through one, and Target what the client asked it for
	// ("idmsa.apple.com:443").
	Proxy  string `json:"proxy,omitempty"`
	Target string `json:"target,omitempty"`
	// CommunityID is the ID of the first flow that showed the finding.
	CommunityID string `json:"community_id,omitempty"`
	Count       int    `json:"count"`
	First       string `json:"first"`
	Last        string `json:"last"`
	Evidence    string `json:"evidence"`
	Advice      string `json:"advice,omitempty"`
	// Undecided says why the finding could not be decided from the
	// capture (its severity is then info): the capture ended before the
	// answer was due, or does not show the answer's direction.
	Undecided string `json:"undecided,omitempty"`
	// Tally is the judge's bookkeeping while it aggregates the finding;
	// it is not part of the event.
	Tally FindingTally `json:"-"`
}

// FindingTally is what the judge keeps of a finding beside its event
// fields while it aggregates flows into it.
type FindingTally struct {
	// Sev is the finding's severity as a value.
	Sev Severity
	// Absent is set when the only evidence is an answer that never came.
	Absent bool
	// FirstNS and LastNS are the first and last flows' times, in Unix
	// nanoseconds.
	FirstNS, LastNS int64
	// OneEv is the first flow's evidence; Mixed is set once another
	// flow's differed.
	OneEv string
	Mixed bool
	// Stale says the event's First, Last and Evidence are behind these
	// tallies, for the judge to write when a report reads them; LastEv
	// is the latest flow's evidence.
	Stale  bool
	LastEv string
}

// Sev returns the finding's severity as a value.
func (f *Finding) Sev() Severity { return f.Tally.Sev }
