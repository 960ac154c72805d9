package sensor

import (
	"github.com/prometheus/client_golang/prometheus"

	"orchard/analyzer"
)

// The event outputs' series (Kafka), from Status.Outputs.
var (
	descOutSent     = prometheus.NewDesc("orchard_output_records_sent_total", "Records handed to an event output (Kafka), by output and topic.", []string{"output", "topic"}, nil)
	descOutRecords  = prometheus.NewDesc("orchard_output_records_total", "Records an event output finished, by output, topic and result: delivered (acknowledged), failed (rejected, timed out, or unsent at the flush deadline), dropped (the buffer was full).", []string{"output", "topic", "result"}, nil)
	descOutBuffered = prometheus.NewDesc("orchard_output_records_buffered", "Records an event output holds, sent but not yet delivered, failed or dropped.", []string{"output", "topic"}, nil)
)

var outputDescs = []*prometheus.Desc{descOutSent, descOutRecords, descOutBuffered}

// collectOutputs sends the series of the outputs' counters.
func collectOutputs(ch chan<- prometheus.Metric, outs []analyzer.OutputStats) {
	for i := range outs {
		o := &outs[i]
		ch <- prometheus.MustNewConstMetric(descOutSent, prometheus.CounterValue, float64(o.Sent), o.Output, o.Target)
		for _, r := range []struct {
			name string
			v    uint64
		}{{"delivered", o.Delivered}, {"failed", o.Failed}, {"dropped", o.Dropped}} {
			ch <- prometheus.MustNewConstMetric(descOutRecords, prometheus.CounterValue, float64(r.v), o.Output, o.Target, r.name)
		}
		var held uint64
		if done := o.Delivered + o.Failed + o.Dropped; done < o.Sent {
			held = o.Sent - done
		}
		ch <- prometheus.MustNewConstMetric(descOutBuffered, prometheus.GaugeValue, float64(held), o.Output, o.Target)
	}
}
