package main

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/mattn/go-runewidth"
	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/tw"

	"orchard/analyzer"
)

// The terminal report's layout. Its width is COLUMNS when set, else the
// terminal's; piped output without COLUMNS is laid out for pipeWidth
// columns, so scripts and diffs see a stable layout. Findings are a table
// with the evidence (and the advice under it) wrapped in the last column
// when that column gets at least minEvidence columns; otherwise each
// finding is a block of lines: severity, finding and host; service, server,
// process and count; the evidence; the advice. The tables are tablewriter's
// (newReportTable), their columns fitted to the width by fitColumns; the
// service and device tables too become blocks on a terminal too narrow
// for them.
const (
	pipeWidth   = 120
	minWidth    = 40
	maxWidth    = 400
	minEvidence = 48
	blockIndent = 7
	// The service table's section column: with fewer columns each section
	// is a block of lines.
	minSection = 16
	// The devices table's process column: with fewer columns the MAC goes
	// under the address, with fewer than minBlockProcesses each device is a
	// block of lines; at most processLines lines of names.
	minProcesses      = 24
	minBlockProcesses = 16
	processLines      = 3
)

// tableOptions says how to lay out the terminal report.
type tableOptions struct {
	by          string // "service" or "device"
	color       bool
	width       int
	nothingRead bool // every input failed: no verdict
	snapshot    bool // a live report so far: open flows are not judged yet
	narrowed    bool // a filter, --device or a time window was given
}

// reportWidth is the layout width for the report written to w.
func reportWidth(w io.Writer) int {
	if c, err := strconv.Atoi(os.Getenv("COLUMNS")); err == nil && c > 0 {
		return max(minWidth, min(c, maxWidth))
	}
	if f, ok := w.(*os.File); ok {
		if c := termWidth(f); c > 0 {
			return max(minWidth, min(c, maxWidth))
		}
	}
	return pipeWidth
}

// writeTable renders the terminal report: header, findings, then services
// (or devices with --by device).
func writeTable(w io.Writer, r *analyzer.Report, opt tableOptions) {
	if opt.width <= 0 {
		opt.width = pipeWidth
	}
	writeHeader(w, r.Capture, opt.width)
	switch {
	case opt.snapshot && len(r.Findings) == 0:
		fmt.Fprintln(w, "No findings so far.")
	case opt.nothingRead:
		fmt.Fprintln(w, "Nothing could be read (see the errors above): no verdict.")
		return
	case r.Capture.Packets == 0 && opt.narrowed:
		fmt.Fprintln(w, "No packet matched the filter, --device, --since or --until: no verdict.")
		return
	case r.Capture.Packets == 0:
		fmt.Fprintln(w, "The capture holds no packets: no verdict.")
		return
	case len(r.Findings) == 0 && r.Capture.AppleFlows == 0:
		fmt.Fprintln(w, "No Apple traffic in this capture: nothing to judge.")
		return
	case len(r.Findings) == 0:
		fmt.Fprintf(w, "No findings: the %d Apple connection%s seen worked.\n", r.Capture.AppleFlows, plural(int(r.Capture.AppleFlows)))
	default:
		writeFindings(w, r.Findings, opt)
	}
	fmt.Fprintln(w)
	if opt.by == "device" {
		writeDevices(w, r.Devices, opt)
		return
	}
	writeServices(w, r.Services, opt)
}

func writeHeader(w io.Writer, c analyzer.CaptureInfo, width int) {
	line := func(indent, text string) {
		for i, l := range wrap(text, width-len(indent)-2) {
			if i > 0 {
				l = "  " + l
			}
			fmt.Fprintf(w, "%s%s\n", indent, l)
		}
	}
	line("", "orchard: "+clean(strings.Join(c.Files, ", ")))
	if c.First != "" {
		line("  ", fmt.Sprintf("%s → %s (%s)", c.First, c.Last, humanDur(c.Duration)))
	}
	counts := fmt.Sprintf("%d packets, %d flows, %d to Apple, %d device%s", c.Packets, c.Flows, c.AppleFlows, c.Devices, plural(c.Devices))
	if c.Stats.Malformed > 0 || c.Stats.Undecodable > 0 {
		counts += fmt.Sprintf("; %d undecodable, %d malformed messages", c.Stats.Undecodable, c.Stats.Malformed)
	}
	line("  ", counts)
	if l := c.Live; l != nil {
		line("  ", fmt.Sprintf("live on %s: %d received, %d dropped by the kernel, %d by the interface", l.Interface, l.Received, l.DroppedKernel, l.DroppedIface))
	}
	if v := c.Visibility.Statement; v != "" {
		line("  ", "visibility: "+clean(v))
	}
	for _, s := range c.Warnings {
		line("  ", "warning: "+clean(s))
	}
	for _, s := range c.Errors {
		line("  ", "error: "+clean(s))
	}
	fmt.Fprintln(w)
}

