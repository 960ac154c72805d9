//go:build unix

package main

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"orchard/analyzer"
	"orchard/kafkaout"
)

// eventsOf collects a capture's events.
type eventsOf struct {
	flows []*analyzer.FlowEvent
	dns   []*analyzer.DNSEvent
}

func (s *eventsOf) Flow(e *analyzer.FlowEvent) { c := *e; s.flows = append(s.flows, &c) }
func (s *eventsOf) DNS(e *analyzer.DNSEvent)   { c := e.Clone(); s.dns = append(s.dns, &c) }
func (s *eventsOf) Finding(*analyzer.Finding)  {}

func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// pace waits while more than max records are in flight: a capture that
// sends at the producer's sustained rate, as a run must to lose nothing
// (past --kafka-buffer records are dropped), rather than a backlog of
// every record in memory.
func pace(p *kafkaout.Producer, max uint64) {
	for {
		st := p.Stats()
		if st.Sent-st.Delivered-st.Failed-st.Dropped <= max {
			return
		}
		time.Sleep(100 * time.Microsecond)
	}
}

// BenchmarkKafkaSink encodes the demo's flow and DNS events (ndjson or
// ECS) and produces them to an in-process kfake broker, as a run does:
// events/cpu-s is what one core does, encoding, producer and broker.
// "paced" keeps at most inFlight records in flight (a capture the
// producer keeps up with); "backlog" sends everything at once, so up to
// b.N records wait in memory (their bytes cold in the cache when franz-go
// writes the batches).
func BenchmarkKafkaSink(b *testing.B) {
	src := &eventsOf{}
	e, err := analyzer.New(analyzer.Config{Sink: src})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := e.ReadFile(context.Background(), demoPcap, nil); err != nil {
		b.Fatal(err)
	}
	e.Finish()
	// In flight at most: a tenth of --kafka-buffer's default.
	const inFlight = 10000
	for _, bc := range []struct {
		format string
		paced  bool
	}{{"ndjson", true}, {"ecs", true}, {"ndjson", false}, {"ecs", false}} {
		format, name := bc.format, bc.format+"/backlog"
		if bc.paced {
			name = bc.format + "/paced"
		}
		b.Run(name, func(b *testing.B) {
			c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(3, "orchard"))
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			o := kafkaOptions{brokers: c.ListenAddrs(), topic: "orchard", format: format, compression: "lz4", buffer: 1 << 20,
				flushTimeout: time.Minute, batchBytes: 1 << 20, reportsTopic: "-"}
			s, err := o.sink(&fleetOptions{sensor: "bench"}, false)
			if err != nil {
				b.Fatal(err)
			}
			nf, nd := len(src.flows), len(src.dns)
			b.ResetTimer()
			cpu0, start := processCPU(), time.Now()
			for i := 0; i < b.N; i++ {
				if bc.paced && i%1024 == 0 {
					pace(s.p, inFlight)
				}
				if j := i % (nf + nd); j < nf {
					s.Flow(src.flows[j])
				} else {
					s.DNS(src.dns[j-nf])
				}
			}
			s.end(context.Background(), &analyzer.Report{})
			el, cpu := time.Since(start), processCPU()-cpu0
			b.StopTimer()
			if st := s.stats; st.Delivered != uint64(b.N)+1 {
				b.Fatalf("%+v", st)
			}
			b.ReportMetric(float64(b.N)/el.Seconds(), "events/s")
			b.ReportMetric(float64(b.N)/cpu.Seconds(), "events/cpu-s")
		})
	}
}
