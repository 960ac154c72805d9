package htmlreport_test

import (
	"bytes"
	"strconv"
	"testing"
	"time"

	"golang.org/x/net/html"

	"orchard/analyzer"
	"orchard/htmlreport"
)

// TestLargeReport: a report at the analyzer's tracking cap (65536
// findings over thousands of devices) gives a page of bounded size, fast.
func TestLargeReport(t *testing.T) {
	if testing.Short() {
		t.Skip("large report")
	}
	r := largeReport()
	start := time.Now()
	var buf bytes.Buffer
	if err := htmlreport.Render(&buf, r, htmlreport.Options{}); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	t.Logf("%d findings, %d devices: %d bytes in %v", len(r.Findings), len(r.Devices), buf.Len(), took)
	if buf.Len() > 16<<20 {
		t.Errorf("page of %d MiB", buf.Len()>>20)
	}
	if took > 20*time.Second {
		t.Errorf("took %v", took)
	}
	doc, err := html.Parse(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if bad := danglingLinks(doc); len(bad) > 0 {
		t.Errorf("%d links to nowhere, such as %v", len(bad), bad[0])
	}
	if n := len(elements(doc, "article")); n != 1000 {
		t.Errorf("%d finding cards, want the 1000 most severe", n)
	}
	// The page says the index is cut, and not that what it leaves out is
	// less severe: a third of the findings are errors, more than the cards.
	for _, want := range []string{"The 1000 most severe of 65536 findings", "64536 more findings, none more severe than those above, are not shown"} {
		if !bytes.Contains(buf.Bytes(), []byte(want)) {
			t.Errorf("the page does not say %q", want)
		}
	}
}

// largeReport is a report at the analyzer's tracking cap: 65536 findings
// over 5000 devices, a third of each severity.
func largeReport() *analyzer.Report {
	r := &analyzer.Report{Capture: analyzer.CaptureInfo{Files: []string{"big.pcap"}, First: "2026-11-02T08:00:00Z", Last: "2026-11-02T20:00:00Z", Duration: 43200}}
	sevs := []string{"error", "warn", "info"}
	for i := range 65536 {
		dev := "10.1." + strconv.Itoa(i%5000/250) + "." + strconv.Itoa(i%250)
		at := time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC).Add(time.Duration(i) * 600 * time.Millisecond).Format(time.RFC3339Nano)
		r.Findings = append(r.Findings, &analyzer.Finding{
			Finding: "tcp.syn_unanswered", Severity: sevs[i*3/65536], Host: strconv.Itoa(i) + "-courier.push.apple.com",
			Section: "Device management", Client: dev, Server: "17.57.144." + strconv.Itoa(i%256), Port: 5223, Proto: "tcp",
			Count: 1, First: at, Last: at, Evidence: "4 SYNs over 7.0s, no reply",
		})
	}
	for i := range 5000 {
		r.Devices = append(r.Devices, &analyzer.DeviceSummary{Address: "10.1." + strconv.Itoa(i/250) + "." + strconv.Itoa(i%250), Findings: 13})
	}
	return r
}
