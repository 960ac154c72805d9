// Package capture reads packet capture files without libpcap.
//
// # Formats
//
// Open and OpenReader accept, recognised by their first bytes and never by
// the file name:
//
//   - classic pcap in either byte order, with microsecond (a1b2c3d4) or
//     nanosecond (a1b23c4d) timestamps;
//   - pcapng (0a0d0d0a), any number of sections and interfaces, each
//     interface with its own link type (Packet.LinkType and Packet.Iface are
//     per packet);
//   - either of the above compressed with gzip (tcpdump -w - | gzip).
//
// "-" reads standard input. The pcap and pcapng record parsing is done by
// gopacket's pcapgo; this package adds a 1 MiB read buffer, gzip, byte
// offsets for progress and error messages, and checks every record header
// against the bytes that are actually there before pcapgo reads it, so a
// hostile length field can neither make it allocate nor desynchronise it.
//
// # Errors
//
// Next returns io.EOF at a clean end. A file cut inside its last record (a
// tcpdump that was killed, a truncated download) yields every whole packet
// first, then one *TruncatedError (errors.Is(err, ErrTruncated)), then
// io.EOF. Any other damage yields one *FormatError (errors.Is(err,
// ErrFormat)) naming the file and the offset of the bad record in the
// decompressed stream, then io.EOF: there is no resynchronisation.
//
// Records longer than 262144 bytes (libpcap's MAXIMUM_SNAPLEN) are format
// errors, whatever snap length the file header claims.
//
// # Cost
//
// Next reuses one buffer: Packet.Data is valid until the next call, and a
// packet costs no allocation, except in pcapng files on interfaces whose
// link type is above 255 (SLL2, PKTAP), where pcapgo boxes the link type
// (2 bytes per packet). Offset and InputOffset are exact byte counts, for
// error messages and progress bars.
//
// # Link types
//
// The reader passes every link type through; package decode understands
// Ethernet (with 802.1Q/802.1ad tags, PPPoE and MPLS), Linux cooked SLL and
// SLL2, raw IP (101, 12, 14, 228, 229), BSD NULL and LOOP, Apple PKTAP
// (258, and 149 as macOS writes it) with the process name and PID, and
// unencrypted 802.11 data frames, bare (105) or under radiotap (127).
//
// Subpackage capgen writes pcap and pcapng files and builds frames for
// tests.
//
// This package must never import the analyzer, the dissectors or the catalog.
package capture
