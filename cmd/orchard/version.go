package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"

	"orchard/catalog"
)

// What the release build (cmd/orchard-release) sets at link time with
// -ldflags "-X main.version=... -X main.commit=... -X main.catalogEdition=...".
// Other builds leave them empty and fall back to what the Go toolchain
// recorded and to the embedded catalog itself. Never assigned at run time.
var (
	version        string
	commit         string
	catalogEdition string
)

// buildFacts is what `orchard version` prints.
type buildFacts struct {
	Version, Commit, Catalog, Go, Platform string
}

// currentBuild collects the build facts of this binary.
func currentBuild() buildFacts {
	b := buildFacts{Version: version, Commit: commit, Catalog: catalogEdition, Go: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if b.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			b.Version = bi.Main.Version // go install orchard@version
		}
		if b.Commit == "" {
			b.Commit = vcsCommit(bi.Settings)
		}
	}
	if b.Version == "" {
		b.Version = "devel"
	}
	if b.Commit == "" {
		b.Commit = "unknown"
	}
	if b.Catalog == "" {
		b.Catalog = catalog.Edition()
	}
	return b
}

// vcsCommit is the revision go build stamped from the work tree, marked
// "-dirty" when it had uncommitted changes; empty when it stamped none.
func vcsCommit(settings []debug.BuildSetting) string {
	rev, dirty := "", false
	for _, s := range settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev != "" && dirty {
		rev += "-dirty"
	}
	return rev
}

// runVersion prints the version, commit, catalog edition, Go version and
// platform, one per line.
func runVersion(w io.Writer) int {
	b := currentBuild()
	fmt.Fprintf(w, "orchard %s\ncommit  %s\ncatalog %s\ngo      %s %s\n", b.Version, b.Commit, b.Catalog, b.Go, b.Platform)
	return exitOK
}
