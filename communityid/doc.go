// Package communityid computes Community ID v1 flow hashes, the identifier
// Zeek, Suricata, Wireshark and Elastic use to join the records different
// monitors write about one flow.
//
// The ID is "1:" followed by the base64 of a SHA-1 over the seed, the two
// addresses, the IP protocol, a zero byte and the two ports (or, for ICMP,
// the type and its counterpart or code), with the endpoints in canonical
// order so both directions of a flow share one ID. Append writes it into a
// caller's buffer without allocating.
//
// It is one of the pure packages: it must never import anything of
// orchard's own.
package communityid
