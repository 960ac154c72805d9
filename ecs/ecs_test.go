package ecs_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"orchard/analyzer"
	"orchard/ecs"
	"orchard/internal/sharedtest"
)

// field is one ECS field definition of ecs_flat.yml.
type field struct {
	Type          string   `yaml:"type"`
	Normalize     []string `yaml:"normalize"`
	AllowedValues []struct {
		Name               string   `yaml:"name"`
		ExpectedEventTypes []string `yaml:"expected_event_types"`
	} `yaml:"allowed_values"`
}

func loadSchema(t *testing.T) map[string]field {
	t.Helper()
	b, err := os.ReadFile(sharedtest.Path(t, filepath.Join("reference", "ecs", "ecs_flat.yml")))
	if err != nil {
		t.Fatal(err)
	}
	var s map[string]field
	if err := yaml.Unmarshal(b, &s); err != nil {
		t.Fatalf("ecs_flat.yml: %v", err)
	}
	if len(s) < 1000 {
		t.Fatalf("ecs_flat.yml: only %d fields", len(s))
	}
	return s
}

// docSink writes every event as ECS into a buffer.
type docSink struct{ w *ecs.Writer }

func (s docSink) Flow(e *analyzer.FlowEvent)  { _ = s.w.Flow(e) }
func (s docSink) DNS(e *analyzer.DNSEvent)    { _ = s.w.DNS(e) }
func (s docSink) Finding(f *analyzer.Finding) { _ = s.w.Finding(f) }

// render analyses files and returns their ECS documents.
func render(t *testing.T, files ...string) []map[string]any {
	t.Helper()
	var buf bytes.Buffer
	w := ecs.NewWriter(&buf, ecs.Observer{Name: "school-12", Hostname: "sensor-a"})
	e, err := analyzer.New(analyzer.Config{Sink: docSink{w}, AllHosts: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if _, err := e.ReadFile(context.Background(), f, nil); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
	}
	rep := e.Finish()
	if err := w.Capture(&rep.Capture); err != nil {
		t.Fatal(err)
	}
	var docs []map[string]any
	sc := bufio.NewScanner(&buf)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var d map[string]any
		if err := json.Unmarshal(sc.Bytes(), &d); err != nil {
			t.Fatalf("line %d: %v: %s", len(docs)+1, err, sc.Bytes())
		}
		docs = append(docs, d)
	}
	return docs
}

// flatten lists a document's leaf values by dotted name; arrays of
// objects (dns.answers) are flattened element by element.
func flatten(prefix string, v any, out map[string][]any) {
	switch x := v.(type) {
	case map[string]any:
		for k, c := range x {
			name := k
			if prefix != "" {
				name = prefix + "." + k
			}
			flatten(name, c, out)
		}
	case []any:
		for _, c := range x {
			if _, ok := c.(map[string]any); ok {
				out[prefix] = append(out[prefix], c)
				flatten(prefix, c, out)
				continue
			}
			out[prefix] = append(out[prefix], c)
		}
	default:
		out[prefix] = append(out[prefix], v)
	}
}

// typeOK reports whether a JSON value fits an ECS field type.
func typeOK(typ string, v any) bool {
	switch typ {
	case "keyword", "constant_keyword", "wildcard", "text", "match_only_text":
		_, ok := v.(string)
		return ok
	case "ip":
		s, ok := v.(string)
		if !ok {
			return false
		}
		_, err := netip.ParseAddr(s)
		return err == nil
	case "date":
		s, ok := v.(string)
		if !ok {
			return false
		}
		_, err := time.Parse(time.RFC3339Nano, s)
		return err == nil
	case "long", "integer", "short", "byte", "unsigned_long":
		n, ok := v.(float64)
		return ok && n == float64(int64(n))
	case "float", "double", "scaled_float", "half_float":
		_, ok := v.(float64)
		return ok
	case "boolean":
		_, ok := v.(bool)
		return ok
	case "object", "nested", "flattened":
		_, ok := v.(map[string]any)
		return ok
	}
	return false
}

