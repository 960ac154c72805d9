// Package flow turns decoded packets into flows: its Engine decodes frames
// (package decode), reassembles IP fragments (package defrag), keeps the
// flow table and drives the dissectors, and hands ended flows and DNS
// answers to a Sink. It holds the canonical 5-tuple key and its keyed
// open-addressing index; the table with its cap, idle timeouts by packet
// time and eviction; each flow's two halves (Orig and Resp: counters, TCP
// history, TTL and IP ID, sequence notes); the per-direction stream
// buffers and their budget; the feeders, one per protocol (DNS, HTTP,
// TLS, NTP, QUIC), chosen when a flow starts; and the per-flow state they
// fill (Facts), under its own budget.
//
// Of orchard's it imports decode, defrag, dissect and shapes (for the size
// of a TLS first flight), and it must never import the analyzer, catalog,
// trust, the outputs or the commands: it knows nothing of findings.
package flow
