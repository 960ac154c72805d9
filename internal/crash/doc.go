// Package crash turns a panic in any goroutine orchard starts into one
// clear message and a distinct exit status, instead of the Go runtime's
// exit status 2, which orchard's callers read as "bad flags".
//
// It must never import anything of orchard's own.
package crash
