package main

import (
	"context"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"orchard/analyzer"
	"orchard/capture"
	"orchard/fleet"
	"orchard/internal/capgen"
)

var updateFleet = flag.Bool("update-fleet", false, "rewrite the fleet golden files")

// splitDemoSensors writes the demo capture as the captures of three sensors,
// each of which missed one third of its time span (site-a the last,
// site-b the first, site-c the middle): every fault is seen by two.
func splitDemoSensors(t *testing.T, dir string) []string {
	t.Helper()
	f, err := capture.Open(demoPcap)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	type out struct {
		f *os.File
		w *capgen.Writer
	}
	var outs []out
	var names []string
	var start time.Time
	var p capture.Packet
	for {
		err := f.Next(&p)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if outs == nil {
			start = p.Timestamp
			for _, s := range []string{"a", "b", "c"} {
				name := filepath.Join(dir, "site-"+s+".pcap")
				fh, err := os.Create(name)
				if err != nil {
					t.Fatal(err)
				}
				outs = append(outs, out{fh, capgen.NewPcap(fh, p.LinkType)})
				names = append(names, name)
			}
		}
		third := min(int(p.Timestamp.Sub(start)/(18*time.Second)), 2)
		for i, missed := range []int{2, 0, 1} {
			if third == missed {
				continue
			}
			if err := outs[i].w.Write(p.Timestamp, p.Data, 0); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, o := range outs {
		if err := o.w.Err(); err != nil {
			t.Fatal(err)
		}
		o.f.Close()
	}
	return names
}

// fleetReports analyses the three thirds of the demo as sensors site-a,
// site-b and site-c and writes their JSON reports into a folder.
func fleetReports(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, pc := range splitDemoSensors(t, dir) {
		sensor := strings.TrimSuffix(filepath.Base(pc), ".pcap")
		js, stderr, code := runCLI(t, nil, "-q", "--format", "json", "--sensor", sensor, pc)
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", pc, code, stderr)
		}
		if err := os.WriteFile(filepath.Join(dir, sensor+".json"), []byte(js), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *updateFleet {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./cmd/orchard -run FleetGolden -args -update-fleet)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs (rerun with -update-fleet after checking):\n%s", name, got)
	}
}

// TestFleetGolden renders the fleet of three sensors, each of which saw
// two thirds of the demo, in every format.
func TestFleetGolden(t *testing.T) {
	dir := fleetReports(t)
	for _, format := range []string{"table", "json", "csv"} {
		out, stderr, code := runCLI(t, nil, "fleet", "--format", format, dir)
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", format, code, stderr)
		}
		out = strings.ReplaceAll(out, dir+string(filepath.Separator), "REPORTS/")
		checkGolden(t, "fleet-demo."+format, out)
	}
}

// TestFleetKafka sends the three sensors' reports through a kfake cluster
// and reads the fleet back from it: the same view as from the files.
func TestFleetKafka(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "orchard", "orchard-reports"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	brokers := strings.Join(c.ListenAddrs(), ",")
	dir := t.TempDir()
	for _, pc := range splitDemoSensors(t, dir) {
		sensor := strings.TrimSuffix(filepath.Base(pc), ".pcap")
		if _, stderr, code := runCLI(t, nil, "-q", "--format", "json", "--sensor", sensor, "--kafka-brokers", brokers, pc); code != 0 {
			t.Fatalf("%s: exit %d: %s", pc, code, stderr)
		}
	}
	out, stderr, code := runCLI(t, nil, "fleet", "--format", "csv", "--kafka-brokers", brokers, "--since", "1h", "--kafka-wait", "1s")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	want, err := os.ReadFile(filepath.Join("testdata", "fleet-demo.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if out != string(want) {
		t.Errorf("fleet from Kafka:\n%s\nfrom files:\n%s", out, want)
	}
}

func TestFleetErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"capture": {"files": [1]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	notReport := filepath.Join(dir, "other.json")
	if err := os.WriteFile(notReport, []byte(`{"hello": "world"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"fleet"}, exitUsage, "no reports given"},
		{[]string{"fleet", "--format", "xml", dir}, exitUsage, "--format"},
		{[]string{"fleet", filepath.Join(dir, "missing.json")}, exitInput, "missing.json"},
		{[]string{"fleet", bad}, exitInput, "bad.json: not an orchard JSON report"},
		{[]string{"fleet", notReport}, exitInput, "other.json: not an orchard JSON report"},
		{[]string{"fleet", "--kafka-brokers", "127.0.0.1:1", dir}, exitUsage, "not both"},
	}
	for _, tc := range tests {
		_, stderr, code := runCLI(t, nil, tc.args...)
		if code != tc.code || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", tc.args, code, stderr, tc.code, tc.want)
		}
	}
}

// TestFleetSnapshots: a live sensor's reports so far (--report-every) go
// to the reports topic too, and the fleet keeps the latest.
func TestFleetSnapshots(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "orchard", "orchard-reports"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	o := &fleetOptions{sensor: "site-live", kafka: kafkaOptions{brokers: c.ListenAddrs(), topic: "orchard", format: "ndjson",
		compression: "none", buffer: 1000, batchBytes: 1 << 20, flushTimeout: 5 * time.Second}}
	sinks, err := o.fleetSinks("table", nil, true)
	if err != nil || len(sinks) != 1 {
		t.Fatalf("%v %v", sinks, err)
	}
	early := &analyzer.Report{Capture: analyzer.CaptureInfo{Last: "2026-11-02T08:15:10Z"}, Findings: []*analyzer.Finding{}}
	final := &analyzer.Report{Capture: analyzer.CaptureInfo{Last: "2026-11-02T08:16:00Z", Packets: 7}, Findings: []*analyzer.Finding{}}
	o.snapshot(early)
	endFleet(context.Background(), sinks, final, o, false, io.Discard)
	got, err := fleet.ReadKafka(context.Background(), []kgo.Opt{kgo.SeedBrokers(c.ListenAddrs()...)}, "orchard-reports", time.Now().Add(-time.Hour), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Name != "site-live" {
		t.Fatalf("%d reports: %+v", len(got), got)
	}
	if v := fleet.Build(got); len(v.Health) != 1 || v.Health[0].Packets != 7 {
		t.Errorf("health %+v", v.Health)
	}
}
