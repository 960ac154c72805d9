package sensor

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"orchard/analyzer"
)

func get(t *testing.T, srv *httptest.Server, path string) (int, string) {
	t.Helper()
	resp, err := http.Get(srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

func TestMetrics(t *testing.T) {
	m := NewMetrics(time.Minute)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	m.now = func() time.Time { return now }
	m.started = now
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()

	if code, body := get(t, srv, "/healthz"); code != 200 || !strings.Contains(body, "starting") {
		t.Errorf("healthz before any packet: %d %q", code, body)
	}
	now = now.Add(2 * time.Minute)
	if code, body := get(t, srv, "/healthz"); code != 503 || !strings.Contains(body, "no packet since the start") {
		t.Errorf("healthz, no packet in 2m: %d %q", code, body)
	}
	m.Publish(Status{
		Stats: analyzer.Stats{Packets: 1000, Bytes: 64000, Flows: 12, OpenFlows: 5, FlowsEvicted: 2},
		Live: &analyzer.LiveStats{Received: 1004, DroppedKernel: 3, DroppedIface: 1, QueueFreezes: 1,
			Sockets: []analyzer.SocketStats{{Received: 600, Dropped: 3}, {Received: 404}}},
	})
	m.Finding(&analyzer.Finding{Finding: "tcp.reset", Section: "Device setup", Severity: "error"})
	m.Finding(&analyzer.Finding{Finding: "tcp.reset", Section: "Device setup", Severity: "error"})
	if code, body := get(t, srv, "/healthz"); code != 200 || strings.TrimSpace(body) != "ok" {
		t.Errorf("healthz after a packet: %d %q", code, body)
	}
	now = now.Add(30 * time.Second)
	_, body := get(t, srv, "/metrics")
	for _, want := range []string{
		"orchard_packets_total 1000",
		"orchard_bytes_total 64000",
		"orchard_capture_received_total 1004",
		`orchard_packets_dropped_total{cause="kernel"} 3`,
		`orchard_packets_dropped_total{cause="interface"} 1`,
		"orchard_capture_queue_freezes_total 1",
		`orchard_socket_received_total{socket="0"} 600`,
		`orchard_socket_dropped_total{socket="1"} 0`,
		"orchard_capture_loss_ratio 0.00398406374501992",
		"orchard_last_packet_age_seconds 30",
		"orchard_flows_total 12",
		"orchard_flows_open 5",
		"orchard_flows_evicted_total 2",
		`orchard_findings_total{finding="tcp.reset",section="Device setup",severity="error"} 2`,
		"go_goroutines",
	} {
		if !strings.Contains(body, want+"\n") && !strings.Contains(body, want+" ") {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	// A report's SPAN loss estimate counts once enough bytes were
	// acknowledged, and when it is the larger loss.
	for _, tc := range []struct {
		vis  analyzer.Visibility
		want string
	}{
		{analyzer.Visibility{AckedBytes: 1000, MissedBytes: 500}, "orchard_capture_loss_ratio 0.00398406374501992"},
		{analyzer.Visibility{AckedBytes: 1 << 20, MissedBytes: 1 << 10}, "orchard_capture_loss_ratio 0.00398406374501992"},
		{analyzer.Visibility{AckedBytes: 1 << 20, MissedBytes: 1 << 14}, "orchard_capture_loss_ratio 0.015625"},
	} {
		m.PublishVisibility(tc.vis)
		if _, body := get(t, srv, "/metrics"); !strings.Contains(body, tc.want+"\n") {
			t.Errorf("visibility %+v: /metrics lacks %q", tc.vis, tc.want)
		}
	}
	// The count stopped growing: stale after a minute.
	m.Publish(Status{Stats: analyzer.Stats{Packets: 1000}})
	now = now.Add(31 * time.Second)
	if code, _ := get(t, srv, "/healthz"); code != 503 {
		t.Errorf("healthz 61s after the last packet: %d", code)
	}
	m.Publish(Status{Stats: analyzer.Stats{Packets: 1001}})
	if code, _ := get(t, srv, "/healthz"); code != 200 {
		t.Errorf("healthz after a new packet: %d", code)
	}
}
