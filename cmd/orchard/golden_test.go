package main

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/gopacket/gopacket/pcapgo"
	"github.com/mattn/go-runewidth"

	"orchard/analyzer"
	"orchard/capture"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test ./cmd/orchard -run Golden -update writes it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs (go test ./cmd/orchard -run Golden -update after a deliberate change):\n%s", name, firstDiffLine(got, string(want)))
	}
}

// TestGoldenTable checks the demo's terminal report at 80, 120 and 200
// columns against golden files, and that no line is wider than asked.
func TestGoldenTable(t *testing.T) {
	for _, c := range []struct {
		cols, file string
		args       []string
	}{
		{"80", "demo-80.txt", nil},
		{"120", "demo-120.txt", nil},
		{"200", "demo-200.txt", nil},
		{"80", "demo-by-device-80.txt", []string{"--by", "device"}},
	} {
		t.Run(c.file, func(t *testing.T) {
			t.Setenv("COLUMNS", c.cols)
			out, _, code := runCLI(t, nil, append(append([]string{"--no-color"}, c.args...), demoPcap)...)
			if code != exitOK {
				t.Fatalf("exit %d", code)
			}
			limit, _ := strconv.Atoi(c.cols)
			for i, l := range strings.Split(out, "\n") {
				if w := runewidth.StringWidth(l); w > limit {
					t.Errorf("line %d is %d columns wide, more than %d: %q", i+1, w, limit, l)
				}
			}
			golden(t, c.file, out)
		})
	}
	// Piped without COLUMNS: the stable 120-column layout.
	t.Setenv("COLUMNS", "")
	out, _, _ := runCLI(t, nil, "--no-color", demoPcap)
	want, _ := os.ReadFile(filepath.Join("testdata", "demo-120.txt"))
	if out != string(want) && !*update {
		t.Error("piped output without COLUMNS is not the 120-column layout")
	}
}

// TestTableCleansControlCharacters checks names from the capture cannot
// send escape sequences to the terminal.
func TestTableCleansControlCharacters(t *testing.T) {
	if got := clean("evil\x1b]0;owned\x07.apple.com"); got != `evil\x1b]0;owned\x07.apple.com` {
		t.Errorf("clean: %q", got)
	}
	if got := wrap("a verylongwordthatdoesnotfit here", 10); !slices.Equal(got, []string{"a", "verylongwo", "rdthatdoes", "notfit", "here"}) {
		t.Errorf("wrap: %q", got)
	}
	if got := hostList([]string{"a.apple.com", "b.apple.com", "c.apple.com"}, 30); got != "a.apple.com, +2 more" {
		t.Errorf("hostList: %q", got)
	}
}

func TestHumanDur(t *testing.T) {
	for _, c := range []struct {
		s    float64
		want string
	}{{53.44, "53.4s"}, {245, "4m05s"}, {3*3600 + 7*60, "3h07m"}, {50863*3600 + 37*60, "2119d7h"}, {2*86400 + 3*3600, "2d3h"}, {86400, "1d"}} {
		if got := humanDur(c.s); got != c.want {
			t.Errorf("humanDur(%v) = %q, want %q", c.s, got, c.want)
		}
	}
}

// TestCSVEscapesFormulas checks OWASP's CSV-injection escaping, on cells a
// crafted capture controls.
func TestCSVEscapesFormulas(t *testing.T) {
	evil := []string{`=hyperlink("http://evil").apple.com`, "+1+cmd", "-2+3", "@SUM(A1)", "\tx", "\rx"}
	var fs []*analyzer.Finding
	for _, e := range evil {
		fs = append(fs, &analyzer.Finding{Finding: "dns.failure", Severity: "error", Host: e, Evidence: e + " answered SERVFAIL", Advice: "check DNS"})
	}
	var b bytes.Buffer
	if err := writeFindingsCSV(&b, fs); err != nil {
		t.Fatal(err)
	}
	r := bufioCSV(t, b.String())
	host, adv := slices.Index(r[0], "host"), slices.Index(r[0], "advice")
	if !slices.Equal(r[0], csvHeader) || host < 0 || adv < 0 {
		t.Fatalf("header %v", r[0])
	}
	for i, e := range evil {
		row := r[i+1]
		if row[host] != "'"+e {
			t.Errorf("host cell %q, want %q", row[host], "'"+e)
		}
		if row[adv] != "check DNS" {
			t.Errorf("advice cell %q", row[adv])
		}
	}
	// Numbers and ordinary text are left alone.
	if csvCell("17.57.144.84") != "17.57.144.84" || csvCell("") != "" {
		t.Error("csvCell changed a harmless cell")
	}
}

