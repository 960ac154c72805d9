package sensor

import (
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"orchard/analyzer"
)

// outputSeries gathers the output series in process: name and labels
// (output, topic, result) to value.
func outputSeries(t *testing.T, m *Metrics) map[string]float64 {
	t.Helper()
	mfs, err := m.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		for _, mt := range mf.GetMetric() {
			key := mf.GetName()
			for _, l := range mt.GetLabel() {
				key += " " + l.GetName() + "=" + l.GetValue()
			}
			got[key] = value(mt)
		}
	}
	return got
}

func value(m *dto.Metric) float64 {
	if c := m.GetCounter(); c != nil {
		return c.GetValue()
	}
	return m.GetGauge().GetValue()
}

func TestMetricsOutputs(t *testing.T) {
	const (
		sent      = "orchard_output_records_sent_total output=kafka topic=events"
		delivered = "orchard_output_records_total output=kafka result=delivered topic=events"
		failed    = "orchard_output_records_total output=kafka result=failed topic=events"
		dropped   = "orchard_output_records_total output=kafka result=dropped topic=events"
		buffered  = "orchard_output_records_buffered output=kafka topic=events"
	)
	m := NewMetrics(time.Minute)
	if got := outputSeries(t, m); got[sent] != 0 || len(filter(got)) != 0 {
		t.Errorf("output series without an output: %v", filter(got))
	}
	steps := []struct {
		name string
		out  analyzer.OutputStats
		want map[string]float64
	}{
		{"buffering", analyzer.OutputStats{Output: "kafka", Target: "events", Sent: 10, Delivered: 4},
			map[string]float64{sent: 10, delivered: 4, failed: 0, dropped: 0, buffered: 6}},
		{"broker away", analyzer.OutputStats{Output: "kafka", Target: "events", Sent: 25, Delivered: 9, Failed: 3, Dropped: 8},
			map[string]float64{sent: 25, delivered: 9, failed: 3, dropped: 8, buffered: 5}},
		{"flushed", analyzer.OutputStats{Output: "kafka", Target: "events", Sent: 25, Delivered: 14, Failed: 3, Dropped: 8},
			map[string]float64{sent: 25, delivered: 14, failed: 3, dropped: 8, buffered: 0}},
	}
	for _, s := range steps {
		m.Publish(Status{Stats: analyzer.Stats{Packets: 1}, Outputs: []analyzer.OutputStats{s.out}})
		got := filter(outputSeries(t, m))
		if len(got) != len(s.want) {
			t.Errorf("%s: series %v, want %v", s.name, got, s.want)
		}
		for k, v := range s.want {
			if g, ok := got[k]; !ok || g != v {
				t.Errorf("%s: %s = %v (present %v), want %v", s.name, k, g, ok, v)
			}
		}
	}
}

// filter keeps the output series.
func filter(all map[string]float64) map[string]float64 {
	out := map[string]float64{}
	for k, v := range all {
		if strings.HasPrefix(k, "orchard_output_") {
			out[k] = v
		}
	}
	return out
}
