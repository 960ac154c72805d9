package eventjson_test

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"path/filepath"
	"testing"

	"orchard/analyzer"
	"orchard/eventjson"
	"orchard/internal/filltest"
	"orchard/internal/sharedtest"
)

// std is what the NDJSON stream writes: encoding/json, HTML escaping off.
func std(t testing.TB, v any) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte{'\n'})
}

func TestEveryField(t *testing.T) {
	var fe analyzer.FlowEvent
	var de analyzer.DNSEvent
	var fd analyzer.Finding
	filltest.Fill(&fe)
	filltest.Fill(&de)
	filltest.Fill(&fd)
	tests := []struct {
		name string
		got  []byte
		v    any
	}{
		{"flow", eventjson.AppendFlow(nil, &fe), &fe},
		{"dns", eventjson.AppendDNS(nil, &de), &de},
		{"finding", eventjson.AppendFinding(nil, &fd), &fd},
		{"empty flow", eventjson.AppendFlow(nil, &analyzer.FlowEvent{}), &analyzer.FlowEvent{}},
		{"empty dns", eventjson.AppendDNS(nil, &analyzer.DNSEvent{}), &analyzer.DNSEvent{}},
		{"dns no answers", eventjson.AppendDNS(nil, &analyzer.DNSEvent{Answers: []analyzer.DNSAnswer{}}), &analyzer.DNSEvent{Answers: []analyzer.DNSAnswer{}}},
		{"empty finding", eventjson.AppendFinding(nil, &analyzer.Finding{}), &analyzer.Finding{}},
	}
	for _, tc := range tests {
		if want := std(t, tc.v); !bytes.Equal(tc.got, want) {
			t.Errorf("%s:\n got  %s\n want %s", tc.name, tc.got, want)
		}
	}
}

type both struct {
	t      *testing.T
	n      int
	buf    []byte
	failed bool
}

func (s *both) check(got []byte, v any) {
	s.n++
	if want := std(s.t, v); !bytes.Equal(got, want) && !s.failed {
		s.failed = true
		s.t.Errorf("differs from encoding/json:\n got  %s\n want %s", got, want)
	}
}

func (s *both) Flow(e *analyzer.FlowEvent) {
	s.buf = eventjson.AppendFlow(s.buf[:0], e)
	s.check(s.buf, e)
}
func (s *both) DNS(e *analyzer.DNSEvent) {
	s.buf = eventjson.AppendDNS(s.buf[:0], e)
	s.check(s.buf, e)
}
func (s *both) Finding(f *analyzer.Finding) {
	s.buf = eventjson.AppendFinding(s.buf[:0], f)
	s.check(s.buf, f)
}

// TestRealEvents compares every event of the demo and of the shared
// captures with encoding/json.
func TestRealEvents(t *testing.T) {
	files := []string{filepath.Join("..", "testdata", "demo-ipad.pcap")}
	if sharedtest.Optional("pcaps") != "" {
		files = append(files, sharedtest.Pcaps(t)...)
	}
	s := &both{t: t}
	for _, f := range files {
		e, err := analyzer.New(analyzer.Config{Sink: s, AllHosts: true})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.ReadFile(context.Background(), f, nil); err != nil {
			t.Logf("%s: %v", f, err)
		}
		for _, fd := range e.Finish().Findings {
			s.Finding(fd)
		}
	}
	t.Logf("%d events of %d captures alike", s.n, len(files))
}

func TestAllocs(t *testing.T) {
	var fe analyzer.FlowEvent
	filltest.Fill(&fe)
	buf := eventjson.AppendFlow(nil, &fe)
	if a := testing.AllocsPerRun(100, func() { buf = eventjson.AppendFlow(buf[:0], &fe) }); a != 0 {
		t.Errorf("AppendFlow allocates %.0f times", a)
	}
}

func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "plain", "\"\\\n\r\t\b\f\x00\x1f\x7f", "<&>", "\u2028\u2029", "\xff\xfe", "é日本\U0001F600", "\xed\xa0\x80"} {
		f.Add(s, 1.5)
	}
	f.Add("x", 1e-7)
	f.Add("x", 1e21)
	f.Add("x", -0.000001)
	f.Fuzz(func(t *testing.T, s string, x float64) {
		if got, want := eventjson.AppendString(nil, s), std(t, s); !bytes.Equal(got, want) {
			t.Fatalf("%q: got %s, want %s", s, got, want)
		}
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return
		}
		if got, want := eventjson.AppendFloat(nil, x), std(t, x); !bytes.Equal(got, want) {
			t.Fatalf("%v: got %s, want %s", x, got, want)
		}
	})
}

func BenchmarkAppendFlow(b *testing.B) {
	var fe analyzer.FlowEvent
	filltest.Fill(&fe)
	b.Run("eventjson", func(b *testing.B) {
		var buf []byte
		for b.Loop() {
			buf = eventjson.AppendFlow(buf[:0], &fe)
		}
	})
	b.Run("encoding/json", func(b *testing.B) {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		for b.Loop() {
			buf.Reset()
			_ = enc.Encode(&fe)
		}
	})
}
