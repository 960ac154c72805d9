package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"

	"github.com/spf13/pflag"

	"orchard/analyzer"
	"orchard/ecs"
	"orchard/kafkaout"
)

// fleetOptions are the flags of the fleet outputs: the sensor's name, the
// ECS format of the event stream, and Kafka.
type fleetOptions struct {
	sensor       string
	eventsFormat string
	kafka        kafkaOptions
	// kafkaSink is the Kafka output of the run, once made.
	kafkaSink *kafkaSink
}

// addFleetFlags registers the fleet outputs' flags.
func addFleetFlags(fs *pflag.FlagSet, o *fleetOptions) {
	host, _ := os.Hostname()
	fs.StringVar(&o.sensor, "sensor", host, "`NAME` of this sensor in ECS events (observer.name), Kafka records and reports")
	fs.StringVar(&o.eventsFormat, "events-format", "ndjson", "`FORMAT` of the --events stream: ndjson or ecs (Elastic Common Schema)")
	addKafkaFlags(fs, &o.kafka)
}

// check validates the fleet flags for the report format given.
func (o *fleetOptions) check(format string) error {
	switch o.eventsFormat {
	case "ndjson", "ecs":
	default:
		return fmt.Errorf("--events-format %q: want ndjson or ecs", o.eventsFormat)
	}
	return o.kafka.check()
}

// observer is the sensor as ECS names it.
func (o *fleetOptions) observer() ecs.Observer {
	host, _ := os.Hostname()
	return ecs.Observer{Name: o.sensor, Hostname: host}
}

// endSink is an event sink that takes, at the end of the run, the final
// findings (when it did not stream them) and the run's counters.
type endSink interface {
	analyzer.Sink
	end(ctx context.Context, rep *analyzer.Report)
}

// fleetSinks returns the sinks of the fleet outputs: ECS on the report
// output for --format ecs, and Kafka when brokers are given.
func (o *fleetOptions) fleetSinks(format string, out *bufio.Writer, live bool) ([]analyzer.Sink, error) {
	var sinks []analyzer.Sink
	if format == "ecs" {
		sinks = append(sinks, newECSSink(out, o.observer(), live))
	}
	if len(o.kafka.brokers) > 0 {
		k, err := o.kafka.sink(o, live)
		if err != nil {
			return nil, err
		}
		sinks = append(sinks, k)
		o.kafkaSink = k
	}
	return sinks, nil
}

// snapshot sends a report so far (live --report-every) to Kafka's reports
// topic, so 'orchard fleet' sees a long-running sensor before it stops.
func (o *fleetOptions) snapshot(r *analyzer.Report) {
	if o.kafkaSink != nil {
		o.kafkaSink.report(r)
	}
}

// outputStats are the fleet outputs' counters so far, for the metrics
// (nil without Kafka). Safe beside the sinks: the counters are atomic.
func (o *fleetOptions) outputStats() []analyzer.OutputStats {
	if o.kafkaSink == nil {
		return nil
	}
	return []analyzer.OutputStats{kafkaOutputStats(o.kafkaSink.p.Stats())}
}

// kafkaOutputStats is a Kafka producer's counters as the report has them.
func kafkaOutputStats(st kafkaout.Stats) analyzer.OutputStats {
	return analyzer.OutputStats{Output: "kafka", Target: st.Topic,
		Sent: st.Sent, Delivered: st.Delivered, Failed: st.Failed, Dropped: st.Dropped}
}

// eventsSink is the sink of the --events file in its format.
func (o *fleetOptions) eventsSink(w *bufio.Writer, live bool) analyzer.Sink {
	if o.eventsFormat == "ecs" {
		return newECSSink(w, o.observer(), true)
	}
	return newNDJSONSink(w, live)
}

// endFleet ends the fleet sinks (final findings, counters, Kafka's flush)
// and adds what they delivered to the report.
func endFleet(ctx context.Context, sinks []analyzer.Sink, rep *analyzer.Report, o *fleetOptions, explicitSensor bool, stderr io.Writer) {
	if explicitSensor {
		rep.Capture.Sensor = o.sensor
	}
	for _, s := range sinks {
		if e, ok := s.(endSink); ok {
			e.end(ctx, rep)
		}
	}
	for _, s := range sinks {
		k, ok := s.(*kafkaSink)
		if !ok {
			continue
		}
		st := k.stats
		rep.Capture.Outputs = append(rep.Capture.Outputs, kafkaOutputStats(st))
		if n := st.Undelivered(); n > 0 {
			w := fmt.Sprintf("kafka: %d of %d records not delivered to topic %s", n, st.Sent, st.Topic)
			if err := k.p.LastError(); err != nil {
				w += " (" + err.Error() + ")"
			}
			rep.Capture.Warnings = append(rep.Capture.Warnings, w)
			fmt.Fprintf(stderr, "orchard: warning: %s\n", w)
		}
	}
}

// ecsSink writes ECS documents, like ndjsonSink writes events: streaming
// findings (live, --events) or writing them at the end with final counts.
type ecsSink struct {
	w      *bufio.Writer
	ecs    *ecs.Writer
	stream bool
}

func newECSSink(w *bufio.Writer, o ecs.Observer, stream bool) *ecsSink {
	return &ecsSink{w: w, ecs: ecs.NewWriter(w, o), stream: stream}
}

func (s *ecsSink) flush() {
	if s.stream {
		_ = s.w.Flush()
	}
}

func (s *ecsSink) Flow(e *analyzer.FlowEvent) { _ = s.ecs.Flow(e); s.flush() }
func (s *ecsSink) DNS(e *analyzer.DNSEvent)   { _ = s.ecs.DNS(e); s.flush() }
func (s *ecsSink) Finding(f *analyzer.Finding) {
	if s.stream {
		_ = s.ecs.Finding(f)
		s.flush()
	}
}

func (s *ecsSink) end(_ context.Context, rep *analyzer.Report) {
	if !s.stream {
		for _, f := range rep.Findings {
			_ = s.ecs.Finding(f)
		}
	}
	_ = s.ecs.Capture(&rep.Capture)
	_ = s.w.Flush()
}
