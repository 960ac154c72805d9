package eventjson_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"

	"orchard/analyzer"
	"orchard/eventjson"
	"orchard/internal/filltest"
	"orchard/internal/sharedtest"
	"orchard/report"
)

// stdReport is what --format json wrote before WriteReport: the whole
// report through one encoding/json Encoder, indented, HTML escaping off.
func stdReport(t testing.TB, r *report.Report) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func writeReport(t testing.TB, r *report.Report) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := eventjson.WriteReport(&buf, r); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// filledReport has every field of every element set.
func filledReport() *report.Report {
	var r report.Report
	filltest.Fill(&r)
	return &r
}

// demoReport is the report of the bundled demo capture.
func demoReport(t testing.TB) *report.Report {
	t.Helper()
	e, err := analyzer.New(analyzer.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.ReadFile(context.Background(), filepath.Join("..", "testdata", "demo-ipad.pcap"), nil); err != nil {
		t.Fatal(err)
	}
	return e.Finish()
}

// largeReport has n findings, hosts and devices with varied fields, some
// empty and some needing escapes, so element boundaries fall everywhere
// in the chunks.
func largeReport(n int) *report.Report {
	r := filledReport()
	r.Findings, r.Hosts, r.Devices = nil, nil, nil
	for i := range n {
		s := strconv.Itoa(i)
		odd := i%2 == 1
		f := &report.Finding{Type: "finding", Finding: "tcp.syn_unanswered", Severity: "error", Host: "h" + s + ".apple.com",
			Client: "10.0." + s, Proto: "tcp", Count: i, First: "2026-01-01T00:00:00Z", Last: "2026-01-01T00:00:0" + s + "Z",
			Evidence: "4 SYNs over 7.0s, no reply \"" + s + "\"\n"}
		if odd {
			f.Port, f.Server, f.Process, f.Advice, f.Undecided = uint16(i), "17.0.0."+s, "apsd\x00", "→ allow <it>", "end of capture"
		}
		r.Findings = append(r.Findings, f)
		h := &report.HostSummary{Host: "h" + s, NameSource: "sni", Ports: []string{"443/tcp"}, Flows: i}
		switch i % 3 {
		case 1:
			h.Ports, h.Servers, h.Findings = nil, []string{}, []string{"a", "b\u2028"}
		case 2:
			h.Ports, h.Servers, h.Service = []string{}, []string{"17.0.0.1", "17.0.0.2"}, "Push"
		}
		r.Hosts = append(r.Hosts, h)
		d := &report.DeviceSummary{Address: "10.1." + s, Flows: i, Findings: i % 7}
		if odd {
			d.MAC, d.Processes = "aa:bb:cc:dd:ee:ff", []string{"apsd", "\xff"}
		}
		r.Devices = append(r.Devices, d)
	}
	return r
}

func TestWriteReportMatchesEncodingJSON(t *testing.T) {
	empty := func() *report.Report {
		return &report.Report{Findings: []*report.Finding{}, Services: []report.ServiceSummary{}, Hosts: []*report.HostSummary{}, Devices: []*report.DeviceSummary{}}
	}
	zeroElems := &report.Report{
		Findings: []*report.Finding{{}, nil},
		Services: []report.ServiceSummary{{}, {Hosts: []string{}}},
		Hosts:    []*report.HostSummary{{}, nil, {Ports: []string{}, Servers: []string{""}, Findings: []string{}}},
		Devices:  []*report.DeviceSummary{{}, nil, {Processes: []string{}}},
	}
	tests := []struct {
		name string
		r    *report.Report
	}{
		{"every field", filledReport()},
		{"zero report", &report.Report{}},
		{"empty arrays", empty()},
		{"zero elements", zeroElems},
		{"demo", demoReport(t)},
		{"large", largeReport(20_000)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, want := writeReport(t, tc.r), stdReport(t, tc.r)
			if !bytes.Equal(got, want) {
				i := 0
				for i < len(got) && i < len(want) && got[i] == want[i] {
					i++
				}
				lo := max(0, i-200)
				t.Fatalf("differs from encoding/json at byte %d of %d/%d:\n got  …%s…\n want …%s…", i, len(got), len(want),
					got[lo:min(len(got), i+100)], want[lo:min(len(want), i+100)])
			}
		})
	}
}

