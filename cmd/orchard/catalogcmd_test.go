package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"orchard/catalog"
)

func TestRunCatalog(t *testing.T) {
	dir := t.TempDir()
	mdm := filepath.Join(dir, "mdm.tsv")
	if err := os.WriteFile(mdm, []byte("section\thost\tports\tprotocols\tos\tdescription\tproxy\teditions\tnote\n"+
		"Internal\tmdm.example.org\t443\tTCP\tmacOS\tOur MDM server\tyes\tlocal\n"+
		"Device management\t*.push.apple.com\t5223\tTCP\t\tPush through our relay\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.tsv")
	if err := os.WriteFile(bad, []byte("section\thost\tports\nS\ta.example\t44x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	def, err := catalog.Default()
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name        string
		args        []string
		code        int
		stdout      []string // substrings, in this order
		notStdout   []string
		stderr      string // substring; "" means stderr must be empty
		emptyStdout bool
	}{
		{name: "whole catalog", args: nil, code: 0,
			stdout: []string{"Device setup (10)", "albert.apple.com", "Device management", "*.push.apple.com", "Apple address block (1)", "17.0.0.0/8"}},
		{name: "section filter", args: []string{"--section", "SOFTWARE"}, code: 0,
			stdout: []string{"Software updates (", "mesu.apple.com"}, notStdout: []string{"Device setup (", "albert.apple.com"}},
		{name: "section filter no match", args: []string{"--section", "no such section"}, code: 1,
			stderr: `no section matches "no such section"`, emptyStdout: true},
		{name: "exact", args: []string{"albert.apple.com"}, code: 0,
			stdout: []string{"albert.apple.com", "exact", "Device setup", "Device activation"}},
		{name: "two sections", args: []string{"GS.Apple.com."}, code: 0,
			stdout: []string{"Device setup", "Software updates"}},
		{name: "wildcard", args: []string{"1-courier.push.apple.com"}, code: 0,
			stdout: []string{"wildcard", "*.push.apple.com", "5223"}},
		{name: "catch-all", args: []string{"query.ess.apple.com"}, code: 0,
			stdout: []string{"wildcard (catch-all)", "*.apple.com"}},
		{name: "address, most specific first", args: []string{"17.249.12.3"}, code: 0,
			stdout: []string{"17.249.0.0/16", "cidr (catch-all)", "17.0.0.0/8"}},
		{name: "IPv6 APNs", args: []string{"2620:149:a44::10"}, code: 0,
			stdout: []string{"2620:149:a44::/48"}},
		{name: "pattern", args: []string{"*.push.apple.com"}, code: 0,
			stdout: []string{"pattern", "*.push.apple.com"}},
		{name: "CIDR pattern", args: []string{"17.0.0.0/8"}, code: 0,
			stdout: []string{"pattern", "Apple address block"}},
		{name: "no match", args: []string{"nope.example"}, code: 1,
			stderr: `"nope.example" matches no catalog row`, emptyStdout: true},
		{name: "non-Apple address", args: []string{"8.8.8.8"}, code: 1,
			stderr: `"8.8.8.8" matches no catalog row`, emptyStdout: true},
		{name: "one of two misses", args: []string{"albert.apple.com", "nope.example"}, code: 1,
			stdout: []string{"albert.apple.com"}, stderr: `"nope.example" matches no catalog row`},
		{name: "lookup outside section", args: []string{"--section", "icloud", "albert.apple.com"}, code: 1,
			stderr: `"albert.apple.com" matches no row in a section containing "icloud"`, emptyStdout: true},
		{name: "csv list", args: []string{"--format", "csv", "--section", "Apple address block"}, code: 0,
			stdout: []string{"section,host,ports,protocols,os,description,proxy,editions,note,source\n", "Apple address block,17.0.0.0/8,,,"}},
		{name: "csv lookup", args: []string{"--format=csv", "time.apple.com"}, code: 0,
			stdout: []string{"query,match,section,host", "time.apple.com,exact,Device setup,time.apple.com,123,UDP"}},
		{name: "json no match", args: []string{"--format", "json", "nope.example"}, code: 1,
			stdout: []string{"[]"}, stderr: "matches no catalog row"},
		{name: "extra catalog adds", args: []string{"--catalog", mdm, "mdm.example.org"}, code: 0,
			stdout: []string{"mdm.example.org", "Our MDM server"}},
		{name: "extra catalog overrides", args: []string{"--catalog", mdm, "--format", "json", "5-courier.push.apple.com"}, code: 0,
			stdout: []string{`"description": "Push through our relay"`, `"source": "` + mdm + `:3"`}, notStdout: []string{"2197"}},
		{name: "extra catalog missing", args: []string{"--catalog", filepath.Join(dir, "missing.tsv")}, code: 2,
			stderr: "--catalog: open", emptyStdout: true},
		{name: "extra catalog invalid", args: []string{"--catalog", bad}, code: 2,
			stderr: `bad.tsv:2: ports: bad number "44x"`, emptyStdout: true},
		{name: "bad format", args: []string{"--format", "yaml"}, code: 2,
			stderr: `unknown --format "yaml"`, emptyStdout: true},
		{name: "bad flag", args: []string{"--bogus"}, code: 2,
			stderr: "orchard catalog: unknown flag --bogus (see orchard catalog -h)\n", emptyStdout: true},
		{name: "missing flag value", args: []string{"--section"}, code: 2,
			stderr: "needs a value", emptyStdout: true},
		{name: "help", args: []string{"-h"}, code: 0,
			stdout: []string{"Usage: orchard catalog", "--catalog FILE", "--format", "--section NAME", "Examples:", "orchard catalog 1-courier.push.apple.com"}},
		{name: "long help", args: []string{"--help", "albert.apple.com"}, code: 0,
			stdout: []string{"Usage: orchard catalog"}, notStdout: []string{"Device activation"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := runCatalog(tt.args, &out, &errb)
			if code != tt.code {
				t.Errorf("exit %d, want %d; stderr: %s", code, tt.code, errb.String())
			}
			s := out.String()
			rest := s
			for _, want := range tt.stdout {
				i := strings.Index(rest, want)
				if i < 0 {
					t.Errorf("stdout lacks %q (in order):\n%s", want, s)
					break
				}
				rest = rest[i+len(want):]
			}
			for _, not := range tt.notStdout {
				if strings.Contains(s, not) {
					t.Errorf("stdout has %q:\n%s", not, s)
				}
			}
			if tt.emptyStdout && s != "" {
				t.Errorf("stdout not empty:\n%s", s)
			}
			if tt.stderr == "" && errb.Len() > 0 {
				t.Errorf("unexpected stderr: %s", errb.String())
			}
			if tt.stderr != "" && !strings.Contains(errb.String(), tt.stderr) {
				t.Errorf("stderr %q lacks %q", errb.String(), tt.stderr)
			}
		})
	}

	t.Run("json list has every row and field", func(t *testing.T) {
		var out, errb bytes.Buffer
		if code := runCatalog([]string{"--format", "json"}, &out, &errb); code != 0 {
			t.Fatalf("exit %d: %s", code, errb.String())
		}
		var rows []map[string]any
		if err := json.Unmarshal(out.Bytes(), &rows); err != nil {
			t.Fatal(err)
		}
		if len(rows) != def.Len() {
			t.Fatalf("%d rows, catalog has %d", len(rows), def.Len())
		}
		for _, r := range rows {
			for _, k := range []string{"host", "section", "ports", "protocols", "os", "description", "proxy", "editions", "note", "source"} {
				if _, ok := r[k]; !ok {
					t.Fatalf("row %v lacks %q", r, k)
				}
			}
			if _, ok := r["ports"].([]any); !ok {
				t.Fatalf("ports of %v is not an array", r["host"])
			}
			if _, ok := r["protocols"].([]any); !ok {
				t.Fatalf("protocols of %v is not an array", r["host"])
			}
			if _, ok := r["query"]; ok {
				t.Fatal("list rows carry a query")
			}
		}
		if rows[0]["host"] != "albert.apple.com" || rows[0]["ports"].([]any)[0] != float64(443) {
			t.Errorf("first row %v", rows[0])
		}
	})

	t.Run("csv list parses", func(t *testing.T) {
		var out, errb bytes.Buffer
		if code := runCatalog([]string{"--format", "csv"}, &out, &errb); code != 0 {
			t.Fatalf("exit %d: %s", code, errb.String())
		}
		recs, err := csv.NewReader(&out).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) != def.Len()+1 {
			t.Fatalf("%d records, catalog has %d rows", len(recs), def.Len())
		}
		for _, r := range recs {
			if len(r) != 10 {
				t.Fatalf("record %q has %d fields", r, len(r))
			}
		}
	})
}
