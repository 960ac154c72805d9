// Command orchard-release writes static orchard binaries (CGO_ENABLED=0,
// files only: no live capture) for every platform admins run orchard on,
// with the version, commit and catalog edition embedded, and a SHA256SUMS
// file that `sha256sum -c` checks.
//
//	go run ./cmd/orchard-release                       # every platform, into dist/
//	go run ./cmd/orchard-release --version v1.0.0      # name the release
//	go run ./cmd/orchard-release --platforms linux/amd64,darwin/arm64 -o out
//	go run ./cmd/orchard-release --list                # the platforms, one a line
//
// The version defaults to `git describe --tags --always --dirty`, the
// commit to the work tree's HEAD (with "-dirty" for uncommitted changes),
// and the catalog edition to the edition of the catalog in this tree.
//
// It builds cmd/orchard and must never import the analyzer. Nothing may
// import it.
package main
