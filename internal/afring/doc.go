// Package afring reads packets from Linux AF_PACKET sockets through
// TPACKET_V3 memory-mapped rings, with no cgo and no copies: a socket per
// capture worker, joined in a PACKET_FANOUT group, waits for ring blocks
// through the Go runtime's network poller (no thread blocked in a system
// call), walks each block the kernel hands over in place and gives it back
// whole.
//
// The block walker (Walker) is portable and checks every offset the ring
// holds against the block's bounds, as for any untrusted input; the
// sockets (Socket, Linux only) set up the ring, the fanout group, the
// filter and the counters.
package afring
