// Package stress writes the captures orchard's memory bounds and throughput
// targets are measured on: floods of unique TCP SYNs, single QUIC Initials,
// DNS responses with many answers, long-lived TLS flows, and pcapng files
// shaped to exhaust a reader (blocks that claim huge lengths, or millions
// of metadata blocks). Every input is streamed to an io.Writer as it is
// built, at any size: nothing holds the capture in memory.
//
// The frames are real: Ethernet, IPv4, TCP and UDP with checksums (from
// capgen), TLS and QUIC ClientHellos from crypto/tls, QUIC v1 Initials
// protected as RFC 9001 says, DNS messages with compressed names.
//
// It is a test tool: no shipped package may import it; it builds on
// internal/capgen only.
package stress
