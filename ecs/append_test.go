package ecs_test

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"testing"

	"orchard/analyzer"
	"orchard/ecs"
	"orchard/internal/filltest"
	"orchard/internal/sharedtest"
)

// std is encoding/json's document, HTML escaping off as the streams have
// it.
func std(t testing.TB, d *ecs.Doc) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(d); err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte{'\n'})
}

// TestAppendEveryField compares AppendJSON with encoding/json on a
// document with every field set, on empty parts and on documents of
// filled events.
func TestAppendEveryField(t *testing.T) {
	var full ecs.Doc
	filltest.Fill(&full)
	empty := ecs.Doc{Network: &ecs.Network{}, Source: &ecs.Endpoint{}, Destination: &ecs.Endpoint{}, Process: &ecs.Process{},
		TLS: &ecs.TLS{Client: &ecs.TLSClient{}, Server: &ecs.TLSServer{}}, HTTP: &ecs.HTTP{}, URL: &ecs.URL{},
		UserAgent: &ecs.UserAgent{}, DNS: &ecs.DNS{Answers: []ecs.DNSAnswer{}}, Rule: &ecs.Rule{},
		Orchard: &ecs.Orchard{NTP: &ecs.NTP{}, Capture: &ecs.Capture{}}, Related: &ecs.Related{IP: []string{}}}
	empty.Event.Category = []string{}
	var fe analyzer.FlowEvent
	var de analyzer.DNSEvent
	var fd analyzer.Finding
	var ci analyzer.CaptureInfo
	filltest.Fill(&fe)
	filltest.Fill(&de)
	filltest.Fill(&fd)
	filltest.Fill(&ci)
	o := ecs.Observer{Name: "site \"a\"", Hostname: "h<1>"}
	tests := []struct {
		name string
		doc  *ecs.Doc
	}{
		{"every field", &full},
		{"zero", &ecs.Doc{}},
		{"empty parts", &empty},
		{"filled flow", ecs.FlowDoc(&fe, o)},
		{"filled dns", ecs.DNSDoc(&de, o)},
		{"filled finding", ecs.FindingDoc(&fd, o)},
		{"filled capture", ecs.CaptureDoc(&ci, o)},
		{"empty flow", ecs.FlowDoc(&analyzer.FlowEvent{}, ecs.Observer{})},
		{"empty dns", ecs.DNSDoc(&analyzer.DNSEvent{}, ecs.Observer{})},
		{"empty finding", ecs.FindingDoc(&analyzer.Finding{}, ecs.Observer{})},
	}
	for _, tc := range tests {
		if got, want := tc.doc.AppendJSON(nil), std(t, tc.doc); !bytes.Equal(got, want) {
			t.Errorf("%s:\n got  %s\n want %s", tc.name, got, want)
		}
	}
}

// alike compares every document of a capture's events with encoding/json,
// and what a Writer (which reuses its documents from event to event)
// appends with both.
type alike struct {
	t      *testing.T
	o      ecs.Observer
	w      *ecs.Writer
	n      int
	buf    []byte
	failed bool
}

func (s *alike) check(d *ecs.Doc, written []byte) {
	s.n++
	s.buf = d.AppendJSON(s.buf[:0])
	want := std(s.t, d)
	if (!bytes.Equal(s.buf, want) || written != nil && !bytes.Equal(written, want)) && !s.failed {
		s.failed = true
		s.t.Errorf("differs from encoding/json:\n got  %s\n writer %s\n want %s", s.buf, written, want)
	}
}

func (s *alike) Flow(e *analyzer.FlowEvent) { s.check(ecs.FlowDoc(e, s.o), s.w.AppendFlow(nil, e)) }
func (s *alike) DNS(e *analyzer.DNSEvent)   { s.check(ecs.DNSDoc(e, s.o), s.w.AppendDNS(nil, e)) }
func (s *alike) Finding(f *analyzer.Finding) {
	s.check(ecs.FindingDoc(f, s.o), s.w.AppendFinding(nil, f))
}

// TestAppendRealEvents compares the documents of every event of the demo
// and of the shared captures with encoding/json.
func TestAppendRealEvents(t *testing.T) {
	files := []string{filepath.Join("..", "testdata", "demo-ipad.pcap")}
	if sharedtest.Optional("pcaps") != "" {
		files = append(files, sharedtest.Pcaps(t)...)
	}
	o := ecs.Observer{Name: "school-12", Hostname: "sensor-a"}
	s := &alike{t: t, o: o, w: ecs.NewWriter(nil, o)}
	for _, f := range files {
		e, err := analyzer.New(analyzer.Config{Sink: s, AllHosts: true})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.ReadFile(context.Background(), f, nil); err != nil {
			t.Logf("%s: %v", f, err)
		}
		rep := e.Finish()
		for _, fd := range rep.Findings {
			s.Finding(fd)
		}
		s.check(ecs.CaptureDoc(&rep.Capture, s.o), nil)
	}
	t.Logf("%d documents of %d captures alike", s.n, len(files))
}

// FuzzAppendJSON compares AppendJSON with encoding/json on documents of
// fuzzed strings and numbers.
func FuzzAppendJSON(f *testing.F) {
	f.Add("1:abc", "10.0.0.1", "aa:bb:cc:dd:ee:ff", "TLS1.3", uint16(443), 1.5, uint64(7))
	f.Add("\xff\x00<&>", "::ffff:1.2.3.4", "", "DTLS1.2", uint16(0), 1e-7, uint64(0))
	f.Fuzz(func(t *testing.T, s1, s2, s3, s4 string, port uint16, dur float64, n uint64) {
		e := &analyzer.FlowEvent{CommunityID: s1, Client: s2, Server: s2, ClientMAC: s3, TLSVersion: s4, SNI: s1, Host: s3,
			Port: port, Duration: dur, BytesClient: n, Findings: []string{s4}, Apple: port%2 == 0}
		d := ecs.FlowDoc(e, ecs.Observer{Name: s3})
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(d); err != nil {
			return // NaN or an infinity: encoding/json refuses them
		}
		if got, want := d.AppendJSON(nil), bytes.TrimSuffix(buf.Bytes(), []byte{'\n'}); !bytes.Equal(got, want) {
			t.Fatalf("\n got  %s\n want %s", got, want)
		}
	})
}

// TestWriterAllocs checks that a Writer appends flow and DNS documents
// without allocating once warm (the MAC is rewritten in ECS's notation,
// which costs its string).
func TestWriterAllocs(t *testing.T) {
	var fe analyzer.FlowEvent
	var de analyzer.DNSEvent
	filltest.Fill(&fe)
	filltest.Fill(&de)
	fe.ClientMAC, fe.VLAN = "", 7
	fe.Client, de.Client = "192.0.2.1", "2001:db8::1" // an address that does not parse costs its error
	w := ecs.NewWriter(nil, ecs.Observer{Name: "a"})
	buf := w.AppendFlow(nil, &fe)
	buf = w.AppendDNS(buf, &de)
	tests := []struct {
		name string
		f    func()
	}{
		{"flow", func() { buf = w.AppendFlow(buf[:0], &fe) }},
		{"dns", func() { buf = w.AppendDNS(buf[:0], &de) }},
	}
	for _, tc := range tests {
		if a := testing.AllocsPerRun(100, tc.f); a != 0 {
			t.Errorf("%s allocates %.0f times", tc.name, a)
		}
	}
}