// findingCells are one finding's texts, cleaned for the terminal.
type findingCells struct {
	sev, name, host, service, server, device, count, evidence, advice string
}

func cellsOf(f *analyzer.Finding, showDev bool) findingCells {
	host := f.Host
	if f.NameSource != "" && f.NameSource != analyzer.SourceIP {
		host += " [" + f.NameSource + "]"
	}
	dev := f.Process
	if showDev {
		dev = f.Client
		if f.Process != "" {
			dev += " (" + f.Process + ")"
		}
	}
	return findingCells{
		sev: f.Severity, name: clean(f.Finding), host: clean(host), service: clean(f.Section),
		server: clean(hostPort(f.Server, f.Port, f.Proto)), device: clean(dev), count: strconv.Itoa(f.Count),
		evidence: clean(f.Evidence), advice: clean(f.Advice),
	}
}

func writeFindings(w io.Writer, fs []*analyzer.Finding, opt tableOptions) {
	clients := map[string]bool{}
	procs := false
	for _, f := range fs {
		clients[f.Client] = true
		procs = procs || f.Process != ""
	}
	// One device: it is named in the heading, not on every row.
	showDev := len(clients) > 1 || opt.by == "device"
	fmt.Fprintf(w, "Findings (%d)", len(fs))
	if !showDev {
		for c := range clients {
			fmt.Fprintf(w, " for device %s", clean(c))
		}
	}
	fmt.Fprintln(w)
	cells := make([]findingCells, len(fs))
	for i, f := range fs {
		cells[i] = cellsOf(f, showDev)
	}
	devHead := ""
	switch {
	case showDev:
		devHead = "DEVICE"
	case procs:
		devHead = "PROCESS"
	}
	if writeFindingTable(w, cells, devHead, opt) {
		return
	}
	for i, c := range cells {
		if i > 0 {
			fmt.Fprintln(w)
		}
		writeFindingBlock(w, c, opt)
	}
}

// writeFindingBlock writes one finding as a block of lines.
func writeFindingBlock(w io.Writer, c findingCells, opt tableOptions) {
	text := opt.width - blockIndent
	pad := strings.Repeat(" ", blockIndent)
	first := []string{c.name, c.host}
	second := []string{c.service, c.server, c.device}
	if c.count != "1" {
		second = append(second, "seen "+c.count+" times")
	}
	fmt.Fprintf(w, "%s  ", paint(opt.color, c.sev, padRight(c.sev, blockIndent-2)))
	writeJoined(w, first, text, pad, false)
	writeJoined(w, second, text, pad, true)
	for _, l := range wrap(c.evidence, text) {
		fmt.Fprintf(w, "%s%s\n", pad, l)
	}
	if c.advice != "" {
		for i, l := range wrap("→ "+c.advice, text-2) {
			if i > 0 {
				l = "  " + l
			}
			fmt.Fprintf(w, "%s%s\n", pad, l)
		}
	}
}

// writeJoined writes the non-empty parts joined by " · ", breaking lines
// between parts (and inside a part longer than a line).
func writeJoined(w io.Writer, parts []string, width int, pad string, indentFirst bool) {
	line := ""
	flush := func() {
		if indentFirst {
			fmt.Fprint(w, pad)
		}
		fmt.Fprintln(w, line)
		indentFirst, line = true, ""
	}
	for _, p := range parts {
		if p == "" {
			continue
		}
		switch {
		case line == "":
			line = p
		case strWidth(line)+3+strWidth(p) <= width:
			line += " · " + p
		default:
			flush()
			line = p
		}
		for strWidth(line) > width {
			l := wrap(line, width)
			line = strings.Join(l[1:], " ")
			saved := line
			line = l[0]
			flush()
			line = saved
		}
	}
	if line != "" {
		flush()
	}
}

