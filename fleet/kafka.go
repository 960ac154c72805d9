package fleet

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// SensorHeader is the record header naming the sensor that produced it.
const SensorHeader = "orchard-sensor"

// maxRecordBytes bounds a fetch: below franz-go's 100 MiB read limit.
const maxRecordBytes = 64 << 20

// ReadKafka reads the reports produced to topic since the given time, and
// stops once no record has come for idle (or ctx ends). opts connect the
// client (brokers, TLS, SASL). A sensor is named by its record's header,
// else its report's sensor, else the record's key.
func ReadKafka(ctx context.Context, opts []kgo.Opt, topic string, since time.Time, idle time.Duration) ([]Sensor, error) {
	cl, err := kgo.NewClient(append([]kgo.Opt{
		kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AfterMilli(since.UnixMilli())),
		kgo.FetchMaxBytes(maxRecordBytes),
		kgo.FetchMaxPartitionBytes(maxRecordBytes),
	}, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("kafka: %w", err)
	}
	defer cl.Close()
	var out []Sensor
	var lastErr error
	for ctx.Err() == nil {
		pctx, cancel := context.WithTimeout(ctx, idle)
		fs := cl.PollFetches(pctx)
		cancel()
		n := 0
		fs.EachError(func(_ string, _ int32, err error) {
			if err != context.DeadlineExceeded && err != context.Canceled {
				lastErr = err
			}
		})
		var perr error
		fs.EachRecord(func(r *kgo.Record) {
			n++
			if perr != nil {
				return
			}
			src := "kafka:" + r.Topic + "/" + strconv.Itoa(int(r.Partition)) + "@" + strconv.FormatInt(r.Offset, 10)
			rep, err := Parse(bytes.NewReader(r.Value), src)
			if err != nil {
				perr = err
				return
			}
			name := rep.Capture.Sensor
			for _, h := range r.Headers {
				if h.Key == SensorHeader && len(h.Value) > 0 {
					name = string(h.Value)
				}
			}
			if name == "" {
				name = string(r.Key)
			}
			out = append(out, Sensor{Name: name, Source: src, Report: rep})
		})
		if perr != nil {
			return nil, perr
		}
		if n == 0 {
			break
		}
	}
	if len(out) == 0 && lastErr != nil {
		return nil, fmt.Errorf("kafka topic %s: %w", topic, lastErr)
	}
	return out, nil
}
