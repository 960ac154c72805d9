package main

import (
	"bytes"
	"encoding/json"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/mattn/go-runewidth"

	"orchard/analyzer"
)

// demoReport is the demo capture's report, read back from --format json,
// with a finding, a section and a device whose names a crafted capture
// controls: escape sequences, a name longer than any column, many hosts
// and processes.
func demoReport(t *testing.T) *analyzer.Report {
	t.Helper()
	out, _, code := runCLI(t, nil, "--format", "json", demoPcap)
	if code != exitOK {
		t.Fatalf("exit %d", code)
	}
	var r analyzer.Report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	if len(r.Findings) == 0 || len(r.Devices) == 0 {
		t.Fatal("the demo report has no findings or no device")
	}
	long := strings.Repeat("x", 150) + ".apple.com"
	r.Findings = append(r.Findings, &analyzer.Finding{
		Finding: "dns.failure", Severity: "warn", Host: "evil\x1b]0;owned\x07.apple.com", NameSource: "dns",
		Section: "Software updates", Client: r.Findings[0].Client, Process: "mDNSResponder",
		Server: "2001:db8::53", Port: 53, Proto: "udp", Count: 12,
		Evidence: long + " A answered SERVFAIL by 2001:db8::53 \x1b[2J", Advice: "check DNS filtering",
	})
	var hosts, procs []string
	for i := range 30 {
		hosts = append(hosts, "host"+strconv.Itoa(i)+".apple.com")
		procs = append(procs, "process"+strconv.Itoa(i))
	}
	r.Services = append(r.Services, analyzer.ServiceSummary{Section: "Evil\x1b[31m section", Hosts: append(hosts, long), OK: 1234, Failed: 56789, Verdict: "BLOCKED"})
	r.Devices = append(r.Devices, &analyzer.DeviceSummary{Address: "2001:db8:1234:5678:9abc:def0:1234:5678", MAC: "3c:22:fb:00:00:01", Processes: procs, Flows: 123456, AppleFlows: 7})
	return &r
}

var ansi = regexp.MustCompile("\x1b\\[[0-9;]*m")

// TestTableFitsEveryWidth lays the report out from 40 to 400 columns, by
// service and by device, with colour and without: no line is wider than
// the width, colour adds escape codes and nothing else, no control
// character from the capture reaches the terminal, and in a findings table
// every row's evidence and advice are whole in the last column.
func TestTableFitsEveryWidth(t *testing.T) {
	r := demoReport(t)
	tables := 0
	for _, width := range []int{40, 48, 60, 64, 72, 80, 96, 100, 120, 150, 175, 200, 260, 400} {
		for _, by := range []string{"service", "device"} {
			t.Run(by+"-"+strconv.Itoa(width), func(t *testing.T) {
				var plain, colored bytes.Buffer
				writeTable(&plain, r, tableOptions{by: by, width: width})
				writeTable(&colored, r, tableOptions{by: by, width: width, color: true})
				if ansi.ReplaceAllString(colored.String(), "") != plain.String() {
					t.Errorf("colour changes more than the escape codes:\n%s", firstDiffLine(ansi.ReplaceAllString(colored.String(), ""), plain.String()))
				}
				if !strings.Contains(colored.String(), "\x1b[31m") {
					t.Error("no colour with colour on")
				}
				out := plain.String()
				if strings.ContainsAny(out, "\x1b\x07") {
					t.Error("a control character reached the output")
				}
				if !strings.Contains(out, `evil\x1b]0;owned\x07.apple.com`) {
					t.Error("the crafted host is not shown escaped")
				}
				for i, l := range strings.Split(out, "\n") {
					if w := runewidth.StringWidth(l); w > width {
						t.Errorf("line %d is %d columns wide, more than %d: %q", i+1, w, width, l)
					}
				}
				if rows := findingRows(out); rows != nil {
					tables++
					checkFindingRows(t, rows, r.Findings, by == "device")
				}
			})
		}
	}
	if tables == 0 {
		t.Error("no width gave a findings table")
	}
}

// findingRows reads the findings table back from a report: each row's
// first and last cell, the lines of a cell joined by spaces. It returns
// nil when the findings are blocks.
func findingRows(out string) [][2]string {
	i := strings.Index(out, "\nFindings (")
	if i < 0 {
		return nil
	}
	lines := strings.Split(out[i+1:], "\n")[1:]
	if len(lines) == 0 || !strings.HasPrefix(lines[0], "┌") {
		return nil
	}
	var rows [][2]string
	var first, last []string
	for _, l := range lines[1:] {
		switch {
		case strings.HasPrefix(l, "│"):
			cells := strings.Split(l, "│")
			first = append(first, strings.Fields(cells[1])...)
			last = append(last, strings.Fields(cells[len(cells)-2])...)
		case strings.HasPrefix(l, "├"), strings.HasPrefix(l, "└"):
			rows = append(rows, [2]string{strings.Join(first, " "), strings.Join(last, " ")})
			first, last = nil, nil
			if strings.HasPrefix(l, "└") {
				return rows[1:] // after the heading
			}
		}
	}
	return nil
}

