package htmlreport

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"orchard/analyzer"
	"orchard/catalog"
)

// ArticleURL is Apple's support article "Use Apple products on enterprise
// networks", the source of the catalog every finding is judged against.
const ArticleURL = "https://support.apple.com/en-us/101555"

// Limits on what one page shows, so a huge report still gives a page a
// browser can open. What is left out is counted on the page.
const (
	maxFindings  = 1000 // finding cards
	maxTimelines = 100  // device timelines
	maxDevices   = 500  // rows of the device table
	maxHosts     = 8    // hosts named per section
	maxSources   = 4    // input files named before "and N more"
)

// Options say how to build a page.
type Options struct {
	// Catalog gives the row each finding was judged against; nil uses
	// the built-in catalog.
	Catalog *catalog.Catalog
	// Title heads the page; empty gives "Apple services on this network".
	Title string
	// Generated, when set, is printed as the time the report was made.
	// Left zero, the page depends on the report alone.
	Generated time.Time
	// Version names the program that made the report ("orchard devel").
	Version string
}

// Page is everything the HTML page shows, in display order. Build makes
// one from a report; Write renders it.
type Page struct {
	Title      string
	Subtitle   string
	ArticleURL string
	Generated  string
	Version    string

	Headline Headline
	Input    Input
	Health   []Note
	Counters []Field

	Sections []Section
	Verdicts []VerdictCount

	Findings        []Finding
	FindingsOmitted int
	FindingsTotal   int // shown and omitted

	Devices        []Device
	DevicesOmitted int
	DevicesQuiet   int // devices seen that never talked to Apple
	Timelines      []*Timeline
	TimelinesLeft  int

	Asks   []AskGroup
	Ticket string
}

// Headline is the one-line answer at the top of the page.
type Headline struct {
	Errors, Warnings, Infos int
	Broken, Sections        int
	Text                    string
	Level                   string // "error", "warn" or "ok"
}

// Input is what was analysed.
type Input struct {
	Sources  []string
	Shown    []string // the first sources, the rest behind a disclosure
	More     []string
	Live     bool
	Span     string
	Duration string
	Packets  string
	Bytes    string
	Flows    string
	Apple    string
	Devices  int
}

// Note is one plain sentence about the capture's health; Level is "ok",
// "info", "warn" or "error".
type Note struct {
	Level  string
	Text   string
	Fields []Field
}

// Field is a name and its value as text.
type Field struct {
	Name, Value string
}

// Section is one section of Apple's article and its verdict.
type Section struct {
	Name        string
	Verdict     string
	Symbol      string
	Class       string
	Hosts       []string
	HostsMore   int
	Flows       int
	OK          int
	Failed      int
	Findings    int
	FirstFindID string
}

// VerdictCount is how many sections have one verdict.
type VerdictCount struct {
	Verdict, Symbol, Class string
	Count                  int
}

// Finding is one finding as the page shows it.
type Finding struct {
	ID         string
	Num        int
	Severity   string
	SevLabel   string
	Symbol     string
	Name       string
	Host       string
	NameSource string
	NamedBy    string
	Service    string
	Section    string
	Client     string
	MAC        string
	Process    string
	Server     string
	Count      int
	First      string
	Last       string
	Evidence   string
	Advice     string
	Undecided  string // why the capture could not decide it, when it could not
	Row        *Row
	Extra      []Field
	DeviceID   string // the device table's row, "" when it is not listed

	first, last time.Time // zero when the report's times do not parse
}

// Row is the catalog row a finding was judged against.
type Row struct {
	Section, Host, Kind, Ports, Protocols, OS, Description, Proxy, Editions, Note, Source string
}

// Device is one client device.
type Device struct {
	ID         string // "dev-1", … in table order
	Address    string
	MAC        string
	Processes  string
	Flows      int
	AppleFlows int
	Failed     int
	Findings   int
	Timeline   string // the timeline's ID, when it has one
}

