// Package dissect turns the bytes the flow engine collects into facts: DNS
// messages, TLS records (ClientHello, ServerHello, certificates, alerts),
// QUIC Initial packets, NTP and HTTP/1 headers.
//
// It is pure: functions over []byte with no flow state and no I/O. It must
// never import gopacket or any other orchard package. Every parser caps the
// lengths it reads from the wire, returns an error for malformed input and
// never panics; each has a fuzz target beside it.
package dissect
