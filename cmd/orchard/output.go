package main

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/mattn/go-isatty"
	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/tw"

	"orchard/analyzer"
)

// multiSink fans events out to several sinks.
type multiSink []analyzer.Sink

func (m multiSink) Flow(e *analyzer.FlowEvent) {
	for _, s := range m {
		s.Flow(e)
	}
}

func (m multiSink) DNS(e *analyzer.DNSEvent) {
	for _, s := range m {
		s.DNS(e)
	}
}

func (m multiSink) Finding(f *analyzer.Finding) {
	for _, s := range m {
		s.Finding(f)
	}
}

// ndjsonSink writes one JSON object per line. In streaming mode (live, or
// --events) findings are written as they are first decided and every line
// is flushed; otherwise findings are written at the end with final counts.
type ndjsonSink struct {
	w              *bufio.Writer
	enc            *json.Encoder
	streamFindings bool
}

func newNDJSONSink(w *bufio.Writer, stream bool) *ndjsonSink {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return &ndjsonSink{w: w, enc: enc, streamFindings: stream}
}

func (s *ndjsonSink) line(v any) {
	_ = s.enc.Encode(v)
	if s.streamFindings {
		_ = s.w.Flush()
	}
}

func (s *ndjsonSink) Flow(e *analyzer.FlowEvent) { s.line(e) }
func (s *ndjsonSink) DNS(e *analyzer.DNSEvent)   { s.line(e) }
func (s *ndjsonSink) Finding(f *analyzer.Finding) {
	if s.streamFindings {
		s.line(f)
	}
}

func (s *ndjsonSink) findings(fs []*analyzer.Finding) {
	for _, f := range fs {
		_ = s.enc.Encode(f)
	}
}

// summary writes the last line of a stream: {"type":"capture", ...} with
// the counters of the whole run (files, packets, drops, warnings).
func (s *ndjsonSink) summary(c analyzer.CaptureInfo) {
	s.line(struct {
		Type string `json:"type"`
		analyzer.CaptureInfo
	}{"capture", c})
	_ = s.w.Flush()
}

// lineSink prints each finding as one line when it is first decided (live).
type lineSink struct {
	w     io.Writer
	color bool
}

func newLineSink(w io.Writer, color bool) *lineSink { return &lineSink{w: w, color: color} }

func (s *lineSink) Flow(*analyzer.FlowEvent) {}
func (s *lineSink) DNS(*analyzer.DNSEvent)   {}
func (s *lineSink) Finding(f *analyzer.Finding) {
	fmt.Fprintf(s.w, "%s %s %s %s %s:%d %s: %s\n", f.First, paint(s.color, f.Severity, strings.ToUpper(f.Severity)),
		f.Finding, f.Host, f.Server, f.Port, f.Client, f.Evidence)
}

func useColor(w io.Writer, off bool) bool {
	if off || os.Getenv("NO_COLOR") != "" || os.Getenv("TERM") == "dumb" {
		return false
	}
	f, ok := w.(*os.File)
	return ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd()))
}

func paint(on bool, sev, s string) string {
	if !on {
		return s
	}
	code := ""
	switch sev {
	case "error", "BLOCKED", "INTERCEPTED":
		code = "31"
	case "warn", "DEGRADED":
		code = "33"
	case "info", "UNSEEN":
		code = "36"
	case "OK":
		code = "32"
	default:
		return s
	}
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}

func newReportTable(w io.Writer) *tablewriter.Table {
	return tablewriter.NewTable(w,
		tablewriter.WithHeaderAutoFormat(tw.Off),
		tablewriter.WithRowAutoWrap(tw.WrapNormal),
		tablewriter.WithRowMaxWidth(60),
	)
}

