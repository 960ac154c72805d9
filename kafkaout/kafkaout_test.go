package kafkaout_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"orchard/analyzer"
	"orchard/kafkaout"
)

// lines are the demo capture's events as NDJSON values, keyed by
// Community ID.
type lineSink struct{ keys, values [][]byte }

func (s *lineSink) add(key string, v any) {
	b, _ := json.Marshal(v)
	s.keys, s.values = append(s.keys, []byte(key)), append(s.values, b)
}
func (s *lineSink) Flow(e *analyzer.FlowEvent)  { s.add(e.CommunityID, e) }
func (s *lineSink) DNS(e *analyzer.DNSEvent)    { s.add(e.CommunityID, e) }
func (s *lineSink) Finding(f *analyzer.Finding) { s.add(f.CommunityID, f) }

func demoEvents(tb testing.TB) *lineSink {
	tb.Helper()
	s := &lineSink{}
	e, err := analyzer.New(analyzer.Config{Sink: s})
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := e.ReadFile(context.Background(), filepath.Join("..", "testdata", "demo-ipad.pcap"), nil); err != nil {
		tb.Fatal(err)
	}
	e.Finish()
	return s
}

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		c    kafkaout.Config
	}{
		{"no brokers", kafkaout.Config{Topic: "t"}},
		{"no topic", kafkaout.Config{Brokers: []string{"127.0.0.1:9092"}}},
		{"bad sasl", kafkaout.Config{Brokers: []string{"127.0.0.1:9092"}, Topic: "t", SASL: "GSSAPI"}},
		{"bad compression", kafkaout.Config{Brokers: []string{"127.0.0.1:9092"}, Topic: "t", Compression: "brotli"}},
	}
	for _, tc := range tests {
		if p, err := kafkaout.New(tc.c); err == nil {
			p.Close(context.Background())
			t.Errorf("%s: no error", tc.name)
		}
	}
}

// TestCompression produces with every codec and reads the records back.
func TestCompression(t *testing.T) {
	ev := demoEvents(t)
	for _, codec := range []string{"none", "gzip", "snappy", "lz4", "zstd"} {
		t.Run(codec, func(t *testing.T) {
			c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(2, "orchard"))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			p, err := kafkaout.New(kafkaout.Config{Brokers: c.ListenAddrs(), Topic: "orchard", Compression: codec})
			if err != nil {
				t.Fatal(err)
			}
			for i := range ev.values {
				p.Send(ev.keys[i], ev.values[i])
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if s := p.Close(ctx); s.Delivered != uint64(len(ev.values)) || s.Undelivered() != 0 {
				t.Fatalf("%+v", s)
			}
			cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.ConsumeTopics("orchard"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
			if err != nil {
				t.Fatal(err)
			}
			defer cl.Close()
			got := map[string]bool{}
			for len(got) < len(ev.values) && ctx.Err() == nil {
				cl.PollFetches(ctx).EachRecord(func(r *kgo.Record) { got[string(r.Value)] = true })
			}
			for _, v := range ev.values {
				if !got[string(v)] {
					t.Fatalf("record %s not read back", v)
				}
			}
		})
	}
}
