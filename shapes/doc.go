// Package shapes holds the TLS answers Apple's servers are known to give
// and compares a server's answer with them: the sign of TLS inspection
// where TLS 1.3 hides the certificate.
//
// A server shape is orchard's own fingerprint of a TLS server's answer: the
// negotiated version, the cipher suite, the key-share group, the
// ServerHello's extension types in the order sent and the ALPN chosen, as
//
//	13:1301:001d:002b-0033:h2
//
// (hex, "-" for an absent group, ALPN or extension list). Beside it the
// server's first flight is kept as the sizes of its first records after
// the ServerHello (change-cipher-spec records left out): in TLS 1.3 they
// are the encrypted EncryptedExtensions, Certificate, CertificateVerify
// and Finished, whose sizes follow the certificate chain's.
//
// The baseline (servershapes.tsv) lists, per Apple host, the shapes and
// flights its real servers were seen to answer with. It is learned from
// captures trusted to be free of inspection: the shared public captures
// (go test ./analyzer -run ServerShapes -update-shapes), or an admin's own
// (the analyzer's Config.LearnShapes).
//
// It reads the dissectors' ServerHello and must never import anything
// else of orchard's.
package shapes
