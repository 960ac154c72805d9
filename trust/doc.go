// Package trust decides whether a server's certificate chain is genuine
// on the day it was captured: it verifies chains by signature against
// Mozilla's root store plus Apple's own and historic anchors, and the
// public roots that have left Mozilla's store since, each trusted until
// the day it left (anchors/README.md), so an old capture is judged by the
// trust of its day. Cache keeps verdicts where time cannot change them.
//
// It is one of the pure packages: it must never import anything of
// orchard's own.
package trust
