package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/pflag"
	"github.com/twmb/franz-go/pkg/kgo"

	"orchard/analyzer"
	"orchard/ecs"
	"orchard/eventjson"
	"orchard/fleet"
	"orchard/kafkaout"
)

// kafkaOptions are the Kafka output's flags.
type kafkaOptions struct {
	brokers      []string
	topic        string
	reportsTopic string
	format       string
	compression  string
	tls          bool
	tlsCA        string
	tlsCert      string
	tlsKey       string
	sasl         string
	user         string
	password     string
	buffer       int
	flushTimeout time.Duration
	batchBytes   int
}

// addKafkaFlags registers the Kafka output's flags.
func addKafkaFlags(fs *pflag.FlagSet, o *kafkaOptions) {
	addKafkaConnFlags(fs, o, "send the events to Kafka: seed brokers `HOST:PORT,...`")
	fs.StringVar(&o.format, "kafka-format", "ndjson", "`FORMAT` of the Kafka records: ndjson (orchard's events) or ecs")
	fs.StringVar(&o.compression, "kafka-compression", "lz4", "Kafka batch compression: none, gzip, snappy, lz4 or zstd")
	fs.IntVar(&o.buffer, "kafka-buffer", 100000, "records buffered for slow brokers; beyond it records are dropped and counted, capture never waits")
	fs.IntVar(&o.batchBytes, "kafka-batch-bytes", 1<<20, "largest record batch in `BYTES` (the brokers' message.max.bytes bounds it)")
	fs.DurationVar(&o.flushTimeout, "kafka-flush-timeout", 10*time.Second, "at exit, wait this long for the brokers to take what is buffered")
}

// addKafkaConnFlags registers the flags that reach the brokers: where,
// which topics, TLS and SASL (the output's and orchard fleet's).
func addKafkaConnFlags(fs *pflag.FlagSet, o *kafkaOptions, brokersUsage string) {
	fs.StringSliceVar(&o.brokers, "kafka-brokers", nil, brokersUsage)
	fs.StringVar(&o.topic, "kafka-topic", "orchard", "Kafka `TOPIC` of the events")
	fs.StringVar(&o.reportsTopic, "kafka-reports-topic", "", "Kafka `TOPIC` of the final JSON reports 'orchard fleet' reads (default TOPIC-reports; '-' for none)")
	fs.BoolVar(&o.tls, "kafka-tls", false, "connect to the brokers with TLS")
	fs.StringVar(&o.tlsCA, "kafka-tls-ca", "", "PEM `FILE` of the CA that signs the brokers' certificates (implies --kafka-tls)")
	fs.StringVar(&o.tlsCert, "kafka-tls-cert", "", "PEM client certificate `FILE` (with --kafka-tls-key)")
	fs.StringVar(&o.tlsKey, "kafka-tls-key", "", "PEM client key `FILE`")
	fs.StringVar(&o.sasl, "kafka-sasl", "", "SASL `MECHANISM`: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512")
	fs.StringVar(&o.user, "kafka-user", "", "SASL user")
	fs.StringVar(&o.password, "kafka-password", "", "SASL password (default $ORCHARD_KAFKA_PASSWORD)")
}

func (o *kafkaOptions) check() error {
	if len(o.brokers) == 0 {
		return nil
	}
	switch o.format {
	case "ndjson", "ecs":
	default:
		return fmt.Errorf("--kafka-format %q: want ndjson or ecs", o.format)
	}
	if _, err := kafkaout.ParseCompression(o.compression); err != nil {
		return fmt.Errorf("--kafka-compression: %w", err)
	}
	if o.buffer <= 0 {
		return errors.New("--kafka-buffer must be positive")
	}
	if (o.tlsCert == "") != (o.tlsKey == "") {
		return errors.New("--kafka-tls-cert and --kafka-tls-key go together")
	}
	return nil
}

// config is the producer's configuration; it reads the TLS files.
func (o *kafkaOptions) config() (kafkaout.Config, error) {
	c := kafkaout.Config{Brokers: o.brokers, Topic: o.topic, Compression: o.compression, SASL: o.sasl,
		User: o.user, Password: o.password, MaxBuffered: o.buffer}
	if o.batchBytes > 0 {
		c.Extra = append(c.Extra, kgo.ProducerBatchMaxBytes(int32(min(o.batchBytes, 1<<30))))
	}
	if c.Password == "" {
		c.Password = os.Getenv("ORCHARD_KAFKA_PASSWORD")
	}
	if o.tls || o.tlsCA != "" || o.tlsCert != "" {
		tc := &tls.Config{MinVersion: tls.VersionTLS12}
		if o.tlsCA != "" {
			pem, err := os.ReadFile(o.tlsCA)
			if err != nil {
				return c, fmt.Errorf("--kafka-tls-ca: %w", err)
			}
			tc.RootCAs = x509.NewCertPool()
			if !tc.RootCAs.AppendCertsFromPEM(pem) {
				return c, fmt.Errorf("--kafka-tls-ca %s: no PEM certificate in it", o.tlsCA)
			}
		}
		if o.tlsCert != "" {
			cert, err := tls.LoadX509KeyPair(o.tlsCert, o.tlsKey)
			if err != nil {
				return c, fmt.Errorf("--kafka-tls-cert: %w", err)
			}
			tc.Certificates = []tls.Certificate{cert}
		}
		c.TLS = tc
	}
	return c, nil
}