// writeFindingTable writes the findings as a table when the terminal is
// wide enough for the evidence column; it returns false when not. The
// evidence, with the advice under it, is wrapped inside its cell.
func writeFindingTable(w io.Writer, cells []findingCells, devHead string, opt tableOptions) bool {
	type column struct {
		head string
		val  func(c findingCells) string
	}
	all := []column{
		{"SEVERITY", func(c findingCells) string { return c.sev }},
		{"FINDING", func(c findingCells) string { return c.name }},
		{"HOST", func(c findingCells) string { return c.host }},
		{"SERVICE", func(c findingCells) string { return c.service }},
		{"SERVER:PORT", func(c findingCells) string { return c.server }},
		{devHead, func(c findingCells) string { return c.device }},
		{"COUNT", func(c findingCells) string { return c.count }},
		{"EVIDENCE", evidenceText},
	}
	if devHead == "" {
		all = slices.Delete(all, 5, 6)
	}
	layout := func(cols []column) ([]int, bool) {
		natural := make([]int, len(cols))
		for i, col := range cols {
			natural[i] = textWidth(col.head)
			for _, c := range cells {
				natural[i] = max(natural[i], textWidth(strings.Split(col.val(c), "\n")...))
			}
		}
		return fitColumns(natural, opt.width, minEvidence)
	}
	cols := all
	widths, ok := layout(cols)
	if !ok {
		// The service is in the service table too.
		cols = slices.Delete(slices.Clone(all), 3, 4)
		if widths, ok = layout(cols); !ok {
			return false
		}
	}
	t := newReportTable(w, columnOptions(widths), rowLines)
	head := make([]any, len(cols))
	for i, col := range cols {
		head[i] = col.head
	}
	t.Header(head...)
	for _, c := range cells {
		row := make([]any, len(cols))
		for i, col := range cols {
			row[i] = col.val(c)
		}
		row[0] = paint(opt.color, c.sev, c.sev)
		row[len(row)-1] = breakWords(evidenceText(c), widths[len(widths)-1])
		_ = t.Append(row...)
	}
	_ = t.Render()
	return true
}

// evidenceText is a finding's evidence cell: the evidence, and the advice
// on the line under it.
func evidenceText(c findingCells) string {
	if c.advice == "" {
		return c.evidence
	}
	return c.evidence + "\n→ " + c.advice
}

// writeServices writes the service table: verdict, counts, and the section
// with the hosts seen under it, shortened to the width.
func writeServices(w io.Writer, ss []analyzer.ServiceSummary, opt tableOptions) {
	fmt.Fprintln(w, "Apple services")
	var seen []analyzer.ServiceSummary
	for _, s := range ss {
		if s.Verdict != "UNSEEN" {
			seen = append(seen, s)
		}
	}
	if len(seen) > 0 && !writeServiceTable(w, seen, opt) {
		writeServiceBlocks(w, seen, opt)
	}
	if unseen := len(ss) - len(seen); unseen > 0 {
		for _, l := range wrap(strconv.Itoa(unseen)+" more section"+plural(unseen)+" had no traffic in this capture (UNSEEN; see --format json).", opt.width) {
			fmt.Fprintln(w, l)
		}
	}
}

// writeServiceTable writes the service table when the terminal is wide
// enough for the section column; it returns false when not.
func writeServiceTable(w io.Writer, seen []analyzer.ServiceSummary, opt tableOptions) bool {
	natural := []int{len("INTERCEPTED"), len("OK"), len("FAILED"), len("SECTION / HOSTS SEEN")}
	for _, s := range seen {
		natural[1] = max(natural[1], len(strconv.Itoa(s.OK)))
		natural[2] = max(natural[2], len(strconv.Itoa(s.Failed)))
		natural[3] = max(natural[3], textWidth(clean(s.Section), clean(strings.Join(s.Hosts, ", "))))
	}
	widths, ok := fitColumns(natural, opt.width, minSection)
	if !ok {
		return false
	}
	text := widths[3]
	t := newReportTable(w, columnOptions(widths), rowLines, tablewriter.WithRowAlignmentConfig(tw.CellAlignment{
		PerColumn: []tw.Align{tw.AlignLeft, tw.AlignRight, tw.AlignRight, tw.AlignLeft},
	}))
	t.Header("VERDICT", "OK", "FAILED", "SECTION / HOSTS SEEN")
	for _, s := range seen {
		cell := truncate(clean(s.Section), text)
		if len(s.Hosts) > 0 {
			cell += "\n" + hostList(s.Hosts, text)
		}
		_ = t.Append(paint(opt.color, s.Verdict, s.Verdict), strconv.Itoa(s.OK), strconv.Itoa(s.Failed), cell)
	}
	_ = t.Render()
	return true
}

