// Package demo builds orchard's demo capture: one iPad on a school network
// whose firewall, proxy and TLS inspection break several Apple services,
// next to healthy connections and a blocked non-Apple host. Tests use it as
// a golden case; `go run ./testdata/gen` writes it to testdata/.
//
// It is a test tool: no shipped package may import it; it builds on
// internal/capgen only.
package demo
