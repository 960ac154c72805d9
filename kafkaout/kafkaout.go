package kafkaout

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// Config says where and how to produce.
type Config struct {
	Brokers []string // seed brokers, host:port
	Topic   string
	// TLS, when set, encrypts the connections.
	TLS *tls.Config
	// SASL is "", "PLAIN", "SCRAM-SHA-256" or "SCRAM-SHA-512", with User
	// and Password.
	SASL, User, Password string
	// Compression is "none" (the default when empty), "gzip", "snappy",
	// "lz4" or "zstd".
	Compression string
	// MaxBuffered caps the records waiting for the broker (default
	// 100000); past it records are dropped and counted, never waited for.
	MaxBuffered int
	// DeliveryTimeout fails a record the broker has not taken in this long
	// (default 30s).
	DeliveryTimeout time.Duration
	// ClientID names the producer to the brokers (default "orchard").
	ClientID string
	// Extra are further franz-go options (tests use them).
	Extra []kgo.Opt
}

// Stats counts the records of a producer.
type Stats struct {
	Topic     string `json:"topic"`
	Sent      uint64 `json:"sent"`      // handed to the producer (dropped ones too)
	Delivered uint64 `json:"delivered"` // acknowledged by the brokers
	Failed    uint64 `json:"failed"`    // rejected, timed out, or still buffered at the flush deadline
	Dropped   uint64 `json:"dropped"`   // not buffered: the buffer was full
}

// Undelivered is the number of records that did not reach the brokers.
func (s Stats) Undelivered() uint64 { return s.Failed + s.Dropped }

// Producer sends records to one topic. Send and SendTo may be called from
// several goroutines; Close once, after the last of them.
type Producer struct {
	cl        *kgo.Client
	topic     string
	sent      atomic.Uint64
	delivered atomic.Uint64
	failed    atomic.Uint64
	dropped   atomic.Uint64
	lastErr   atomic.Value // error
	promise   func(*kgo.Record, error)
	closed    atomic.Bool
	// counted is set once Close has counted every record still without
	// a result as failed: a promise that reports one later is ignored,
	// so no record counts twice.
	counted atomic.Bool
}

// ParseCompression returns the codec for a name: none, gzip, snappy, lz4
// or zstd.
func ParseCompression(name string) (kgo.CompressionCodec, error) {
	switch strings.ToLower(name) {
	case "", "none":
		return kgo.NoCompression(), nil
	case "gzip":
		return kgo.GzipCompression(), nil
	case "snappy":
		return kgo.SnappyCompression(), nil
	case "lz4":
		return kgo.Lz4Compression(), nil
	case "zstd":
		return kgo.ZstdCompression(), nil
	}
	return kgo.NoCompression(), fmt.Errorf("compression %q: want none, gzip, snappy, lz4 or zstd", name)
}

// Options turns a Config into franz-go client options (without the
// producer-only ones when the caller consumes).
func (c Config) Options() ([]kgo.Opt, error) {
	if len(c.Brokers) == 0 {
		return nil, errors.New("no Kafka brokers given")
	}
	id := c.ClientID
	if id == "" {
		id = "orchard"
	}
	opts := []kgo.Opt{kgo.SeedBrokers(c.Brokers...), kgo.ClientID(id)}
	if c.TLS != nil {
		opts = append(opts, kgo.DialTLSConfig(c.TLS))
	}
	switch strings.ToUpper(c.SASL) {
	case "":
	case "PLAIN":
		opts = append(opts, kgo.SASL(plain.Auth{User: c.User, Pass: c.Password}.AsMechanism()))
	case "SCRAM-SHA-256":
		opts = append(opts, kgo.SASL(scram.Auth{User: c.User, Pass: c.Password}.AsSha256Mechanism()))
	case "SCRAM-SHA-512":
		opts = append(opts, kgo.SASL(scram.Auth{User: c.User, Pass: c.Password}.AsSha512Mechanism()))
	default:
		return nil, fmt.Errorf("SASL mechanism %q: want PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512", c.SASL)
	}
	return append(opts, c.Extra...), nil
}