// TestConformance checks every field orchard emits against ECS's flat
// schema: the name exists (orchard.* aside), the value has the field's
// type, arrays only where ECS allows them, and event.kind, category and
// type take allowed values that fit together.
func TestConformance(t *testing.T) {
	schema := loadSchema(t)
	files := []string{filepath.Join("..", "testdata", "demo-ipad.pcap")}
	for _, name := range []string{"ndpi-iphone.pcap", "zeek-ntp-apple_servers.pcap", "sv-http_connect_tls.pcap", "ndpi-dns_fragmented-ipv6.pcap"} {
		if p := filepath.Join(sharedtest.Dir(t), "pcaps", name); fileExists(p) {
			files = append(files, p)
		}
	}
	docs := render(t, files...)
	kinds := map[string]int{}
	seen := map[string]bool{}
	for i, d := range docs {
		flat := map[string][]any{}
		flatten("", d, flat)
		for _, req := range []string{"@timestamp", "ecs.version", "event.kind", "event.category", "event.type", "observer.name", "observer.type"} {
			if len(flat[req]) == 0 {
				t.Errorf("doc %d: no %s", i, req)
			}
		}
		for name, vals := range flat {
			seen[name] = true
			if name == "orchard" || strings.HasPrefix(name, "orchard.") {
				continue
			}
			f, ok := schema[name]
			if !ok {
				t.Errorf("doc %d: %s is not an ECS field", i, name)
				continue
			}
			if len(vals) > 1 && !arrayAllowed(schema, name) {
				t.Errorf("doc %d: %s has %d values, ECS does not make it an array", i, name, len(vals))
			}
			for _, v := range vals {
				if !typeOK(f.Type, v) {
					t.Errorf("doc %d: %s = %v (%T) does not fit ECS type %s", i, name, v, v, f.Type)
				}
			}
		}
		kind, _ := d["event"].(map[string]any)["kind"].(string)
		kinds[kind]++
		if !allowed(schema["event.kind"], kind) {
			t.Errorf("doc %d: event.kind %q not allowed", i, kind)
		}
		var expected []string
		for _, c := range flat["event.category"] {
			c, _ := c.(string)
			if !allowed(schema["event.category"], c) {
				t.Errorf("doc %d: event.category %q not allowed", i, c)
			}
			for _, av := range schema["event.category"].AllowedValues {
				if av.Name == c {
					expected = append(expected, av.ExpectedEventTypes...)
				}
			}
		}
		for _, ty := range flat["event.type"] {
			ty, _ := ty.(string)
			if !allowed(schema["event.type"], ty) {
				t.Errorf("doc %d: event.type %q not allowed", i, ty)
			}
			if !slices.Contains(expected, ty) {
				t.Errorf("doc %d: event.type %q not expected for categories %v", i, ty, flat["event.category"])
			}
		}
		if v := flat["observer.type"]; len(v) != 1 || v[0] != "sensor" {
			t.Errorf("doc %d: observer.type %v", i, v)
		}
		if kind != "metric" && len(flat["network.community_id"]) != 1 {
			t.Errorf("doc %d (%s): no network.community_id", i, kind)
		}
	}
	// The test is only as good as what was rendered: every kind of
	// document and the fields the issue names must have been checked.
	if kinds["event"] == 0 || kinds["alert"] == 0 || kinds["metric"] != 1 {
		t.Errorf("kinds rendered: %v", kinds)
	}
	for _, name := range []string{"dns.question.name", "dns.answers.data", "dns.response_code", "rule.name", "rule.category", "rule.reference",
		"event.severity", "message", "source.ip", "source.port", "source.mac", "destination.ip", "destination.port",
		"tls.client.server_name", "tls.version", "tls.server.issuer", "tls.server.subject", "process.name", "observer.name",
		"http.request.method", "http.response.status_code", "orchard.ja4", "orchard.section", "orchard.name_source", "orchard.verdict", "orchard.advice"} {
		if !seen[name] {
			t.Errorf("no document has %s", name)
		}
	}
	t.Logf("%d documents of %d captures, %d distinct fields, kinds %v", len(docs), len(files), len(seen), kinds)
}

// arrayAllowed reports whether a field may hold several values: ECS
// normalises it to an array, or it lies in an array of objects
// (dns.answers.data).
func arrayAllowed(schema map[string]field, name string) bool {
	for n := name; n != ""; {
		if slices.Contains(schema[n].Normalize, "array") {
			return true
		}
		i := strings.LastIndexByte(n, '.')
		if i < 0 {
			break
		}
		n = n[:i]
	}
	return false
}

func allowed(f field, v string) bool {
	for _, av := range f.AllowedValues {
		if av.Name == v {
			return true
		}
	}
	return false
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// TestFindingAlert checks the finding document's mapping on one finding of
// the demo.
func TestFindingAlert(t *testing.T) {
	docs := render(t, filepath.Join("..", "testdata", "demo-ipad.pcap"))
	var got map[string]any
	for _, d := range docs {
		if r, ok := d["rule"].(map[string]any); ok && r["name"] == "tls.intercepted" {
			got = d
		}
	}
	if got == nil {
		t.Fatal("no tls.intercepted alert")
	}
	flat := map[string][]any{}
	flatten("", got, flat)
	want := map[string]any{
		"event.kind": "alert", "event.severity": float64(ecs.SeverityError), "rule.reference": ecs.Reference,
		"destination.domain": "mdmenrollment.apple.com", "tls.client.server_name": "mdmenrollment.apple.com",
		"process.name": "mdmd", "source.ip": "10.20.30.41", "source.mac": "3C-22-FB-12-34-56", "destination.port": float64(443),
		"orchard.section": "Device management", "observer.name": "school-12", "observer.hostname": "sensor-a", "rule.category": "tls",
	}
	for k, v := range want {
		if len(flat[k]) != 1 || flat[k][0] != v {
			t.Errorf("%s = %v, want %v", k, flat[k], v)
		}
	}
	if m, _ := got["message"].(string); !strings.Contains(m, "Zscaler") {
		t.Errorf("message %q does not carry the evidence", m)
	}
}