// writeTable renders the terminal report: header, findings, then services
// (or devices with --by device).
func writeTable(w io.Writer, r *analyzer.Report, by string, color bool) {
	c := r.Capture
	fmt.Fprintf(w, "orchard: %s\n", strings.Join(c.Files, ", "))
	if c.First != "" {
		fmt.Fprintf(w, "  %s → %s (%s)\n", c.First, c.Last, humanDur(c.Duration))
	}
	fmt.Fprintf(w, "  %d packets, %d flows, %d to Apple, %d device%s", c.Packets, c.Flows, c.AppleFlows, c.Devices, plural(c.Devices))
	if c.Stats.Malformed > 0 || c.Stats.Undecodable > 0 {
		fmt.Fprintf(w, "; %d undecodable, %d malformed messages", c.Stats.Undecodable, c.Stats.Malformed)
	}
	fmt.Fprintln(w)
	if l := c.Live; l != nil {
		fmt.Fprintf(w, "  live on %s: %d received, %d dropped by the kernel, %d by the interface\n", l.Interface, l.Received, l.DroppedKernel, l.DroppedIface)
	}
	for _, s := range c.Warnings {
		fmt.Fprintf(w, "  warning: %s\n", s)
	}
	for _, s := range c.Errors {
		fmt.Fprintf(w, "  error: %s\n", s)
	}
	fmt.Fprintln(w)

	if len(r.Findings) == 0 {
		fmt.Fprintln(w, "No findings: every Apple connection seen worked.")
	} else {
		fmt.Fprintf(w, "Findings (%d)", len(r.Findings))
		// One device: it is named in the header, not on every row.
		clients := map[string]bool{}
		procs := false
		for _, f := range r.Findings {
			clients[f.Client] = true
			procs = procs || f.Process != ""
		}
		showDev := len(clients) > 1 || by == "device"
		if !showDev {
			for c := range clients {
				fmt.Fprintf(w, " for device %s", c)
			}
		}
		fmt.Fprintln(w)
		head := []any{"SEVERITY", "FINDING", "HOST", "SERVICE", "SERVER:PORT"}
		switch {
		case showDev:
			head = append(head, "DEVICE")
		case procs:
			head = append(head, "PROCESS")
		}
		head = append(head, "COUNT", "EVIDENCE")
		t := newReportTable(w)
		t.Header(head...)
		for _, f := range r.Findings {
			host := f.Host
			if f.NameSource != "" && f.NameSource != analyzer.SourceIP {
				host += " [" + f.NameSource + "]"
			}
			row := []any{paint(color, f.Severity, f.Severity), f.Finding, host, f.Section, hostPort(f.Server, f.Port, f.Proto)}
			switch {
			case showDev:
				dev := f.Client
				if f.Process != "" {
					dev += " (" + f.Process + ")"
				}
				row = append(row, dev)
			case procs:
				row = append(row, f.Process)
			}
			row = append(row, strconv.Itoa(f.Count), f.Evidence)
			_ = t.Append(row...)
		}
		_ = t.Render()
	}
	fmt.Fprintln(w)

	if by == "device" {
		fmt.Fprintln(w, "Devices")
		t := newReportTable(w)
		t.Header("DEVICE", "MAC", "PROCESSES", "FLOWS", "APPLE FLOWS", "FAILED", "FINDINGS")
		for _, d := range r.Devices {
			_ = t.Append(d.Address, d.MAC, strings.Join(d.Processes, ", "), strconv.Itoa(d.Flows), strconv.Itoa(d.AppleFlows), strconv.Itoa(d.Failed), strconv.Itoa(d.Findings))
		}
		_ = t.Render()
		return
	}
	fmt.Fprintln(w, "Apple services")
	t := newReportTable(w)
	t.Header("SECTION", "HOSTS SEEN", "OK", "FAILED", "VERDICT")
	unseen := 0
	for _, s := range r.Services {
		if s.Verdict == "UNSEEN" {
			unseen++
			continue
		}
		_ = t.Append(s.Section, hostList(s.Hosts, 4), strconv.Itoa(s.OK), strconv.Itoa(s.Failed), paint(color, s.Verdict, s.Verdict))
	}
	_ = t.Render()
	if unseen > 0 {
		fmt.Fprintf(w, "%d more sections had no traffic in this capture (UNSEEN; see --format json).\n", unseen)
	}
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func hostList(h []string, max int) string {
	if len(h) <= max {
		return strings.Join(h, ", ")
	}
	return strings.Join(h[:max], ", ") + fmt.Sprintf(" +%d", len(h)-max)
}

func hostPort(h string, p uint16, proto string) string {
	if h == "" {
		return ""
	}
	if strings.Contains(h, ":") {
		h = "[" + h + "]"
	}
	return h + ":" + strconv.Itoa(int(p)) + "/" + proto
}

func humanDur(s float64) string {
	switch {
	case s < 60:
		return strconv.FormatFloat(s, 'f', 1, 64) + "s"
	case s < 3600:
		return fmt.Sprintf("%dm%02ds", int(s)/60, int(s)%60)
	}
	return fmt.Sprintf("%dh%02dm", int(s)/3600, int(s)%3600/60)
}

func writeReportJSON(w io.Writer, r *analyzer.Report) {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	_ = enc.Encode(r)
}

// csvHeader are the CSV columns: the finding event's field names.
var csvHeader = []string{"severity", "finding", "host", "name_source", "service", "section", "client", "client_mac", "process", "server", "port", "proto", "count", "first", "last", "evidence"}

func writeFindingsCSV(w io.Writer, fs []*analyzer.Finding) {
	cw := csv.NewWriter(w)
	_ = cw.Write(csvHeader)
	for _, f := range fs {
		_ = cw.Write([]string{f.Severity, f.Finding, f.Host, f.NameSource, f.Service, f.Section, f.Client, f.ClientMAC, f.Process,
			f.Server, strconv.Itoa(int(f.Port)), f.Proto, strconv.Itoa(f.Count), f.First, f.Last, f.Evidence})
	}
	cw.Flush()
}

// progress draws a bar on stderr for large files when stderr is a terminal.
type progress struct {
	w      io.Writer
	on     bool
	drawn  bool
	lastPc int
}

func newProgress(w io.Writer, quiet bool) *progress {
	f, ok := w.(*os.File)
	return &progress{w: w, on: !quiet && ok && isatty.IsTerminal(f.Fd())}
}

func (p *progress) update(name string, done, total int64) {
	if !p.on || total < 8<<20 {
		return
	}
	pc := int(done * 100 / total)
	if pc == p.lastPc && p.drawn {
		return
	}
	p.lastPc, p.drawn = pc, true
	n := pc / 4
	fmt.Fprintf(p.w, "\r%-30.30s [%s%s] %3d%%", name, strings.Repeat("#", n), strings.Repeat(".", 25-n), pc)
}

func (p *progress) done() {
	if p.drawn {
		fmt.Fprint(p.w, "\r\x1b[K")
		p.drawn = false
	}
}

// dropWarning describes lost packets of a live capture, or returns "".
func dropWarning(l *analyzer.LiveStats) string {
	if l == nil || !highLoss(l) {
		return ""
	}
	var parts []string
	if l.DroppedKernel > 0 {
		parts = append(parts, "the kernel dropped "+strconv.FormatUint(l.DroppedKernel, 10)+" of "+strconv.FormatUint(l.Received, 10)+" packets"+percent(l.DroppedKernel, l.Received))
	}
	if l.DroppedIface > 0 {
		parts = append(parts, "the interface dropped "+strconv.FormatUint(l.DroppedIface, 10))
	}
	return strings.Join(parts, " and ") + ": findings may be incomplete (a capture filter such as 'port 53 or port 123 or port 443 or port 5223' lightens the load)"
}

func percent(a, b uint64) string {
	if b == 0 {
		return ""
	}
	pc := 100 * float64(a) / float64(b)
	if a > 0 && pc < 0.01 {
		return " (<0.01%)"
	}
	return " (" + strconv.FormatFloat(pc, 'f', 2, 64) + "%)"
}
