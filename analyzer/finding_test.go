package analyzer

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// readmeSection returns the README's section under the heading title, up
// to the next heading of its level.
func readmeSection(t *testing.T, title string) string {
	t.Helper()
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	i := strings.Index(s, "\n## "+title+"\n")
	if i < 0 {
		t.Fatalf("README has no section %q", title)
	}
	s = s[i+len(title)+5:]
	if j := strings.Index(s, "\n## "); j >= 0 {
		s = s[:j]
	}
	return s
}

// severities parses a README severity cell ("warn / error").
func severities(t *testing.T, cell string) []string {
	t.Helper()
	var out []string
	for _, w := range strings.Split(cell, "/") {
		w = strings.TrimSpace(w)
		if _, ok := ParseSeverity(w); !ok {
			t.Errorf("README severity %q is not one", w)
		}
		out = append(out, w)
	}
	slices.Sort(out)
	return out
}

// defSeverities are the severities a definition allows, as README writes them.
func defSeverities(d FindingDef) []string {
	out := []string{d.Severity.String()}
	if d.Also != 0 {
		out = append(out, d.Also.String())
	}
	slices.Sort(out)
	return out
}

// TestREADMEFindingsTable checks that the README's table of findings lists
// exactly the defined findings, each with the severities its rule gives,
// and that its paragraph on undecided findings names exactly those that
// may rest on an absent answer.
func TestREADMEFindingsTable(t *testing.T) {
	sec := readmeSection(t, "Findings and what to do")
	row := regexp.MustCompile("(?m)^\\| `([a-z0-9_.]+)`[^|]*\\|([^|]+)\\|")
	rows := row.FindAllStringSubmatch(sec, -1)
	if len(rows) == 0 {
		t.Fatal("README's findings table has no rows")
	}
	listed := map[string]bool{}
	for _, r := range rows {
		name := r[1]
		listed[name] = true
		d, ok := Definition(name)
		if !ok {
			t.Errorf("README lists %s, which no rule defines", name)
			continue
		}
		if got, want := severities(t, r[2]), defSeverities(d); !slices.Equal(got, want) {
			t.Errorf("README gives %s severity %v, its definition %v", name, got, want)
		}
	}
	for _, d := range Definitions() {
		if !listed[d.Name] {
			t.Errorf("README's findings table does not list %s", d.Name)
		}
	}

	i := strings.Index(sec, "**Undecided.**")
	if i < 0 {
		t.Fatal("README has no paragraph on undecided findings")
	}
	para := sec[i:]
	para = para[:strings.Index(para, "\n\n")]
	var named []string
	for _, m := range regexp.MustCompile("`([a-z0-9_]+\\.[a-z0-9_]+)`").FindAllStringSubmatch(para, -1) {
		named = append(named, m[1])
	}
	var absent []string
	for _, d := range Definitions() {
		if d.Absent {
			absent = append(absent, d.Name)
		}
	}
	slices.Sort(named)
	slices.Sort(absent)
	if !slices.Equal(named, absent) {
		t.Errorf("README's undecided findings %v, the definitions' %v", named, absent)
	}
}

// TestDefinitionsComplete checks that definitions() lists every
// FindingDef the package declares, once, each with a name, advice and a
// unit, and that names are unique.
func TestDefinitionsComplete(t *testing.T) {
	fset := token.NewFileSet()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	declared := map[string]bool{}
	for _, fn := range files {
		if strings.HasSuffix(fn, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, fn, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			vs, ok := n.(*ast.ValueSpec)
			if !ok {
				return true
			}
			for i, v := range vs.Values {
				if cl, ok := v.(*ast.CompositeLit); ok {
					if id, ok := cl.Type.(*ast.Ident); ok && id.Name == "FindingDef" {
						declared[vs.Names[i].Name] = true
					}
				}
			}
			return true
		})
	}
	defs := definitions()
	if len(defs) != len(declared) {
		t.Errorf("%d definitions declared (%v), %d listed", len(declared), declared, len(defs))
	}
	names := map[string]bool{}
	for _, d := range defs {
		switch {
		case names[d.Name]:
			t.Errorf("%s is defined twice", d.Name)
		case d.Name == "" || d.Advice == "" || d.Unit == "":
			t.Errorf("%+v lacks a name, advice or unit", *d)
		case d.Severity == 0:
			t.Errorf("%s has no severity", d.Name)
		}
		names[d.Name] = true
	}
}
