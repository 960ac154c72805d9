// Package defrag reassembles IPv4 and IPv6 fragments into whole datagrams,
// as decode found them, within fixed limits (datagrams in progress, bytes
// and pieces a datagram, a timeout in capture time): overlapping or
// contradicting fragments (RFC 5722) drop their datagram, and every
// datagram never completed is counted. Steady state allocates nothing.
//
// It builds on decode only and must never import anything else of
// orchard's.
package defrag
