// Package sharedtest locates the shared corpus of real captures for tests.
//
// Tests that read ../shared skip cleanly when it is absent, so a fresh clone
// of the repository still passes.
//
// It is a test tool: it must never import anything of orchard's own, and
// no shipped package may import it.
package sharedtest