// Build turns a report into a page.
func Build(r *analyzer.Report, o Options) (*Page, error) {
	if r == nil {
		return nil, errors.New("htmlreport: no report")
	}
	// Work on the report as its JSON says it: the same page for a report
	// made here or read from a file, and no invalid UTF-8 from the wire
	// (see cloneReport).
	r, err := cloneReport(r)
	if err != nil {
		return nil, fmt.Errorf("htmlreport: report: %w", err)
	}
	cat := o.Catalog
	if cat == nil {
		c, err := catalog.Default()
		if err != nil {
			return nil, fmt.Errorf("htmlreport: built-in catalog: %w", err)
		}
		cat = c
	}
	p := &Page{
		Title:      cmp.Or(o.Title, "Apple services on this network"),
		ArticleURL: ArticleURL,
		Version:    o.Version,
	}
	if !o.Generated.IsZero() {
		p.Generated = o.Generated.UTC().Format("2006-01-02 15:04 UTC")
	}
	p.Input = buildInput(r.Capture)
	p.Subtitle = strings.Join(p.Input.Sources, ", ")
	if n := len(p.Input.Sources); n > 3 {
		p.Subtitle = strconv.Itoa(n) + " captures: " + strings.Join(p.Input.Sources[:2], ", ") + " …"
	}
	if p.Input.Span != "" {
		p.Subtitle += " · " + p.Input.Span
	}
	notes, counters, err := buildHealth(r.Capture)
	if err != nil {
		return nil, err
	}
	p.Health, p.Counters = notes, counters

	findings, err := buildFindings(r.Findings, cat)
	if err != nil {
		return nil, err
	}
	// Cards for the most severe findings only; counts cover them all.
	shown := findings[:min(len(findings), maxFindings)]
	p.FindingsOmitted = len(findings) - len(shown)
	p.FindingsTotal = len(findings)
	p.Sections, p.Verdicts = buildSections(r.Services, findings)
	p.Devices, p.DevicesOmitted, p.DevicesQuiet = buildDevices(r.Devices, findings)
	p.Timelines, p.TimelinesLeft = buildTimelines(r.Capture, p.Devices, shown)
	// Cross-links: finding → device row → timeline.
	timelineOf := map[string]string{}
	for _, t := range p.Timelines {
		timelineOf[t.Device] = t.ID
	}
	rowOfDevice := map[string]string{}
	for i := range p.Devices {
		d := &p.Devices[i]
		d.ID = "dev-" + strconv.Itoa(i+1)
		d.Timeline = timelineOf[d.Address]
		rowOfDevice[d.Address] = d.ID
	}
	for i := range shown {
		shown[i].DeviceID = rowOfDevice[shown[i].Client]
	}
	p.Asks = buildAsks(r.Findings, cat)
	devs, moreDevs := affectedDevices(r.Findings, 20)
	p.Ticket = ticketText(p.Asks, p.Input, devs, moreDevs)
	p.Headline = buildHeadline(findings, p.Sections)
	findings = shown
	p.Findings = findings
	return p, nil
}

func buildInput(c analyzer.CaptureInfo) Input {
	in := Input{
		Sources: c.Files,
		Live:    c.Live != nil,
		Packets: thousands(c.Packets),
		Bytes:   byteSize(c.Bytes),
		Flows:   thousands(c.Flows),
		Apple:   thousands(c.AppleFlows),
		Devices: c.Devices,
	}
	if len(in.Sources) == 0 {
		in.Sources = []string{"(no input named)"}
	}
	if c.Live != nil && c.Live.Interface != "" {
		in.Sources = []string{"live on " + c.Live.Interface}
	}
	in.Shown = in.Sources[:min(len(in.Sources), maxSources)]
	in.More = in.Sources[len(in.Shown):]
	if c.First != "" {
		in.Span = timeSpan(c.First, c.Last)
		in.Duration = humanDuration(c.Duration)
	}
	return in
}

