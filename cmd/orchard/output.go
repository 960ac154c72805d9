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
	"time"

	"github.com/mattn/go-isatty"

	"orchard/analyzer"
	"orchard/eventjson"
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

// ndjsonSink writes one JSON object per line: --format ndjson and --events
// write the same stream. Live, findings are written as they are first
// decided and every line is flushed; for files, findings are written at the
// end with their final counts, after the flows and DNS answers. Events are
// appended by eventjson (encoding/json's bytes, without reflection) straight
// into the buffered writer's free space; a write error stays with the
// writer and is reported when it is flushed at the end.
type ndjsonSink struct {
	w              *bufio.Writer
	enc            *json.Encoder // the capture's counters, the last line
	streamFindings bool
}

func newNDJSONSink(w *bufio.Writer, stream bool) *ndjsonSink {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return &ndjsonSink{w: w, enc: enc, streamFindings: stream}
}

// lineRoom is the free space an event is appended into: with less, the
// writer is flushed first, so that an event grows no slice of its own.
const lineRoom = 8 << 10

// free returns the writer's free space to append an event to.
func (s *ndjsonSink) free() []byte {
	if s.w.Available() < lineRoom {
		_ = s.w.Flush()
	}
	return s.w.AvailableBuffer()
}

// line writes the event appended to b, which starts the writer's free
// space, and a line break.
func (s *ndjsonSink) line(b []byte) {
	_, _ = s.w.Write(append(b, '\n'))
	if s.streamFindings {
		_ = s.w.Flush()
	}
}

func (s *ndjsonSink) Flow(e *analyzer.FlowEvent) {
	s.line(eventjson.AppendFlow(s.free(), e))
}

func (s *ndjsonSink) DNS(e *analyzer.DNSEvent) {
	s.line(eventjson.AppendDNS(s.free(), e))
}

func (s *ndjsonSink) Finding(f *analyzer.Finding) {
	if s.streamFindings {
		s.line(eventjson.AppendFinding(s.free(), f))
	}
}

// summary writes the findings with their final counts when they were not
// streamed, then the last line of a stream: {"type":"capture", ...} with
// the counters of the whole run (files, packets, drops, warnings).
func (s *ndjsonSink) summary(r *analyzer.Report) {
	if !s.streamFindings {
		for _, f := range r.Findings {
			s.line(eventjson.AppendFinding(s.free(), f))
		}
	}
	_ = s.enc.Encode(struct {
		Type string `json:"type"`
		analyzer.CaptureInfo
	}{"capture", r.Capture})
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

// csvHeader are the CSV columns: the finding event's field names.
var csvHeader = []string{"severity", "finding", "host", "name_source", "service", "section", "client", "client_mac", "process", "server", "port", "proto", "count", "first", "last", "evidence", "advice", "community_id"}

// writeFindingsCSV writes the findings as CSV, row by row, and returns the
// first write error. Text cells a spreadsheet would read as a formula are
// escaped (csvCell).
func writeFindingsCSV(w io.Writer, fs []*analyzer.Finding) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(csvHeader); err != nil {
		return err
	}
	row := make([]string, len(csvHeader))
	for _, f := range fs {
		row = append(row[:0], f.Severity, f.Finding, f.Host, f.NameSource, f.Service, f.Section, f.Client, f.ClientMAC, f.Process,
			f.Server, strconv.Itoa(int(f.Port)), f.Proto, strconv.Itoa(f.Count), f.First, f.Last, f.Evidence, f.Advice, f.CommunityID)
		for i, c := range row {
			row[i] = csvCell(c)
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// csvCell escapes a cell that starts with a character spreadsheets take as
// the start of a formula (= + - @, tab, carriage return) by putting a single
// quote before it, as OWASP's "CSV Injection" advice says; the CSV writer
// then quotes the cell as needed. Names and evidence from the capture are
// the attacker's to choose.
func csvCell(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + s
	}
	return s
}

// progress draws a bar on stderr for large files when stderr is a terminal.
type progress struct {
	w           io.Writer
	on          bool
	drawn       bool
	lastPc      int
	start, last time.Time
}

func newProgress(w io.Writer, quiet bool) *progress {
	f, ok := w.(*os.File)
	return &progress{w: w, on: !quiet && ok && isatty.IsTerminal(f.Fd())}
}

// stream shows how much of a stream (stdin, a FIFO) was read: a progress
// line with bytes, packets and the rate, at most a few times a second.
func (p *progress) stream(name string, bytes int64, eng *analyzer.Engine) {
	if !p.on {
		return
	}
	now := time.Now()
	if p.start.IsZero() {
		p.start = now
	}
	if now.Sub(p.last) < 250*time.Millisecond {
		return
	}
	p.last, p.drawn = now, true
	el := now.Sub(p.start).Seconds()
	rate := ""
	if el > 0.5 {
		rate = ", " + humanBytes(float64(bytes)/el) + "/s"
	}
	fmt.Fprintf(p.w, "\r\x1b[K%s: %s read, %d packets%s", clean(name), humanBytes(float64(bytes)), eng.PacketsRead(), rate)
}

// humanBytes writes a byte count with a binary unit.
func humanBytes(n float64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB"}
	i := 0
	for n >= 1024 && i < len(units)-1 {
		n /= 1024
		i++
	}
	if i == 0 {
		return strconv.FormatFloat(n, 'f', 0, 64) + " B"
	}
	return strconv.FormatFloat(n, 'f', 1, 64) + " " + units[i]
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
	if l == nil || !highLoss(l, nil) {
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
