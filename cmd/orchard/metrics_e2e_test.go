//go:build linux

package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"orchard/internal/lab"
)

// TestLivePrometheus runs a static AF_PACKET orchard with --metrics in the
// lab, scraped every second by a real Prometheus in the same namespace,
// while a client reaches a host the firewall rejects, twice: the series
// exist in Prometheus, the packet counters move between the two rounds,
// and the rejection is counted by name, section and severity. Between the
// rounds the events file is moved away and SIGHUP makes orchard reopen it,
// as logrotate would.
func TestLivePrometheus(t *testing.T) {
	if why := lab.Available(); why != "" {
		t.Skip(why)
	}
	if testing.Short() {
		t.Skip("-short: the Prometheus lab takes about fifteen seconds")
	}
	prom, err := exec.LookPath("prometheus")
	if err != nil {
		t.Skip("prometheus is not installed (apt-get install prometheus)")
	}
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool is not installed (it comes with prometheus)")
	}
	bin := orchardBinary(t, "0")
	r, err := lab.NewRouted("prom", addrGS, addrDNS)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := r.Close(); err != nil {
			t.Error(err)
		}
	})
	if err := r.Filter(r.Firewall, []lab.Rule{{Addr: addrGS, Port: 443, Reset: true}}); err != nil {
		t.Fatal(err)
	}
	startServer(t, r, lab.NodeConfig{
		Role:   "server",
		DNS:    addrDNS + ":53",
		Zone:   map[string]string{hostGS: addrGS},
		Listen: []string{addrGS + ":443"},
	})

	const metricsAddr, promAddr = "127.0.0.1:19163", "127.0.0.1:19090"
	dir := t.TempDir()
	cfg := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 900ms
scrape_configs:
  - job_name: orchard
    static_configs:
      - targets: ['%s']
`, metricsAddr)), 0o644); err != nil {
		t.Fatal(err)
	}
	events := filepath.Join(dir, "events.ndjson")
	orch := startOrchard(t, r, "orchard --metrics", bin, "--workers", "2", "--metrics", metricsAddr, "--duration", "60s", "--format", "json", "--events", events)
	select {
	case <-orch.ready:
	case <-time.After(10 * time.Second):
		t.Fatalf("orchard did not start capturing; stderr:\n%s", orch.stderr.String())
	}
	pcmd := r.Command(r.Firewall, prom, "--config.file="+cfg, "--storage.tsdb.path="+filepath.Join(dir, "tsdb"), "--web.listen-address="+promAddr)
	var plog syncBuffer
	pcmd.Stdout, pcmd.Stderr = &plog, &plog
	if err := pcmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = pcmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = pcmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = pcmd.Process.Kill()
			<-done
		}
	})

	// query returns the instant values of expr, by their label text.
	query := func(expr string) map[string]float64 {
		out, err := r.Command(r.Firewall, promtool, "query", "instant", "http://"+promAddr, expr).CombinedOutput()
		if err != nil {
			return nil
		}
		vals := map[string]float64{}
		for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			labels, rest, ok := strings.Cut(line, " => ")
			if !ok {
				continue
			}
			v, err := strconv.ParseFloat(strings.Fields(rest)[0], 64)
			if err == nil {
				vals[labels] = v
			}
		}
		return vals
	}
	// waitFor polls Prometheus until ok accepts expr's values.
	waitFor := func(what, expr string, limit time.Duration, ok func(map[string]float64) bool) map[string]float64 {
		t.Helper()
		deadline := time.Now().Add(limit)
		for {
			v := query(expr)
			if ok(v) {
				return v
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: Prometheus has %v for %s; its log:\n%s\norchard:\n%s", what, v, expr, plog.String(), orch.stderr.String())
			}
			time.Sleep(300 * time.Millisecond)
		}
	}
	single := func(v map[string]float64) float64 {
		for _, x := range v {
			return x
		}
		return -1
	}
	waitFor("the scrape", `up{job="orchard"}`, 15*time.Second, func(v map[string]float64) bool { return single(v) == 1 })

	probe := func() {
		res := runClient(t, r, lab.NodeConfig{Role: "client", DNS: addrDNS + ":53", Probes: []lab.Probe{{Name: hostGS, Port: 443, Kind: "tcp", Timeout: 2 * time.Second}}})
		if len(res) != 1 || res[0].Outcome != "refused" {
			t.Fatalf("lab client: %+v, want refused", res)
		}
	}
	probe()
	first := single(waitFor("packets", "orchard_packets_total", 10*time.Second, func(v map[string]float64) bool { return single(v) > 0 }))
	if err := os.Rename(events, events+".old"); err != nil {
		t.Fatal(err)
	}
	if err := orch.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	probe()
	second := single(waitFor("packets moving", "orchard_packets_total", 10*time.Second, func(v map[string]float64) bool { return single(v) > first }))
	t.Logf("orchard_packets_total %v, then %v", first, second)

	// The rejected connection closes with the RST: judged within the
	// closed-flow timeout, and counted as it is decided.
	rej := waitFor("findings", `orchard_findings_total{finding="tcp.syn_rejected"}`, 15*time.Second, func(v map[string]float64) bool { return single(v) >= 1 })
	for labels := range rej {
		if !strings.Contains(labels, `severity="error"`) || !strings.Contains(labels, `section="`) {
			t.Errorf("findings series labels: %s", labels)
		}
	}
	socks := query("orchard_socket_received_total")
	if len(socks) != 2 {
		t.Errorf("orchard_socket_received_total: %v, want a series for each of the 2 fanout sockets", socks)
	}
	for _, name := range []string{"orchard_bytes_total", "orchard_capture_received_total", `orchard_packets_dropped_total{cause="kernel"}`, "orchard_capture_loss_ratio", "orchard_last_packet_age_seconds", "orchard_flows_total", "orchard_flows_open", "orchard_flows_evicted_total"} {
		if v := query(name); len(v) == 0 {
			t.Errorf("Prometheus has no %s", name)
		}
	}
	if v := single(query(`orchard_packets_dropped_total{cause="kernel"}`)); v != 0 {
		t.Errorf("kernel drops in the lab: %v", v)
	}

	if err := orch.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := orch.wait(t, 10*time.Second); code != exitOK {
		t.Errorf("orchard after SIGTERM: exit %d; stderr:\n%s", code, orch.stderr.String())
	}
	// After SIGHUP the stream went on in a new file, whole lines only,
	// ending with the run's counters.
	var lines []string
	for _, name := range []string{events + ".old", events} {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatalf("events after SIGHUP: %v", err)
		}
		if len(b) > 0 && b[len(b)-1] != '\n' {
			t.Errorf("%s ends inside a line", filepath.Base(name))
		}
		if name == events {
			got := strings.Split(strings.TrimSpace(string(b)), "\n")
			if last := got[len(got)-1]; !strings.HasPrefix(last, `{"type":"capture"`) {
				t.Errorf("the reopened events file does not end with the summary: %q", last)
			}
		}
		lines = append(lines, strings.Split(strings.TrimSpace(string(b)), "\n")...)
	}
	findings := 0
	for _, l := range lines {
		if l == "" {
			continue
		}
		if !json.Valid([]byte(l)) {
			t.Errorf("events line cut: %q", l)
		}
		if strings.Contains(l, `"finding":"tcp.syn_rejected"`) {
			findings++
		}
	}
	if findings == 0 {
		t.Errorf("no tcp.syn_rejected in the events files")
	}
}
