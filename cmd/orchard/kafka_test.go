package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"orchard/analyzer"
	"orchard/fleet"
	"orchard/internal/sharedtest"
)

// consumeAll reads topic from the start until want records came, then
// for a little longer to catch duplicates.
func consumeAll(t *testing.T, brokers []string, topic string, want int, opts ...kgo.Opt) []*kgo.Record {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart())}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var recs []*kgo.Record
	deadline := time.Now().Add(20 * time.Second)
	extra := time.Time{}
	for time.Now().Before(deadline) {
		if len(recs) >= want && extra.IsZero() {
			extra = time.Now().Add(500 * time.Millisecond)
		}
		if !extra.IsZero() && time.Now().After(extra) {
			break
		}
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		fs := cl.PollFetches(ctx)
		cancel()
		fs.EachRecord(func(r *kgo.Record) { recs = append(recs, r) })
	}
	return recs
}

// reportOf parses a JSON report.
func reportOf(t *testing.T, s string) *analyzer.Report {
	t.Helper()
	var r analyzer.Report
	if err := json.Unmarshal([]byte(s), &r); err != nil {
		t.Fatalf("report: %v\n%s", err, s)
	}
	return &r
}

// TestKafkaExactlyOnce produces a capture's events to a 3-broker
// cluster, restarting the broker that takes the second produce request
// while the run goes on, and reads back every event exactly once: the
// same lines as --format ndjson.
func TestKafkaExactlyOnce(t *testing.T) {
	files := []string{demoPcap}
	for _, name := range []string{"ndpi-iphone.pcap", "ndpi-whatsapp_login_call-apple_ess.pcap", "ndpi-sites-guzzoni_quic.pcapng"} {
		if p := sharedtest.Optional(filepath.Join("pcaps", name)); p != "" {
			files = append(files, p)
		}
	}
	c, err := kfake.NewCluster(kfake.NumBrokers(3), kfake.SeedTopics(6, "orchard", "orchard-reports"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	addrs := c.ListenAddrs()
	var produces atomic.Int32
	restarted := make(chan struct{})
	c.ControlKey(int16(kmsg.Produce), func(kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		if produces.Add(1) != 2 {
			return nil, nil, false
		}
		node := c.CurrentNode()
		_, port, _ := strings.Cut(addrs[node], "127.0.0.1:")
		go func() {
			defer close(restarted)
			if err := c.RemoveNode(node); err != nil {
				t.Errorf("remove broker %d: %v", node, err)
				return
			}
			time.Sleep(300 * time.Millisecond)
			p, _ := strconv.Atoi(port)
			if _, _, err := c.AddNode(node, p); err != nil {
				t.Errorf("restart broker %d on port %d: %v", node, p, err)
			}
		}()
		// The broker goes away with this request unanswered.
		return nil, errKilled, true
	})

	var args []string
	for _, f := range files {
		args = append(args, "-r", f)
	}
	want, stderr, code := runCLI(t, nil, append([]string{"-q", "--format", "ndjson", "--sensor", "lab-1"}, args...)...)
	if code != 0 {
		t.Fatalf("ndjson run: exit %d: %s", code, stderr)
	}
	js, stderr, code := runCLI(t, nil, append([]string{"-q", "--format", "json", "--sensor", "lab-1",
		"--kafka-brokers", strings.Join(addrs, ","), "--kafka-batch-bytes", "32768"}, args...)...)
	if code != 0 || stderr != "" {
		t.Fatalf("kafka run: exit %d: %s", code, stderr)
	}
	select {
	case <-restarted:
	case <-time.After(20 * time.Second):
		t.Fatalf("no broker restarted (%d produce requests)", produces.Load())
	}
	if produces.Load() < 3 {
		t.Fatalf("only %d produce requests: the restart was not mid-run", produces.Load())
	}
	lines := strings.Split(strings.TrimSpace(want), "\n")
	recs := consumeAll(t, addrs, "orchard", len(lines))
	var got []string
	for _, r := range recs {
		got = append(got, string(r.Value))
		if len(r.Headers) != 1 || r.Headers[0].Key != fleet.SensorHeader || string(r.Headers[0].Value) != "lab-1" {
			t.Errorf("record headers %v", r.Headers)
		}
		var ev struct {
			Type        string `json:"type"`
			CommunityID string `json:"community_id"`
		}
		if err := json.Unmarshal(r.Value, &ev); err != nil {
			t.Fatalf("record %q: %v", r.Value, err)
		}
		if ev.Type != "capture" && string(r.Key) != ev.CommunityID {
			t.Errorf("record keyed %q, community_id %q", r.Key, ev.CommunityID)
		}
	}
	slices.Sort(got)
	slices.Sort(lines)
	if len(got) != len(lines) {
		t.Errorf("consumed %d records, --format ndjson wrote %d lines", len(got), len(lines))
	}
	if !slices.Equal(got, lines) {
		for i := 0; i < min(len(got), len(lines)); i++ {
			if got[i] != lines[i] {
				t.Errorf("first difference:\n got  %s\n want %s", got[i], lines[i])
				break
			}
		}
	}
	rep := reportOf(t, js)
	if len(rep.Capture.Outputs) != 1 {
		t.Fatalf("outputs %+v", rep.Capture.Outputs)
	}
	o := rep.Capture.Outputs[0]
	if o.Sent != uint64(len(lines))+1 || o.Delivered != o.Sent || o.Failed != 0 || o.Dropped != 0 {
		t.Errorf("output counters %+v for %d events and the report", o, len(lines))
	}
	if rep.Capture.Sensor != "lab-1" {
		t.Errorf("sensor %q", rep.Capture.Sensor)
	}
	reports := consumeAll(t, addrs, "orchard-reports", 1)
	if len(reports) != 1 || string(reports[0].Key) != "lab-1" {
		t.Fatalf("%d reports on orchard-reports", len(reports))
	}
	t.Logf("%d events, %d produce requests, broker restarted, each event read once", len(lines), produces.Load())
}

type killed struct{}

func (killed) Error() string { return "broker restarting" }

var errKilled error = killed{}

// TestKafkaAbsentBroker: with no broker listening the run neither stalls
// nor fails; what was not delivered is counted and warned about, and a
// small buffer drops (and counts) instead of waiting.
func TestKafkaAbsentBroker(t *testing.T) {
	tests := []struct {
		name        string
		buffer      string
		wantDropped bool
	}{
		{"buffered", "100000", false},
		{"buffer full", "5", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			js, stderr, code := runCLI(t, nil, "-q", "--format", "json", "--kafka-brokers", "127.0.0.1:1",
				"--kafka-flush-timeout", "1s", "--kafka-buffer", tc.buffer, demoPcap)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			if d := time.Since(start); d > 6*time.Second {
				t.Errorf("run took %v with no broker", d)
			}
			rep := reportOf(t, js)
			if len(rep.Capture.Outputs) != 1 {
				t.Fatalf("outputs %+v", rep.Capture.Outputs)
			}
			o := rep.Capture.Outputs[0]
			if o.Sent < 50 || o.Delivered != 0 || o.Failed+o.Dropped != o.Sent || (o.Dropped > 0) != tc.wantDropped {
				t.Errorf("counters %+v", o)
			}
			if !slices.ContainsFunc(rep.Capture.Warnings, func(w string) bool { return strings.Contains(w, "not delivered") }) ||
				!strings.Contains(stderr, "not delivered") {
				t.Errorf("no warning: %v / %s", rep.Capture.Warnings, stderr)
			}
		})
	}
}

// TestKafkaSASL produces through SASL PLAIN and SCRAM to a cluster that
// requires it, and is refused with a wrong password.
func TestKafkaSASL(t *testing.T) {
	tests := []struct{ mech, pass string }{
		{"PLAIN", "secret"}, {"SCRAM-SHA-256", "secret"}, {"SCRAM-SHA-512", "secret"}, {"SCRAM-SHA-256", "wrong"},
	}
	for _, tc := range tests {
		t.Run(tc.mech+"/"+tc.pass, func(t *testing.T) {
			c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "orchard"), kfake.EnableSASL(),
				kfake.Superuser(tc.mech, "sensor", "secret"))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			js, stderr, code := runCLI(t, nil, "-q", "--format", "json", "--kafka-brokers", strings.Join(c.ListenAddrs(), ","),
				"--kafka-sasl", tc.mech, "--kafka-user", "sensor", "--kafka-password", tc.pass, "--kafka-flush-timeout", "2s",
				"--kafka-reports-topic", "-", demoPcap)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			o := reportOf(t, js).Capture.Outputs[0]
			if ok := o.Delivered == o.Sent && o.Sent > 0; ok != (tc.pass == "secret") {
				t.Errorf("counters %+v", o)
			}
		})
	}
}