// TestEventsEqualNDJSON checks --events FILE and --format ndjson give the
// same stream for a file, findings with their final counts.
func TestEventsEqualNDJSON(t *testing.T) {
	ev := filepath.Join(t.TempDir(), "events.ndjson")
	nd, _, code := runCLI(t, nil, "--format", "ndjson", "--events", ev, demoPcap)
	if code != exitOK {
		t.Fatal(code)
	}
	b, err := os.ReadFile(ev)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != nd {
		t.Errorf("--events differs from --format ndjson:\n%s", firstDiffLine(string(b), nd))
	}
	// Findings carry their final counts and times: those of the report.
	js, _, _ := runCLI(t, nil, "--format", "json", demoPcap)
	var rep struct{ Findings []map[string]any }
	if err := json.Unmarshal([]byte(js), &rep); err != nil {
		t.Fatal(err)
	}
	key := func(f map[string]any) string {
		return fmt.Sprint(f["finding"], f["host"], f["client"], f["server"], f["port"], f["count"], f["first"], f["last"])
	}
	want := map[string]bool{}
	for _, f := range rep.Findings {
		want[key(f)] = true
	}
	n := 0
	for _, line := range strings.Split(strings.TrimSpace(nd), "\n") {
		var e map[string]any
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("not JSON: %v: %s", err, line)
		}
		if e["type"] != "finding" {
			continue
		}
		n++
		if !want[key(e)] {
			t.Errorf("stream finding not as in the report (final count and times): %s", line)
		}
	}
	if n != len(rep.Findings) || n == 0 {
		t.Errorf("%d findings in the stream, %d in the report", n, len(rep.Findings))
	}
	// The same with a table report beside it.
	ev2 := filepath.Join(t.TempDir(), "events2.ndjson")
	runCLI(t, nil, "--events", ev2, demoPcap)
	if b2, _ := os.ReadFile(ev2); string(b2) != nd {
		t.Error("--events beside the table differs from --format ndjson")
	}
}

// TestEvidenceOrderAndComments reads the evidence file back (the project's
// reader for the order, pcapgo for the comments) and checks time order and
// that every packet names the finding it supports.
func TestEvidenceOrderAndComments(t *testing.T) {
	ev := filepath.Join(t.TempDir(), "evidence.pcapng")
	for _, w := range []string{"1", "2"} {
		if _, stderr, code := runCLI(t, nil, "--workers", w, "--write-evidence", ev, demoPcap); code != exitOK {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		var last int64
		n := 0
		eachPacket(t, ev, func(p *capture.Packet) {
			if ts := p.Timestamp.UnixNano(); ts < last {
				t.Errorf("packet %d goes back in time", n+1)
			} else {
				last = ts
			}
			n++
		})
		fh, _ := os.Open(ev)
		ng, err := pcapgo.NewNgReader(bufio.NewReader(fh), pcapgo.DefaultNgReaderOptions)
		if err != nil {
			t.Fatal(err)
		}
		comments := map[string]int{}
		for k := 0; ; k++ {
			_, _, opts, err := ng.ReadPacketDataWithOptions()
			if err != nil {
				break
			}
			if len(opts.Comments) == 0 {
				t.Errorf("packet %d has no comment", k+1)
			}
			for _, c := range opts.Comments {
				comments[c]++
			}
		}
		fh.Close()
		for _, want := range []string{"tcp.syn_unanswered 27-courier.push.apple.com:5223", "tls.intercepted mdmenrollment.apple.com:443", "DNS answer naming the host of tcp.syn_unanswered 27-courier.push.apple.com:5223", "dns.sinkhole updates.cdn-apple.com"} {
			if comments[want] == 0 {
				t.Errorf("workers %s: no packet commented %q (have %v)", w, want, comments)
			}
		}
		if comments["tcp.syn_unanswered 27-courier.push.apple.com:5223"] != 4 {
			t.Errorf("the push finding's 4 SYNs: %d packets", comments["tcp.syn_unanswered 27-courier.push.apple.com:5223"])
		}
	}
	if _, err := exec.LookPath("tshark"); err == nil {
		out, err := exec.Command("tshark", "-r", ev, "-T", "fields", "-e", "frame.time_relative", "-e", "frame.comment").Output()
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(out), "\t-") || strings.HasPrefix(string(out), "-") {
			t.Errorf("tshark shows negative relative times:\n%s", out)
		}
		if !strings.Contains(string(out), "tls.intercepted mdmenrollment.apple.com:443") {
			t.Errorf("tshark does not show the comments:\n%.400s", out)
		}
	}
}

func bufioCSV(t *testing.T, s string) [][]string {
	t.Helper()
	r := csv.NewReader(strings.NewReader(s))
	rows, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// eachPacket calls fn for every packet of the capture file name.
func eachPacket(t *testing.T, name string, fn func(p *capture.Packet)) {
	t.Helper()
	f, err := capture.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var p capture.Packet
	for {
		if err := f.Next(&p); err != nil {
			if !errors.Is(err, io.EOF) {
				t.Fatal(err)
			}
			return
		}
		fn(&p)
	}
}

// TestREADMEShowsThe80ColumnDemo checks the README's demo output is the
// demo's report at 80 columns.
func TestREADMEShowsThe80ColumnDemo(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Skip(err)
	}
	const start = "first command prints in an 80-column terminal:\n\n```\n"
	s := string(b)
	i := strings.Index(s, start)
	if i < 0 {
		t.Fatal("README lacks the 80-column demo")
	}
	s = s[i+len(start):]
	s = s[:strings.Index(s, "```\n")]
	want, _ := os.ReadFile(filepath.Join("testdata", "demo-80.txt"))
	if s != strings.Replace(string(want), "orchard: ../../testdata/", "orchard: testdata/", 1) {
		t.Errorf("the README's demo is not the 80-column report:\n%s", firstDiffLine(s, string(want)))
	}
}