// writeServiceBlocks writes each section as a block of lines, for
// terminals too narrow for the service table.
func writeServiceBlocks(w io.Writer, seen []analyzer.ServiceSummary, opt tableOptions) {
	text := opt.width - blockIndent
	pad := strings.Repeat(" ", blockIndent)
	for _, s := range seen {
		fmt.Fprintf(w, "%s · %s\n", paint(opt.color, s.Verdict, s.Verdict), truncate(clean(s.Section), opt.width-len(s.Verdict)-3))
		writeJoined(w, []string{strconv.Itoa(s.OK) + " OK", strconv.Itoa(s.Failed) + " failed"}, text, pad, true)
		if len(s.Hosts) > 0 {
			fmt.Fprintf(w, "%s%s\n", pad, hostList(s.Hosts, text))
		}
	}
}

// writeDevices writes the device table (--by device), each device's
// processes in the last column, shortened to the width.
func writeDevices(w io.Writer, ds []*analyzer.DeviceSummary, opt tableOptions) {
	fmt.Fprintln(w, "Devices")
	if len(ds) == 0 {
		return
	}
	heads := []any{"DEVICE", "MAC", "FLOWS", "APPLE", "FAILED", "FINDINGS", "PROCESSES"}
	natural := make([]int, len(heads))
	for i, h := range heads {
		natural[i] = len(h.(string))
	}
	for _, d := range ds {
		for i, v := range []string{clean(d.Address), clean(d.MAC), strconv.Itoa(d.Flows), strconv.Itoa(d.AppleFlows), strconv.Itoa(d.Failed), strconv.Itoa(d.Findings)} {
			natural[i] = max(natural[i], textWidth(v))
		}
		natural[6] = max(natural[6], textWidth(clean(strings.Join(d.Processes, ", "))))
	}
	// Narrow: the MAC goes under the address, leaving the processes room.
	stacked := false
	widths, ok := fitColumns(natural, opt.width, minProcesses)
	if !ok {
		stacked = true
		heads = slices.Delete(heads, 1, 2)
		heads[0] = "DEVICE / MAC"
		natural[0] = max(natural[0], natural[1], len("DEVICE / MAC"))
		natural = slices.Delete(natural, 1, 2)
		if widths, ok = fitColumns(natural, opt.width, minBlockProcesses); !ok {
			writeDeviceBlocks(w, ds, opt)
			return
		}
	}
	last := len(widths) - 1
	aligns := []tw.Align{tw.AlignLeft, tw.AlignLeft, tw.AlignRight, tw.AlignRight, tw.AlignRight, tw.AlignRight, tw.AlignLeft}
	if stacked {
		aligns = slices.Delete(aligns, 1, 2)
	}
	t := newReportTable(w, columnOptions(widths), rowLines, tablewriter.WithRowAlignmentConfig(tw.CellAlignment{PerColumn: aligns}))
	t.Header(heads...)
	for _, d := range ds {
		row := []any{clean(d.Address), clean(d.MAC)}
		if stacked {
			row = []any{clean(d.Address) + "\n" + clean(d.MAC)}
		}
		row = append(row, strconv.Itoa(d.Flows), strconv.Itoa(d.AppleFlows), strconv.Itoa(d.Failed), strconv.Itoa(d.Findings),
			strings.Join(listLines(d.Processes, widths[last], processLines), "\n"))
		_ = t.Append(row...)
	}
	_ = t.Render()
}

// writeDeviceBlocks writes each device as a block of lines, for terminals
// too narrow for the device table.
func writeDeviceBlocks(w io.Writer, ds []*analyzer.DeviceSummary, opt tableOptions) {
	text := opt.width - blockIndent
	pad := strings.Repeat(" ", blockIndent)
	for _, d := range ds {
		writeJoined(w, []string{clean(d.Address), clean(d.MAC)}, opt.width, pad, false)
		counts := []string{strconv.Itoa(d.Flows) + " flows", strconv.Itoa(d.AppleFlows) + " to Apple",
			strconv.Itoa(d.Failed) + " failed", strconv.Itoa(d.Findings) + " findings"}
		writeJoined(w, counts, text, pad, true)
		if len(d.Processes) > 0 {
			fmt.Fprintf(w, "%sprocesses: %s\n", pad, hostList(d.Processes, text-len("processes: ")))
		}
	}
}