// buildHeadline says in one sentence how bad it is.
func buildHeadline(fs []Finding, secs []Section) Headline {
	var h Headline
	for _, f := range fs {
		switch f.Severity {
		case "error":
			h.Errors++
		case "warn":
			h.Warnings++
		default:
			h.Infos++
		}
	}
	h.Sections = len(secs)
	for _, s := range secs {
		switch s.Verdict {
		case "OK", "UNSEEN":
		default:
			h.Broken++
		}
	}
	switch {
	case h.Errors > 0:
		h.Level = "error"
	case h.Warnings > 0:
		h.Level = "warn"
	default:
		h.Level = "ok"
	}
	switch {
	case h.Broken == 0 && h.Errors == 0 && h.Warnings == 0:
		h.Text = "No Apple service seen in this capture was broken by the network."
	case h.Broken == 0:
		h.Text = "No section of Apple's article failed outright, but some Apple connections had problems."
	default:
		h.Text = fmt.Sprintf("The network breaks %d of the %d sections of Apple's article that orchard checks.", h.Broken, h.Sections)
	}
	return h
}

// Verdict presentation: a symbol (so meaning never rests on colour), a CSS
// class and a sort rank, worst first.
var verdicts = map[string]struct {
	symbol, class string
	rank          int
}{
	"INTERCEPTED": {"⊘", "intercepted", 0},
	"BLOCKED":     {"✕", "blocked", 1},
	"DEGRADED":    {"◐", "degraded", 2},
	"OK":          {"✓", "ok", 4},
	"UNSEEN":      {"○", "unseen", 5},
}

func verdictLook(v string) (symbol, class string, rank int) {
	if l, ok := verdicts[v]; ok {
		return l.symbol, l.class, l.rank
	}
	return "?", "other", 3
}

func buildSections(ss []analyzer.ServiceSummary, fs []Finding) ([]Section, []VerdictCount) {
	count := map[string]int{}
	first := map[string]string{}
	for _, f := range fs {
		count[f.Section]++
		if first[f.Section] == "" && f.Num <= maxFindings {
			first[f.Section] = f.ID
		}
	}
	out := make([]Section, 0, len(ss))
	tally := map[string]int{}
	for _, s := range ss {
		sym, class, _ := verdictLook(s.Verdict)
		sec := Section{
			Name: s.Section, Verdict: s.Verdict, Symbol: sym, Class: class,
			Flows: s.Flows, OK: s.OK, Failed: s.Failed,
			Findings: count[s.Section], FirstFindID: first[s.Section],
		}
		sec.Hosts = s.Hosts
		if len(sec.Hosts) > maxHosts {
			sec.HostsMore = len(sec.Hosts) - maxHosts
			sec.Hosts = sec.Hosts[:maxHosts]
		}
		out = append(out, sec)
		tally[s.Verdict]++
	}
	slices.SortStableFunc(out, func(a, b Section) int {
		_, _, ra := verdictLook(a.Verdict)
		_, _, rb := verdictLook(b.Verdict)
		if ra != rb {
			return ra - rb
		}
		return b.Findings - a.Findings
	})
	var vc []VerdictCount
	for v, n := range tally {
		sym, class, _ := verdictLook(v)
		vc = append(vc, VerdictCount{Verdict: v, Symbol: sym, Class: class, Count: n})
	}
	slices.SortFunc(vc, func(a, b VerdictCount) int {
		_, _, ra := verdictLook(a.Verdict)
		_, _, rb := verdictLook(b.Verdict)
		return cmp.Or(ra-rb, strings.Compare(a.Verdict, b.Verdict))
	})
	return out, vc
}

// severity presentation: label and symbol.
func severityLook(s string) (label, symbol, class string) {
	switch s {
	case "error":
		return "error", "◆", "error"
	case "warn", "warning":
		return "warning", "▲", "warn"
	case "info":
		return "info", "●", "info"
	}
	return s, "■", "other"
}

// namedBy says in words how a finding's host was named.
func namedBy(src string) string {
	switch src {
	case analyzer.SourceSNI:
		return "the TLS server name (SNI) the device sent"
	case analyzer.SourceHTTP:
		return "the HTTP Host or CONNECT target"
	case analyzer.SourceDNS:
		return "the DNS answer the device received before connecting"
	case analyzer.SourceIP:
		return "the server address alone (Apple's address block; no name seen)"
	case "":
		return ""
	}
	return src
}