// New starts a producer. It does not wait for the brokers: an absent
// broker shows as failed records, not as an error here.
func New(c Config) (*Producer, error) {
	if c.Topic == "" {
		return nil, errors.New("no Kafka topic given")
	}
	opts, err := c.Options()
	if err != nil {
		return nil, err
	}
	codec, err := ParseCompression(c.Compression)
	if err != nil {
		return nil, err
	}
	maxBuf := c.MaxBuffered
	if maxBuf <= 0 {
		maxBuf = 100000
	}
	timeout := c.DeliveryTimeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	opts = append([]kgo.Opt{
		kgo.DefaultProduceTopic(c.Topic),
		kgo.ProducerBatchCompression(codec),
		kgo.MaxBufferedRecords(maxBuf),
		kgo.RecordDeliveryTimeout(timeout),
		kgo.ProducerLinger(5 * time.Millisecond),
		// Idempotent (franz-go's default, kept): acks from all in-sync
		// replicas, retries without duplicates.
		kgo.RequiredAcks(kgo.AllISRAcks()),
	}, opts...)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("kafka: %w", err)
	}
	p := &Producer{cl: cl, topic: c.Topic}
	p.promise = func(_ *kgo.Record, err error) {
		if p.counted.Load() {
			return
		}
		if errors.Is(err, kgo.ErrMaxBuffered) {
			p.dropped.Add(1)
			return
		}
		if err != nil {
			p.failed.Add(1)
			p.lastErr.Store(err)
			return
		}
		p.delivered.Add(1)
	}
	return p, nil
}

// Send queues one record to the producer's topic without waiting: when
// the buffer is full (the brokers are slow or away) the record is dropped
// and counted. value is kept, so the caller must not reuse it.
func (p *Producer) Send(key, value []byte, headers ...kgo.RecordHeader) {
	p.SendTo("", key, value, headers...)
}

// SendTo is Send to another topic ("" is the producer's own).
func (p *Producer) SendTo(topic string, key, value []byte, headers ...kgo.RecordHeader) {
	p.SendRecord(&kgo.Record{Topic: topic, Key: key, Value: value, Headers: headers})
}

// SendRecord is Send of a record made by the caller (from an Arena, say):
// the producer keeps it and what it points to until the brokers took it.
func (p *Producer) SendRecord(r *kgo.Record) {
	p.sent.Add(1)
	if p.closed.Load() {
		p.dropped.Add(1)
		return
	}
	p.cl.TryProduce(context.Background(), r, p.promise)
}

// Stats returns the counters so far.
func (p *Producer) Stats() Stats {
	return Stats{Topic: p.topic, Sent: p.sent.Load(), Delivered: p.delivered.Load(), Failed: p.failed.Load(), Dropped: p.dropped.Load()}
}

// LastError is the last delivery error, or nil.
func (p *Producer) LastError() error {
	if err, ok := p.lastErr.Load().(error); ok {
		return err
	}
	return nil
}

// Close flushes what is buffered until ctx ends, then closes the client;
// records still undelivered then are counted as failed.
func (p *Producer) Close(ctx context.Context) Stats {
	if p.closed.Swap(true) {
		return p.Stats()
	}
	_ = p.cl.Flush(ctx)
	p.cl.Close()
	// Close fails the records still buffered, and their promises may run
	// just after it returns: give them a moment, then count what is still
	// without a result as failed, once.
	for wait := time.Now().Add(time.Second); time.Now().Before(wait); time.Sleep(5 * time.Millisecond) {
		if s := p.Stats(); s.Delivered+s.Failed+s.Dropped >= s.Sent {
			break
		}
	}
	p.counted.Store(true)
	s := p.Stats()
	if done := s.Delivered + s.Failed + s.Dropped; done < s.Sent {
		p.failed.Add(s.Sent - done)
		s = p.Stats()
	}
	return s
}
