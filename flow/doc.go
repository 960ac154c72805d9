// Package flow is orchard's flow record and flow table: the canonical
// 5-tuple key and its keyed open-addressing index, the table with its cap,
// idle timeouts by packet time and eviction, each flow's two halves
// (Orig and Resp: counters, TCP history, TTL and IP ID, sequence notes),
// the per-direction stream buffers and their budget, and the per-flow
// state the dissectors fill (Facts) with its budget. The analyzer's flow
// engine fills it from decoded packets and its judge reads it.
//
// It imports decode, dissect and shapes (for the size of a TLS first
// flight) of orchard's, and must never import the analyzer, catalog,
// trust, the outputs or the commands: it knows nothing of findings.
package flow