func checkFindingRows(t *testing.T, rows [][2]string, fs []*analyzer.Finding, byDevice bool) {
	t.Helper()
	if len(rows) != len(fs) {
		t.Fatalf("%d table rows for %d findings", len(rows), len(fs))
	}
	for i, f := range fs {
		want := strings.Join(strings.Fields(clean(f.Evidence)+" → "+clean(f.Advice)), " ")
		// A word longer than the column is split across lines.
		if got := rows[i][1]; strings.ReplaceAll(got, " ", "") != strings.ReplaceAll(want, " ", "") {
			t.Errorf("row %d: evidence cell %q, want %q", i+1, got, want)
		}
		if rows[i][0] != f.Severity {
			t.Errorf("row %d: severity %q, want %q", i+1, rows[i][0], f.Severity)
		}
	}
}

func TestListLines(t *testing.T) {
	names := []string{"captiveagent", "apsd", "mdmd", "mobileassetd", "profiled", "akd"}
	for _, c := range []struct {
		width, lines int
		want         []string
	}{
		{60, 3, []string{"captiveagent, apsd, mdmd, mobileassetd, profiled, akd"}},
		{53, 3, []string{"captiveagent, apsd, mdmd, mobileassetd, profiled, akd"}},
		{52, 3, []string{"captiveagent, apsd, mdmd, mobileassetd, profiled,", "akd"}},
		{20, 3, []string{"captiveagent, apsd,", "mdmd, mobileassetd,", "profiled, akd"}},
		{20, 2, []string{"captiveagent, apsd,", "mdmd, +3 more"}},
		{16, 2, []string{"captiveagent,", "apsd, +4 more"}},
		{14, 1, []string{"capt…, +5 more"}},
	} {
		if got := listLines(names, c.width, c.lines); !slices.Equal(got, c.want) {
			t.Errorf("listLines(%d, %d) = %q, want %q", c.width, c.lines, got, c.want)
		}
		for _, l := range listLines(names, c.width, c.lines) {
			if runewidth.StringWidth(l) > c.width {
				t.Errorf("listLines(%d, %d): %q is wider", c.width, c.lines, l)
			}
		}
	}
	if got := hostList([]string{"27-courier.push.apple.com", "b", "c", "d", "e"}, 33); got != "27-courier.push.apple.c…, +4 more" {
		t.Errorf("hostList: %q", got)
	}
}

func TestBreakWords(t *testing.T) {
	for _, c := range []struct {
		s     string
		width int
		want  string
	}{
		{"short words stay", 10, "short words stay"},
		{"a abcdefghijkl b", 5, "a abcde\nfghij\nkl b"},
		{"line one\nabcdefgh", 4, "line one\nabcd\nefgh"},
		{"abc", 0, "abc"},
	} {
		if got := breakWords(c.s, c.width); got != c.want {
			t.Errorf("breakWords(%q, %d) = %q, want %q", c.s, c.width, got, c.want)
		}
	}
}

// BenchmarkWriteTable renders the demo report (with its crafted rows),
// and one with 1000 findings, at 80 columns (findings as blocks) and 200
// (findings as a table).
func BenchmarkWriteTable(b *testing.B) {
	t := &testing.T{}
	r := demoReport(t)
	big := *r
	for len(big.Findings) < 1000 {
		big.Findings = append(big.Findings, r.Findings...)
	}
	big.Findings = big.Findings[:1000]
	for _, c := range []struct {
		name  string
		r     *analyzer.Report
		width int
	}{{"demo-80", r, 80}, {"demo-200", r, 200}, {"1000-80", &big, 80}, {"1000-200", &big, 200}} {
		b.Run(c.name, func(b *testing.B) {
			var out bytes.Buffer
			for b.Loop() {
				out.Reset()
				writeTable(&out, c.r, tableOptions{width: c.width})
			}
		})
	}
}

// FuzzStrWidth checks that strWidth counts as runewidth.StringWidth does.
func FuzzStrWidth(f *testing.F) {
	for _, s := range []string{"", "plain ascii", "→ The resolver fails", "a·b", "e\u0301x", " \u0301", "\u0600" + "1 x", "#\ufe0f\u20e3 ok",
		"日本語 text", "👩\u200d💻 dev", "\U0001F1EB\U0001F1F7fr", "x\r\ny", "\x1b[31m", "\xff\xfe a", "한국어", "ab\u200dcd", "…"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := strWidth(s), runewidth.StringWidth(s); got != want {
			t.Fatalf("strWidth(%q) = %d, runewidth says %d", s, got, want)
		}
	})
}
