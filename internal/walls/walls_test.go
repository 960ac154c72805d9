package walls

import (
	"fmt"
	"maps"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// pure lists the packages that must import nothing of orchard's own: they are
// parsers and readers any other program could use.
var pure = []string{
	"orchard/dissect",
	"orchard/catalog",
	"orchard/capture",
	"orchard/decode",
	"orchard/trust",
	"orchard/communityid",
	"orchard/kafkaout",
	"orchard/internal/crash",
	"orchard/internal/capgen",
	"orchard/internal/filltest",
	"orchard/internal/sharedtest",
}

// outputs render or ship what the analyzer decided. They are siblings:
// none imports another (ecs builds on eventjson, the one exception), and
// the analyzer imports none of them.
var outputs = []string{
	"orchard/ecs",
	"orchard/eventjson",
	"orchard/htmlreport",
	"orchard/fleet",
	"orchard/kafkaout",
	"orchard/internal/sensor",
}

// outputBuildsOn are the imports between outputs that are allowed.
var outputBuildsOn = map[string][]string{"orchard/ecs": {"orchard/eventjson"}}

// testTools are for tests and development commands only: no shipped
// package depends on them.
var testTools = []string{
	"orchard/internal/capgen",
	"orchard/internal/demo",
	"orchard/internal/stress",
	"orchard/internal/lab",
	"orchard/internal/filltest",
	"orchard/internal/sharedtest",
}

// devCommands may use the test tools: they build inputs and time runs.
var devCommands = []string{
	"orchard/cmd/orchard-bench",
	"orchard/internal/stress/cmd/orchard-stress",
}

// onlyOurs lists packages that may depend on only these of orchard's.
var onlyOurs = map[string][]string{
	// The server shapes read the dissectors' ServerHello.
	"orchard/shapes": {"orchard/dissect"},
	// Reassembly files the fragments decode found.
	"orchard/defrag": {"orchard/decode"},
	// The flow engine decodes, reassembles and dissects; it sizes a TLS
	// first flight as shapes does.
	"orchard/flow": {"orchard/decode", "orchard/defrag", "orchard/dissect", "orchard/shapes"},
	// The event types hold the flow engine's counters (flow.Stats), and
	// nothing of the judge.
	"orchard/report": {"orchard/flow", "orchard/decode", "orchard/defrag", "orchard/dissect", "orchard/shapes"},
}

// typesOnly are the outputs that render only the event types (package
// report): they must never depend on the analyzer.
var typesOnly = []string{"orchard/eventjson", "orchard/fleet"}

// cmdOnly lists third-party modules only the commands may import: the
// terminal table and the flag parser belong to the user interface.
var cmdOnly = []string{
	"github.com/olekukonko/tablewriter",
	"github.com/spf13/pflag",
}

// never returns, per package, what it must never depend on: the walls
// beyond purity.
func never() map[string][]string {
	m := map[string][]string{}
	m["orchard/analyzer"] = append(slices.Clone(outputs), testTools...)
	m["orchard/report"] = append(slices.Clone(outputs), testTools...)
	for _, o := range typesOnly {
		m[o] = append(m[o], "orchard/analyzer")
	}
	for _, o := range outputs {
		for _, other := range outputs {
			if other != o && !slices.Contains(outputBuildsOn[o], other) {
				m[o] = append(m[o], other)
			}
		}
	}
	return m
}

// isOurs reports whether an import path is one of orchard's packages.
func isOurs(p string) bool { return p == "orchard" || strings.HasPrefix(p, "orchard/") }

// isTestTool reports whether a package is a test tool or lies inside one.
func isTestTool(p string) bool {
	for _, t := range testTools {
		if p == t || strings.HasPrefix(p, t+"/") {
			return true
		}
	}
	return false
}

// check returns every wall broken in all, a map from each package to its
// transitive dependencies.
func check(all map[string][]string) []string {
	var out []string
	bad := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	for pkg, ds := range all {
		isCmd := strings.HasPrefix(pkg, "orchard/cmd/")
		shipped := !isTestTool(pkg) && !slices.Contains(devCommands, pkg) && pkg != "orchard/internal/walls"
		for _, d := range ds {
			if strings.HasPrefix(d, "orchard/cmd/") {
				bad("%s imports %s: nothing may import a command", pkg, d)
			}
			if !isCmd {
				for _, c := range cmdOnly {
					if d == c || strings.HasPrefix(d, c+"/") {
						bad("%s imports %s: only commands may", pkg, d)
					}
				}
			}
			if shipped && isTestTool(d) {
				bad("%s imports %s: it is a test tool, and %s is shipped", pkg, d, pkg)
			}
		}
	}
	only := maps.Clone(onlyOurs)
	for _, p := range pure {
		only[p] = nil
	}
	for p, allow := range only {
		ds, ok := all[p]
		if !ok {
			bad("package %s not found: update the walls", p)
			continue
		}
		for _, d := range ds {
			switch {
			case !isOurs(d) || slices.Contains(allow, d):
			case len(allow) == 0:
				bad("%s imports %s: it must import nothing of orchard's", p, d)
			default:
				bad("%s imports %s: of orchard's it may import only %s", p, d, strings.Join(allow, ", "))
			}
		}
	}
	for p, deny := range never() {
		ds, ok := all[p]
		if !ok {
			bad("package %s not found: update the walls", p)
			continue
		}
		for _, d := range ds {
			if slices.Contains(deny, d) {
				bad("%s imports %s: it must never depend on it", p, d)
			}
		}
	}
	slices.Sort(out)
	return out
}

// deps returns each package of the module with its transitive dependencies.
func deps(t *testing.T) map[string][]string {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps=false", "-f", "{{.ImportPath}} {{join .Deps \" \"}}", "orchard/...").Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			t.Fatalf("go list: %v\n%s", err, ee.Stderr)
		}
		t.Skipf("go list not available: %v", err)
	}
	m := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		if len(f) > 0 {
			m[f[0]] = f[1:]
		}
	}
	return m
}