func buildFindings(in []*analyzer.Finding, cat *catalog.Catalog) ([]Finding, error) {
	out := make([]Finding, 0, len(in))
	for i, f := range in {
		if f == nil {
			continue
		}
		label, sym, class := severityLook(f.Severity)
		if len(out) >= maxFindings {
			// Past the cards only the counts read a finding: its
			// severity, section and device.
			out = append(out, Finding{
				Num: i + 1, Severity: class, SevLabel: label, Symbol: sym,
				Name: f.Finding, Section: f.Section, Client: f.Client, MAC: f.ClientMAC,
			})
			continue
		}
		fv := Finding{
			ID: "f" + strconv.Itoa(i+1), Num: i + 1,
			Severity: class, SevLabel: label, Symbol: sym,
			Name: f.Finding, Host: f.Host, NameSource: f.NameSource, NamedBy: namedBy(f.NameSource),
			Service: f.Service, Section: f.Section,
			Client: f.Client, MAC: f.ClientMAC, Process: f.Process,
			Server: hostPort(f.Server, f.Port, f.Proto), Count: f.Count,
			First: clock(f.First), Last: clock(f.Last),
			Evidence: f.Evidence, Advice: f.Advice,
		}
		fv.first, _ = parseTime(f.First)
		fv.last, _ = parseTime(f.Last)
		if e := judgedRow(cat, f); e != nil {
			fv.Row = rowOf(e)
		}
		extra, err := extraFields(f, findingFields)
		if err != nil {
			return nil, fmt.Errorf("htmlreport: finding %d: %w", i+1, err)
		}
		fv.Undecided, fv.Extra = splitUndecided(extra)
		out = append(out, fv)
	}
	return out, nil
}

// splitUndecided takes the "undecided" field (why the capture could not
// decide a finding) out of its other facts.
func splitUndecided(extra []Field) (why string, rest []Field) {
	for j, e := range extra {
		if e.Name == "undecided" {
			return e.Value, append(extra[:j:j], extra[j+1:]...)
		}
	}
	return "", extra
}

// judgedRow finds the catalog row the analyzer judged f against: among the
// rows matching its host (or its server's address), one of its section that
// lists its port, else one of its section, else the best fit for the port.
func judgedRow(cat *catalog.Catalog, f *analyzer.Finding) *catalog.Entry {
	rows := cat.Match(f.Host)
	if len(rows) == 0 && f.Server != "" {
		rows = cat.Match(f.Server)
	}
	if len(rows) == 0 {
		return nil
	}
	pick := func(ok func(*catalog.Entry) bool) *catalog.Entry {
		for _, e := range rows {
			if ok(e) {
				return e
			}
		}
		return nil
	}
	inSection := func(e *catalog.Entry) bool { return f.Section == "" || e.Section == f.Section }
	return cmp.Or(
		pick(func(e *catalog.Entry) bool { return inSection(e) && e.AllowsPort(f.Port, f.Proto) && !e.IsCatchAll() }),
		pick(func(e *catalog.Entry) bool { return inSection(e) && e.AllowsPort(f.Port, f.Proto) }),
		pick(inSection),
		pick(func(e *catalog.Entry) bool { return e.AllowsPort(f.Port, f.Proto) }),
		rows[0],
	)
}

func rowOf(e *catalog.Entry) *Row {
	r := &Row{
		Section: e.Section, Host: e.Host, Kind: e.Kind().String(),
		Ports: "any", Protocols: "any",
		OS: e.OS, Description: e.Description, Note: e.Note, Source: e.Source,
		Editions: strings.Join(e.Editions, ", "),
	}
	if len(e.Ports) > 0 {
		ps := make([]string, len(e.Ports))
		for i, p := range e.Ports {
			ps[i] = strconv.Itoa(int(p))
		}
		r.Ports = strings.Join(ps, ", ")
	}
	if len(e.Protocols) > 0 {
		r.Protocols = strings.Join(e.Protocols, ", ")
	}
	switch e.Proxy {
	case "yes":
		r.Proxy = "yes: works through a proxy"
	case "no":
		r.Proxy = "no: does not work through a proxy"
	default:
		r.Proxy = "not stated by Apple"
	}
	return r
}

