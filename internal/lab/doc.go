// Package lab builds small test networks for orchard's live-capture tests:
// Linux network namespaces joined by veth pairs, a firewall namespace with
// nftables rules, a tiny authoritative DNS server that answers Apple names
// with lab addresses, TLS servers with lab certificates, and a client that
// probes them. Everything stays inside the namespaces it creates.
//
// The servers and the client run as separate processes inside their
// namespaces: a test binary re-executes itself with a NodeConfig in its
// environment (see IsNode and NodeMain).
//
// It is test infrastructure: it must never be imported by the analyzer or
// by orchard's command code.
package lab
