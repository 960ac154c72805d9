package walls

import (
	"os/exec"
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
}

// cmdOnly lists third-party modules only the commands may import: the
// terminal table and the flag parser belong to the user interface.
var cmdOnly = []string{
	"github.com/olekukonko/tablewriter",
	"github.com/spf13/pflag",
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
	for pkg, ds := range all {
		isCmd := strings.HasPrefix(pkg, "orchard/cmd/")
		for _, d := range ds {
			if strings.HasPrefix(d, "orchard/cmd/") {
				t.Errorf("%s imports %s: nothing may import a command", pkg, d)
			}
			if !isCmd {
				for _, c := range cmdOnly {
					if d == c || strings.HasPrefix(d, c+"/") {
						t.Errorf("%s imports %s: only commands may", pkg, d)
					}
				}
			}
		}
	}
	for _, p := range pure {
		ds, ok := all[p]
		if !ok {
			t.Errorf("package %s not found: update the walls", p)
			continue
		}
		for _, d := range ds {
			if d == "orchard" || strings.HasPrefix(d, "orchard/") {
				t.Errorf("%s imports %s: it must import nothing of orchard's", p, d)
			}
		}
	}
}