// TestWriteReportRealCaptures compares WriteReport with encoding/json on
// the report of every shared capture (all hosts, so the host list is full).
func TestWriteReportRealCaptures(t *testing.T) {
	if sharedtest.Optional("pcaps") == "" {
		t.Skip("no shared captures")
	}
	files, bytesOut := sharedtest.Pcaps(t), 0
	for _, f := range files {
		e, err := analyzer.New(analyzer.Config{AllHosts: true})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.ReadFile(context.Background(), f, nil); err != nil {
			t.Logf("%s: %v", f, err)
		}
		r := e.Finish()
		got, want := writeReport(t, r), stdReport(t, r)
		if !bytes.Equal(got, want) {
			t.Errorf("%s: the report differs from encoding/json's (%d and %d bytes)", filepath.Base(f), len(got), len(want))
		}
		bytesOut += len(want)
	}
	t.Logf("%d reports alike, %d bytes", len(files), bytesOut)
}

// failWriter fails every write after the first ok bytes.
type failWriter struct {
	ok, n, writes, after int
}

var errFull = errors.New("no space left on device")

func (w *failWriter) Write(p []byte) (int, error) {
	w.writes++
	if w.n >= w.ok {
		w.after++
		return 0, errFull
	}
	w.n += len(p)
	return len(p), nil
}

func TestWriteReportErrors(t *testing.T) {
	r := largeReport(5_000)
	for _, ok := range []int{0, 1, 100 << 10, 1 << 20} {
		w := &failWriter{ok: ok}
		if err := eventjson.WriteReport(w, r); !errors.Is(err, errFull) {
			t.Errorf("failing after %d bytes: error %v, want %v", ok, err, errFull)
		}
		if w.after != 1 {
			t.Errorf("failing after %d bytes: %d writes after the first failure", ok, w.after-1)
		}
	}
	bad := filledReport()
	bad.Capture.Duration = math.NaN()
	var buf bytes.Buffer
	if err := eventjson.WriteReport(&buf, bad); err == nil || buf.Len() != 0 {
		t.Errorf("NaN duration: error %v after %d bytes, want an error and nothing written", err, buf.Len())
	}
}

// chunkWriter records the largest write.
type chunkWriter struct{ n, largest int }

func (w *chunkWriter) Write(p []byte) (int, error) {
	w.n += len(p)
	w.largest = max(w.largest, len(p))
	return len(p), nil
}

// TestWriteReportBounded checks that writing a large report allocates a
// bounded amount, whatever its size, and writes in bounded chunks.
func TestWriteReportBounded(t *testing.T) {
	r := largeReport(100_000)
	w := &chunkWriter{}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	if err := eventjson.WriteReport(w, r); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("%d bytes written in chunks of at most %d, %d bytes allocated", w.n, w.largest, alloc)
	if w.n < 20<<20 {
		t.Fatalf("only %d bytes written", w.n)
	}
	if alloc > 1<<20 {
		t.Errorf("%d bytes allocated to write %d", alloc, w.n)
	}
	if w.largest > 80<<10 {
		t.Errorf("a write of %d bytes", w.largest)
	}
}

func FuzzWriteReport(f *testing.F) {
	f.Add("tcp.reset", "x<&>\"\\\n\x01é\u2028", "", 3, uint16(443), true)
	f.Add("", "\xff\xfe", "apsd", 0, uint16(0), false)
	f.Fuzz(func(t *testing.T, a, b, c string, n int, port uint16, nilSlices bool) {
		r := &report.Report{
			Capture:  report.CaptureInfo{Files: []string{a}, First: b, Warnings: []string{c}},
			Findings: []*report.Finding{{Finding: a, Host: b, Process: c, Count: n, Port: port, Evidence: a + b}},
			Services: []report.ServiceSummary{{Section: a, Hosts: []string{b, c}, Undecided: n}},
			Hosts:    []*report.HostSummary{{Host: a, Ports: []string{c}, Findings: []string{b}, Failed: n}},
			Devices:  []*report.DeviceSummary{{Address: a, MAC: b, Processes: []string{c}, Findings: n}},
		}
		if nilSlices {
			r.Services[0].Hosts, r.Hosts[0].Ports, r.Devices[0].Processes = nil, []string{}, nil
		}
		if got, want := writeReport(t, r), stdReport(t, r); !bytes.Equal(got, want) {
			t.Fatalf("got\n%s\nwant\n%s", got, want)
		}
	})
}

func BenchmarkWriteReport(b *testing.B) {
	r := largeReport(65_536)
	b.Run("eventjson", func(b *testing.B) {
		w := &chunkWriter{}
		for b.Loop() {
			if err := eventjson.WriteReport(w, r); err != nil {
				b.Fatal(err)
			}
		}
		b.SetBytes(int64(w.n / b.N))
	})
	b.Run("encoding/json", func(b *testing.B) {
		w := &chunkWriter{}
		for b.Loop() {
			enc := json.NewEncoder(w)
			enc.SetEscapeHTML(false)
			enc.SetIndent("", "  ")
			if err := enc.Encode(r); err != nil {
				b.Fatal(err)
			}
		}
		b.SetBytes(int64(w.n / b.N))
	})
}