// buildDevices lists the devices that talked to Apple or have findings, and
// counts those left out beyond maxDevices and those with no Apple traffic.
func buildDevices(ds []*analyzer.DeviceSummary, fs []Finding) (listed []Device, omitted, quiet int) {
	seen := map[string]bool{}
	var out []Device
	for _, d := range ds {
		if d == nil {
			continue
		}
		seen[d.Address] = true
		out = append(out, Device{
			Address: d.Address, MAC: d.MAC,
			Processes: strings.Join(d.Processes, ", "),
			Flows:     d.Flows, AppleFlows: d.AppleFlows, Failed: d.Failed, Findings: d.Findings,
		})
	}
	// A finding's client that the device table does not hold still gets a
	// row (and a timeline).
	extra := map[string]int{}
	for _, f := range fs {
		if seen[f.Client] {
			if i, ok := extra[f.Client]; ok {
				out[i].Findings++
			}
			continue
		}
		seen[f.Client] = true
		extra[f.Client] = len(out)
		out = append(out, Device{Address: f.Client, MAC: f.MAC, Findings: 1})
	}
	// Devices with findings first, the most findings first; devices that
	// never talked to Apple are only counted.
	slices.SortStableFunc(out, func(a, b Device) int { return b.Findings - a.Findings })
	apple := out[:0]
	quiet = 0
	for _, d := range out {
		if d.Findings == 0 && d.AppleFlows == 0 {
			quiet++
			continue
		}
		apple = append(apple, d)
	}
	if len(apple) > maxDevices {
		return apple[:maxDevices], len(apple) - maxDevices, quiet
	}
	return apple, 0, quiet
}

func hostPort(h string, p uint16, proto string) string {
	if h == "" {
		return ""
	}
	if strings.Contains(h, ":") {
		h = "[" + h + "]"
	}
	s := h + ":" + strconv.Itoa(int(p))
	if proto != "" {
		s += "/" + proto
	}
	return s
}

// parseTime reads a report time (RFC 3339 with optional fraction).
func parseTime(s string) (time.Time, bool) {
	t, err := time.Parse(time.RFC3339Nano, s)
	return t, err == nil
}

// clock shows a report time as "2026-11-02 08:15:40.135 UTC", or the text
// as given when it is not a time.
func clock(s string) string {
	t, ok := parseTime(s)
	if !ok {
		return s
	}
	return t.UTC().Format("2006-01-02 15:04:05.000") + " UTC"
}

// timeSpan shows first → last, the date once when both share it.
func timeSpan(first, last string) string {
	a, ok1 := parseTime(first)
	b, ok2 := parseTime(last)
	if !ok1 || !ok2 {
		return first + " → " + last
	}
	a, b = a.UTC(), b.UTC()
	if a.Format(time.DateOnly) == b.Format(time.DateOnly) {
		return a.Format("2006-01-02 15:04:05") + " → " + b.Format("15:04:05") + " UTC"
	}
	return a.Format("2006-01-02 15:04:05") + " → " + b.Format("2006-01-02 15:04:05") + " UTC"
}

func humanDuration(s float64) string {
	switch {
	case s < 60:
		return strconv.FormatFloat(s, 'f', 1, 64) + " s"
	case s < 3600:
		return fmt.Sprintf("%d min %02d s", int(s)/60, int(s)%60)
	case s < 86400:
		return fmt.Sprintf("%d h %02d min", int(s)/3600, int(s)%3600/60)
	}
	return fmt.Sprintf("%d days %d h", int(s)/86400, int(s)%86400/3600)
}

// thousands writes n with thin separators: 1,234,567.
func thousands(n uint64) string {
	s := strconv.FormatUint(n, 10)
	if len(s) <= 3 {
		return s
	}
	var b strings.Builder
	lead := len(s) % 3
	if lead > 0 {
		b.WriteString(s[:lead])
	}
	for i := lead; i < len(s); i += 3 {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(s[i : i+3])
	}
	return b.String()
}

func byteSize(n uint64) string {
	const k = 1024
	switch {
	case n < k:
		return strconv.FormatUint(n, 10) + " bytes"
	case n < k*k:
		return strconv.FormatFloat(float64(n)/k, 'f', 1, 64) + " KiB"
	case n < k*k*k:
		return strconv.FormatFloat(float64(n)/(k*k), 'f', 1, 64) + " MiB"
	}
	return strconv.FormatFloat(float64(n)/(k*k*k), 'f', 2, 64) + " GiB"
}
