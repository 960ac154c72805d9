// Package analyzer is orchard's pipeline: it reads captures, decodes packets,
// tracks flows, feeds their first bytes to the dissectors, names each flow's
// host, judges it against the catalog and aggregates findings.
//
// It must never import cmd/ or write to a terminal itself.
package analyzer
