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
//   - either of the above compressed with gzip, zstd or lz4 (tcpdump -w - |
//     zstd), decompressed on a goroutine of its own beside the analysis;
//     zstd windows are limited to 128 MiB, as the zstd command's are.
//     Input compressed otherwise (xz, lzma, bzip2, lzop) or archived (zip,
//     7z, RAR) is refused with a *CompressedError naming the format and the
//     command to run first.
//
// "-" reads standard input. Both formats are parsed here, without
// gopacket: pcap versions 2.0 to 2.4 as libpcap reads them (before 2.3 the
// two lengths of a record header are swapped), and pcapng sections of
// version 1.x in either byte order, with enhanced, simple and obsolete
// packet blocks, per-interface timestamp resolution (if_tsresol) and offset
// (if_tsoffset), and Apple's process blocks. Every record's or block's
// length is checked against the bytes that are there before anything else
// of it is read, so a hostile length field can neither make the reader
// allocate nor desynchronise it. pcapng blocks nobody needs (name
// resolution, statistics, decryption secrets, custom and unknown blocks)
// are skipped by their length without being kept; at most 4096 interfaces
// a section and 65536 a file are accepted, and a section of another
// version than 1.x is an error naming its offset. A simple packet block
// carries no timestamp: it takes the previous packet's (the Unix epoch for
// the first).
//
// Files of at least 1 MiB, pcap or pcapng, are mapped into memory and read
// in place; other input is read into 1 MiB chunks. Either way a packet's
// Data points into them: no copy.
//
// # Errors
//
// Next returns io.EOF at a clean end. A file cut inside its last record (a
// tcpdump that was killed, a truncated download) yields every whole packet
// first, then one *TruncatedError (errors.Is(err, ErrTruncated)), then
// io.EOF. Any other damage yields one *FormatError (errors.Is(err,
// ErrFormat)) naming the file and the offset of the bad record in the
// decompressed stream, then io.EOF: there is no resynchronisation. A read
// that fails (an I/O error, a directory) is one *ReadError, with its
// offset too.
//
// Records longer than 262144 bytes (libpcap's MAXIMUM_SNAPLEN) are format
// errors, whatever snap length the file header claims.
//
// # Cost
//
// Packet.Data is valid until the next call to Next (or longer, for whoever
// holds its Chunk), and a packet costs no allocation. Offset and
// InputOffset are exact byte counts, for error messages and progress bars.
//
// # Link types
//
// The reader passes every link type through; package decode understands
// Ethernet (with 802.1Q/802.1ad tags, PPPoE and MPLS), Linux cooked SLL and
// SLL2, raw IP (101, 12, 14, 228, 229), BSD NULL and LOOP, Apple PKTAP
// (258, and 149 as macOS writes it) with the process name and PID, and
// unencrypted 802.11 data frames, bare (105) or under radiotap (127).
//
// internal/capgen writes pcap and pcapng files and builds frames for
// tests.
//
// It is one of the pure packages: it must never import anything of
// orchard's own.
package capture
