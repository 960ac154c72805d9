//go:build unix

package kafkaout_test

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"orchard/kafkaout"
)

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkProduce sends the demo's events, round and round, to an
// in-process kfake broker: events/s is the producer's throughput (run
// with -cpu 1 for one core; kfake shares it).
func BenchmarkProduce(b *testing.B) {
	ev := demoEvents(b)
	for _, codec := range []string{"none", "lz4"} {
		b.Run(codec, func(b *testing.B) {
			c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(3, "orchard"))
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			p, err := kafkaout.New(kafkaout.Config{Brokers: c.ListenAddrs(), Topic: "orchard", Compression: codec, MaxBuffered: 1 << 20})
			if err != nil {
				b.Fatal(err)
			}
			n := len(ev.values)
			var bytes int64
			b.ResetTimer()
			cpu0 := cpuTime()
			start := time.Now()
			for i := 0; i < b.N; i++ {
				p.Send(ev.keys[i%n], ev.values[i%n])
				bytes += int64(len(ev.values[i%n]))
			}
			s := p.Close(context.Background())
			el := time.Since(start)
			cpu := cpuTime() - cpu0
			b.StopTimer()
			if s.Delivered != uint64(b.N) {
				b.Fatalf("%+v", s)
			}
			b.ReportMetric(float64(b.N)/el.Seconds(), "events/s")
			// The machine may be shared: events per CPU second of the
			// whole process (producer and kfake) is what one core does.
			b.ReportMetric(float64(b.N)/cpu.Seconds(), "events/cpu-s")
			b.SetBytes(bytes / int64(b.N))
		})
	}
}