// reports is the topic of the final reports, or "" for none.
func (o *kafkaOptions) reports() string {
	switch o.reportsTopic {
	case "-":
		return ""
	case "":
		return o.topic + "-reports"
	}
	return o.reportsTopic
}

// kafkaSink turns events into records keyed by Community ID.
type kafkaSink struct {
	p       *kafkaout.Producer
	buf     bytes.Buffer
	enc     *json.Encoder
	ecs     *ecs.Writer
	arena   kafkaout.Arena
	headers []kgo.RecordHeader // the sensor's, the same on every record
	stream  bool
	sensor  string
	sensorB []byte
	reports string
	timeout time.Duration
	stats   kafkaout.Stats
}

func (o *kafkaOptions) sink(f *fleetOptions, live bool) (*kafkaSink, error) {
	c, err := o.config()
	if err != nil {
		return nil, err
	}
	p, err := kafkaout.New(c)
	if err != nil {
		return nil, err
	}
	s := &kafkaSink{p: p, stream: live, sensor: f.sensor, sensorB: []byte(f.sensor), reports: o.reports(), timeout: o.flushTimeout}
	s.headers = []kgo.RecordHeader{{Key: fleet.SensorHeader, Value: s.sensorB}}
	s.enc = json.NewEncoder(&s.buf)
	s.enc.SetEscapeHTML(false)
	if o.format == "ecs" {
		s.ecs = ecs.NewWriter(&s.buf, f.observer())
	}
	return s, nil
}

// begin starts a record keyed by a Community ID ("" for none) in the
// arena: the event's JSON is appended to what it returns, then send
// queues it. Records and their bytes come from the arena, so no event
// allocates on its own.
func (s *kafkaSink) begin(key string) ([]byte, int) {
	return append(s.arena.Bytes(), key...), len(key)
}

// send queues the record begin started.
func (s *kafkaSink) send(b []byte, keyLen int) {
	b = s.arena.Keep(b)
	r := s.arena.Record()
	if keyLen > 0 {
		r.Key = b[:keyLen:keyLen]
	}
	r.Value = b[keyLen:]
	r.Headers = s.headers
	s.p.SendRecord(r)
}

// record queues one encoded event, copied into the arena.
func (s *kafkaSink) record(key string, v []byte) {
	b, k := s.begin(key)
	s.send(append(b, v...), k)
}

// ecsRecord queues the ECS document write puts in the buffer.
func (s *kafkaSink) ecsRecord(key string, write func() error) {
	s.buf.Reset()
	_ = write()
	s.record(key, bytes.TrimSuffix(s.buf.Bytes(), []byte{'\n'}))
}

func (s *kafkaSink) Flow(e *analyzer.FlowEvent) {
	b, k := s.begin(e.CommunityID)
	if s.ecs != nil {
		b = s.ecs.AppendFlow(b, e)
	} else {
		b = eventjson.AppendFlow(b, e)
	}
	s.send(b, k)
}

func (s *kafkaSink) DNS(e *analyzer.DNSEvent) {
	b, k := s.begin(e.CommunityID)
	if s.ecs != nil {
		b = s.ecs.AppendDNS(b, e)
	} else {
		b = eventjson.AppendDNS(b, e)
	}
	s.send(b, k)
}

func (s *kafkaSink) Finding(f *analyzer.Finding) {
	if s.stream {
		s.finding(f)
	}
}

func (s *kafkaSink) finding(f *analyzer.Finding) {
	b, k := s.begin(f.CommunityID)
	if s.ecs != nil {
		b = s.ecs.AppendFinding(b, f)
	} else {
		b = eventjson.AppendFinding(b, f)
	}
	s.send(b, k)
}

// report sends a report to the reports topic, keyed by the sensor. It
// may be called beside the events (its own buffer).
func (s *kafkaSink) report(rep *analyzer.Report) {
	if s.reports == "" {
		return
	}
	if b, err := json.Marshal(rep); err == nil {
		s.p.SendTo(s.reports, s.sensorB, b, kgo.RecordHeader{Key: fleet.SensorHeader, Value: s.sensorB})
	}
}

// end sends the final findings, the counters and the whole report (to the
// reports topic), then flushes within the deadline.
func (s *kafkaSink) end(ctx context.Context, rep *analyzer.Report) {
	if !s.stream {
		for _, f := range rep.Findings {
			s.finding(f)
		}
	}
	c := &rep.Capture
	if s.ecs != nil {
		s.ecsRecord("", func() error { return s.ecs.Capture(c) })
	} else {
		s.buf.Reset()
		_ = s.enc.Encode(struct {
			Type string `json:"type"`
			*analyzer.CaptureInfo
		}{"capture", c})
		s.record("", bytes.TrimSuffix(s.buf.Bytes(), []byte{'\n'}))
	}
	s.report(rep)
	// Leave the interrupt behind: the flush has its own deadline.
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.timeout)
	defer cancel()
	s.stats = s.p.Close(fctx)
}