// listLines lays names out as "a, b, c" over at most lines lines of width
// columns, the last ending with "+N more" for those that did not fit.
func listLines(names []string, width, lines int) []string {
	names = slices.Clone(names)
	for i, n := range names {
		names[i] = clean(n)
	}
	var out []string
	for len(names) > 0 && len(out) < lines {
		n := 1
		for n < len(names) {
			comma := 0 // the line ends with a comma unless the names end on it
			if n+1 < len(names) {
				comma = 1
			}
			if strWidth(strings.Join(names[:n+1], ", "))+comma > width {
				break
			}
			n++
		}
		if len(out) == lines-1 && n < len(names) {
			out = append(out, hostList(names, width))
			return out
		}
		line := truncate(strings.Join(names[:n], ", "), width)
		if n < len(names) {
			line = truncate(strings.Join(names[:n], ", "), width-1) + ","
		}
		out = append(out, line)
		names = names[n:]
	}
	return out
}

// hostList joins names with ", " within width columns, ending with "+N
// more" for those that did not fit.
func hostList(h []string, width int) string {
	out := ""
	for i, s := range h {
		s = clean(s)
		next := s
		if out != "" {
			next = out + ", " + s
		}
		rest := ""
		if i < len(h)-1 {
			rest = ", +" + strconv.Itoa(len(h)-1-i) + " more"
		}
		switch {
		case strWidth(next)+len(rest) <= width:
			out = next
		case out == "":
			return truncate(s, width-len(rest)) + rest
		default:
			// out fitted with this: the names from here on.
			return out + ", +" + strconv.Itoa(len(h)-i) + " more"
		}
	}
	return out
}

// wrap breaks s into lines of at most width columns at spaces, splitting
// words longer than a line.
func wrap(s string, width int) []string {
	width = max(width, 10)
	var lines []string
	line := ""
	for _, word := range strings.Fields(s) {
		for strWidth(word) > width {
			if line != "" {
				lines = append(lines, line)
				line = ""
			}
			head := runewidth.Truncate(word, width, "")
			lines = append(lines, head)
			word = word[len(head):]
		}
		switch {
		case line == "":
			line = word
		case strWidth(line)+1+strWidth(word) <= width:
			line += " " + word
		default:
			lines = append(lines, line)
			line = word
		}
	}
	if line != "" || len(lines) == 0 {
		lines = append(lines, line)
	}
	return lines
}

func truncate(s string, width int) string {
	return runewidth.Truncate(s, max(width, 4), "…")
}

func padRight(s string, width int) string {
	return runewidth.FillRight(s, width)
}

// clean makes a text from the capture safe for a terminal: control
// characters (escape sequences a crafted DNS name could carry) are shown as
// \xNN instead of being sent to the terminal.
func clean(s string) string {
	ok := true
	for _, r := range s {
		if unicode.IsControl(r) || r == unicode.ReplacementChar {
			ok = false
			break
		}
	}
	if ok {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if unicode.IsControl(r) || r == unicode.ReplacementChar {
			if r < 0x100 && r != unicode.ReplacementChar {
				fmt.Fprintf(&b, `\x%02x`, r)
			} else {
				b.WriteRune('?')
			}
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
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

// humanDur writes a duration in seconds the way people say it: 53.4s,
// 4m05s, 3h07m, 2d3h.
func humanDur(s float64) string {
	switch {
	case s < 60:
		return strconv.FormatFloat(s, 'f', 1, 64) + "s"
	case s < 3600:
		return fmt.Sprintf("%dm%02ds", int(s)/60, int(s)%60)
	case s < 86400:
		return fmt.Sprintf("%dh%02dm", int(s)/3600, int(s)%3600/60)
	}
	d := int64(s) / 86400
	if h := int64(s) % 86400 / 3600; h > 0 {
		return fmt.Sprintf("%dd%dh", d, h)
	}
	return fmt.Sprintf("%dd", d)
}