func TestWalls(t *testing.T) {
	all := deps(t)
	if len(all) == 0 {
		t.Fatal("go list found no packages")
	}
	for _, v := range check(all) {
		t.Error(v)
	}
}

// TestWallsCatch feeds the checker a module that breaks every kind of
// wall, so TestWalls cannot pass by checking nothing.
func TestWallsCatch(t *testing.T) {
	all := map[string][]string{}
	for _, p := range pure {
		all[p] = nil
	}
	for p := range never() {
		all[p] = nil
	}
	for p := range onlyOurs {
		all[p] = nil
	}
	all["orchard/decode"] = []string{"encoding/binary", "orchard/dissect"}
	all["orchard/analyzer"] = []string{"orchard/decode", "orchard/htmlreport"}
	all["orchard/ecs"] = []string{"orchard/eventjson", "orchard/kafkaout"}
	all["orchard/fleet"] = []string{"orchard/cmd/orchard"}
	all["orchard/htmlreport"] = []string{"github.com/spf13/pflag"}
	all["orchard/cmd/orchard"] = []string{"github.com/spf13/pflag", "orchard/internal/demo"}
	all["orchard/cmd/orchard-bench"] = []string{"orchard/internal/stress"}
	all["orchard/shapes"] = []string{"orchard/dissect", "orchard/catalog"}
	delete(all, "orchard/trust")
	want := []string{
		"orchard/analyzer imports orchard/htmlreport: it must never depend on it",
		"orchard/cmd/orchard imports orchard/internal/demo: it is a test tool, and orchard/cmd/orchard is shipped",
		"orchard/decode imports orchard/dissect: it must import nothing of orchard's",
		"orchard/ecs imports orchard/kafkaout: it must never depend on it",
		"orchard/fleet imports orchard/cmd/orchard: nothing may import a command",
		"orchard/htmlreport imports github.com/spf13/pflag: only commands may",
		"orchard/shapes imports orchard/catalog: of orchard's it may import only orchard/dissect",
		"package orchard/trust not found: update the walls",
	}
	if got := check(all); !slices.Equal(got, want) {
		t.Errorf("walls broken in the sample module:\n got %q\nwant %q", got, want)
	}
}
