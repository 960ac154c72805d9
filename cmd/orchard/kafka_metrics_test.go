package main

import (
	"context"
	"fmt"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"orchard/analyzer"
	"orchard/internal/sensor"
)

// scrape returns the /metrics page of m.
func scrape(t *testing.T, m *sensor.Metrics) string {
	t.Helper()
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestKafkaMetrics publishes the Kafka output's counters to the
// Prometheus metrics as a live run does: delivered to a broker, dropped
// past a full buffer with the broker away, and failed at the flush
// deadline.
func TestKafkaMetrics(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "up"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	flow := &analyzer.FlowEvent{CommunityID: "1:abc", Proto: "tcp"}
	tests := []struct {
		name    string
		brokers []string
		topic   string
		buffer  int
		want    []string
	}{
		{"delivered", c.ListenAddrs(), "up", 100, []string{
			`orchard_output_records_sent_total{output="kafka",topic="up"} 21`,
			`orchard_output_records_total{output="kafka",result="delivered",topic="up"} 21`,
			`orchard_output_records_total{output="kafka",result="dropped",topic="up"} 0`,
			`orchard_output_records_buffered{output="kafka",topic="up"} 0`,
		}},
		{"broker away", []string{"127.0.0.1:1"}, "down", 5, []string{
			`orchard_output_records_sent_total{output="kafka",topic="down"} 21`,
			`orchard_output_records_total{output="kafka",result="delivered",topic="down"} 0`,
			`orchard_output_records_total{output="kafka",result="dropped",topic="down"} 16`,
			`orchard_output_records_total{output="kafka",result="failed",topic="down"} 5`,
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := &options{}
			o.run = &sensorRun{metrics: sensor.NewMetrics(time.Minute)}
			o.fleet = fleetOptions{sensor: "test", kafka: kafkaOptions{brokers: tc.brokers, topic: tc.topic, reportsTopic: "-",
				format: "ndjson", compression: "none", buffer: tc.buffer, flushTimeout: 300 * time.Millisecond}}
			sinks, err := o.fleet.fleetSinks("json", nil, true)
			if err != nil {
				t.Fatal(err)
			}
			k := sinks[0].(*kafkaSink)
			stats := func() analyzer.Stats { return analyzer.Stats{Packets: 1} }
			for range 20 {
				k.Flow(flow)
			}
			o.publish(stats, nil, true)
			if page := scrape(t, o.run.metrics); !strings.Contains(page, fmt.Sprintf(`orchard_output_records_sent_total{output="kafka",topic="%s"} 20`, tc.topic)) {
				t.Errorf("sent while running:\n%s", grepOutput(page))
			}
			k.end(context.Background(), &analyzer.Report{})
			o.publish(stats, nil, true)
			page := scrape(t, o.run.metrics)
			for _, w := range tc.want {
				if !strings.Contains(page, w+"\n") {
					t.Errorf("lacks %s in\n%s", w, grepOutput(page))
				}
			}
		})
	}
}

// grepOutput keeps the output series of a metrics page.
func grepOutput(page string) string {
	var b strings.Builder
	for _, l := range strings.Split(page, "\n") {
		if strings.HasPrefix(l, "orchard_output_") {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}
