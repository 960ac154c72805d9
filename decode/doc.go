// Package decode turns one captured frame into the few facts the flow engine
// needs: addresses, ports, TCP flags and sequence numbers, TTL and IP ID,
// ICMP errors with the header they quote, and the transport payload.
//
// Decoding is zero-copy and allocation-free: Payload slices into the frame.
// It is one of the pure packages: it must never import anything of
// orchard's own.
package decode
