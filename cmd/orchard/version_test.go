package main

import (
	"bytes"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"

	"orchard/catalog"
)

func TestVCSCommit(t *testing.T) {
	for _, c := range []struct {
		name     string
		settings []debug.BuildSetting
		want     string
	}{
		{"none", nil, ""},
		{"clean", []debug.BuildSetting{{Key: "vcs.revision", Value: "8a7bf88"}, {Key: "vcs.modified", Value: "false"}}, "8a7bf88"},
		{"dirty", []debug.BuildSetting{{Key: "vcs.modified", Value: "true"}, {Key: "vcs.revision", Value: "8a7bf88"}}, "8a7bf88-dirty"},
		{"modified without a revision", []debug.BuildSetting{{Key: "vcs.modified", Value: "true"}}, ""},
	} {
		if got := vcsCommit(c.settings); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}

// A build without the release's -X values names the embedded catalog and
// the platform it runs on (the release test checks the embedded values).
func TestVersionOutput(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}} {
		var out, errb bytes.Buffer
		if code := run(t.Context(), args, nil, &out, &errb); code != exitOK {
			t.Fatalf("%v: exit %d: %s", args, code, errb.String())
		}
		lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
		want := []string{"orchard ", "commit  ", "catalog " + catalog.Edition(), "go      " + runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH}
		if len(lines) != len(want) {
			t.Fatalf("%v: %q", args, out.String())
		}
		for i, w := range want {
			if !strings.HasPrefix(lines[i], w) {
				t.Errorf("%v: line %d %q, want it to start with %q", args, i+1, lines[i], w)
			}
		}
	}
}
