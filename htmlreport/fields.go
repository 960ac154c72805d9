package htmlreport

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// findingFields are the JSON fields of a finding the page lays out itself;
// any other field is listed under "More facts" by its JSON name.
var findingFields = map[string]bool{
	"type": true, "finding": true, "severity": true, "host": true, "name_source": true,
	"service": true, "section": true, "client": true, "client_mac": true, "process": true,
	"server": true, "port": true, "proto": true, "count": true, "first": true, "last": true,
	"evidence": true, "advice": true,
}

// captureFields are the JSON fields of the capture information the page
// lays out itself; others (such as a visibility assessment) become notes.
var captureFields = map[string]bool{
	"files": true, "first": true, "last": true, "duration": true, "packets": true,
	"bytes": true, "flows": true, "apple_flows": true, "devices": true, "stats": true,
	"warnings": true, "errors": true, "live": true,
}

// member is one field of a JSON object, in document order.
type member struct {
	key string
	val json.RawMessage
}

// members reads a JSON object's fields in order.
func members(raw []byte) ([]member, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, errors.New("not a JSON object")
	}
	var out []member
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		k, ok := tok.(string)
		if !ok {
			return nil, errors.New("object key is not a string")
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("field %q: %w", k, err)
		}
		out = append(out, member{k, v})
	}
	return out, nil
}

// objectMembers marshals v and returns its fields.
func objectMembers(v any) ([]member, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return members(raw)
}

// extraFields lists v's JSON fields that known does not name, as text;
// empty values are left out.
func extraFields(v any, known map[string]bool) ([]Field, error) {
	ms, err := objectMembers(v)
	if err != nil {
		return nil, err
	}
	var out []Field
	for _, m := range ms {
		if known[m.key] {
			continue
		}
		if s := valueText(m.val); s != "" {
			out = append(out, Field{Name: m.key, Value: s})
		}
	}
	return out, nil
}

// valueText renders a JSON value for reading: strings as they are, numbers
// and booleans as written, arrays of scalars joined by commas, anything
// else as compact JSON. null, "" and empty arrays give "".
func valueText(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	switch raw[0] {
	case '"':
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return s
		}
	case '[':
		var arr []json.RawMessage
		if json.Unmarshal(raw, &arr) == nil {
			parts := make([]string, 0, len(arr))
			scalar := true
			for _, a := range arr {
				a = bytes.TrimSpace(a)
				if len(a) > 0 && (a[0] == '{' || a[0] == '[') {
					scalar = false
					break
				}
				if s := valueText(a); s != "" {
					parts = append(parts, s)
				}
			}
			if scalar {
				return strings.Join(parts, ", ")
			}
		}
	case '{':
		ms, err := members(raw)
		if err == nil {
			parts := make([]string, 0, len(ms))
			for _, m := range ms {
				if s := valueText(m.val); s != "" {
					parts = append(parts, m.key+": "+s)
				}
			}
			return strings.Join(parts, "; ")
		}
	}
	var buf bytes.Buffer
	if json.Compact(&buf, raw) == nil {
		return buf.String()
	}
	return string(raw)
}

// humanKey turns a JSON name into words: "apple_flows" → "apple flows".
func humanKey(k string) string { return strings.ReplaceAll(k, "_", " ") }

// counterText shows a JSON number with thousands separators when it is a
// whole number, else as written.
func counterText(raw json.RawMessage) string {
	if n, err := strconv.ParseUint(string(bytes.TrimSpace(raw)), 10, 64); err == nil {
		return thousands(n)
	}
	return valueText(raw)
}
