package dissect

import (
	"crypto/x509"
	"errors"
	"strconv"
)

// TLS record content types (RFC 8446 section 5.1).
const (
	TLSRecordChangeCipherSpec uint8 = 20
	TLSRecordAlert            uint8 = 21
	TLSRecordHandshake        uint8 = 22
	TLSRecordApplicationData  uint8 = 23
	TLSRecordHeartbeat        uint8 = 24
)

// TLS handshake message types (RFC 8446 section 4, RFC 5246 section 7.4).
const (
	TLSHandshakeHelloRequest       uint8 = 0
	TLSHandshakeClientHello        uint8 = 1
	TLSHandshakeServerHello        uint8 = 2
	TLSHandshakeNewSessionTicket   uint8 = 4
	TLSHandshakeCertificate        uint8 = 11
	TLSHandshakeServerKeyExchange  uint8 = 12
	TLSHandshakeCertificateRequest uint8 = 13
	TLSHandshakeServerHelloDone    uint8 = 14
	TLSHandshakeClientKeyExchange  uint8 = 16
	TLSHandshakeFinished           uint8 = 20
	TLSHandshakeCertificateStatus  uint8 = 22
)

// TLS extension types this package reads.
const (
	TLSExtServerName          uint16 = 0x0000
	TLSExtSupportedGroups     uint16 = 0x000a
	TLSExtSignatureAlgorithms uint16 = 0x000d
	TLSExtALPN                uint16 = 0x0010
	TLSExtSupportedVersions   uint16 = 0x002b
	TLSExtKeyShare            uint16 = 0x0033
)

// Limits applied to what the wire claims.
const (
	// TLSMaxRecordLen is the largest record payload accepted (2^14 + 2048,
	// the TLSCiphertext limit of RFC 5246).
	TLSMaxRecordLen = 16384 + 2048
	// TLSMaxHandshakeLen is the largest handshake message body accepted.
	TLSMaxHandshakeLen = 64 << 10
	// TLSMaxCertificates is how many certificates of a chain are kept.
	TLSMaxCertificates = 16
	// TLSMaxListLen is how many cipher suites, extensions or groups are kept.
	TLSMaxListLen = 256
	// TLSMaxALPN is how many ALPN protocol names are kept.
	TLSMaxALPN = 16
	// TLSMaxRecords is how many record headers a TLSStream keeps.
	TLSMaxRecords = 64
	// TLSMaxAlerts is how many plaintext alerts a TLSStream keeps.
	TLSMaxAlerts = 8
	// TLSMaxHandshakes is how many handshake message types a TLSStream keeps.
	TLSMaxHandshakes = 32

	tlsRecordHeaderLen = 5
	tlsMaxCertLen      = 64 << 10
)

// Sentinel errors; the errors returned are *TLSError values wrapping them.
var (
	// ErrTLSTruncated: a length field points past the bytes available.
	ErrTLSTruncated = errors.New("truncated")
	// ErrTLSNotTLS: the bytes do not start with a TLS record header.
	ErrTLSNotTLS = errors.New("not a TLS record")
	// ErrTLSMalformed: a field holds a value the protocol does not allow.
	ErrTLSMalformed = errors.New("malformed")
	// ErrTLSTooLarge: a length exceeds the limits of this package.
	ErrTLSTooLarge = errors.New("length over limit")
	// ErrTLSWrongType: the handshake message is not of the type asked for.
	ErrTLSWrongType = errors.New("unexpected handshake message type")
)

// TLSError says where a TLS parser gave up; Err is one of the ErrTLS sentinels.
type TLSError struct {
	Where string // the structure being read, e.g. "client_hello cipher_suites"
	Err   error
}

// Error returns "tls <where>: <reason>".
func (e *TLSError) Error() string { return "tls " + e.Where + ": " + e.Err.Error() }

// Unwrap returns the sentinel error.
func (e *TLSError) Unwrap() error { return e.Err }

func tlsErr(where string, err error) error { return &TLSError{Where: where, Err: err} }

// ClientHello holds the fields of a ClientHello message that identify the
// client and its destination. Lists are capped at TLSMaxListLen entries.
type ClientHello struct {
	LegacyVersion       uint16
	CipherSuites        []uint16 // as sent, GREASE included
	Extensions          []uint16 // extension types in the order sent, GREASE included
	SNI                 string   // server_name host_name, lower-cased, bytes outside 0x21..0x7e and '\' escaped as \xNN
	ALPN                []string // protocol names offered, escaped like SNI (without lower-casing); at most TLSMaxALPN
	SupportedVersions   []uint16
	SupportedGroups     []uint16
	KeyShareGroups      []uint16 // groups of the key_share entries (0x11EC = X25519MLKEM768)
	SignatureAlgorithms []uint16
	Length              int // length of the handshake message body

	alpn0 string // first ALPN value as sent, for JA4
}

// ServerHello holds the negotiated parameters of a ServerHello message.
type ServerHello struct {
	LegacyVersion     uint16
	Version           uint16 // negotiated: supported_versions extension when present, else LegacyVersion
	CipherSuite       uint16
	Group             uint16 // key_share group (TLS 1.3), 0 when absent
	ALPN              string // escaped like ClientHello.SNI (without lower-casing)
	Extensions        []uint16
	HelloRetryRequest bool // the special random value of RFC 8446 section 4.1.3
}

// Alert is a plaintext TLS alert.
type Alert struct{ Level, Description uint8 }

// String returns e.g. "fatal bad_certificate", "warning close_notify" or
// "fatal alert(200)".
func (a Alert) String() string {
	return tlsAlertLevelString(a.Level) + " " + AlertDescriptionString(a.Description)
}

// Record is one TLS record header.
type Record struct {
	Type    uint8
	Version uint16
	Length  int
}

// TLSStream is what ParseTLSStream found in one direction of a TLS session.
// Certificates alias the input bytes (or a buffer private to the stream):
// copy them before reusing the input.
type TLSStream struct {
	Records           []Record // the first TLSMaxRecords complete record headers, in order
	RecordCount       int      // complete records seen
	Handshakes        []uint8  // plaintext handshake message types, in order (at most TLSMaxHandshakes)
	ClientHello       *ClientHello
	ServerHello       *ServerHello // the last ServerHello (after a HelloRetryRequest, the real one)
	HelloRetryRequest bool         // a HelloRetryRequest was seen
	Certificates      [][]byte     // DER certificates of a plaintext Certificate message (TLS 1.2 and earlier), leaf first; at most TLSMaxCertificates
	CertificateCount  int          // certificates in that message, including those not kept
	Alerts            []Alert      // plaintext alerts (at most TLSMaxAlerts)
	EncryptedAlerts   int          // alert records sent after encryption started (TLS 1.2 and earlier)
	ChangeCipherSpec  bool
	Encrypted         bool // an application_data record was seen, or a CCS followed by encrypted records
	AppDataRecords    int  // application_data records (in TLS 1.3 this includes the encrypted handshake)
	AppDataBytes      int  // their payload bytes
	Incomplete        bool // the bytes end inside a record or handshake message (more may come)
	Consumed          int  // bytes of complete records parsed
}

// helloRetryRandom is the ServerHello.random of a HelloRetryRequest.
var helloRetryRandom = [32]byte{
	0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
	0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
}

// tlsReader reads big-endian fields and length-prefixed vectors.
type tlsReader struct {
	b []byte
}

func (r *tlsReader) empty() bool { return len(r.b) == 0 }

func (r *tlsReader) u8() (uint8, bool) {
	if len(r.b) < 1 {
		return 0, false
	}
	v := r.b[0]
	r.b = r.b[1:]
	return v, true
}

func (r *tlsReader) u16() (uint16, bool) {
	if len(r.b) < 2 {
		return 0, false
	}
	v := uint16(r.b[0])<<8 | uint16(r.b[1])
	r.b = r.b[2:]
	return v, true
}

func (r *tlsReader) u24() (int, bool) {
	if len(r.b) < 3 {
		return 0, false
	}
	v := int(r.b[0])<<16 | int(r.b[1])<<8 | int(r.b[2])
	r.b = r.b[3:]
	return v, true
}

func (r *tlsReader) bytes(n int) ([]byte, bool) {
	if n < 0 || len(r.b) < n {
		return nil, false
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v, true
}

func (r *tlsReader) vec8() ([]byte, bool) {
	n, ok := r.u8()
	if !ok {
		return nil, false
	}
	return r.bytes(int(n))
}

func (r *tlsReader) vec16() ([]byte, bool) {
	n, ok := r.u16()
	if !ok {
		return nil, false
	}
	return r.bytes(int(n))
}

func (r *tlsReader) vec24() ([]byte, bool) {
	n, ok := r.u24()
	if !ok {
		return nil, false
	}
	return r.bytes(n)
}

// tlsHandshakeBody checks the 4-byte handshake header of msg and returns the
// body. Bytes after the message are ignored.
func tlsHandshakeBody(msg []byte, want uint8, where string) ([]byte, error) {
	if len(msg) < 4 {
		return nil, tlsErr(where+" header", ErrTLSTruncated)
	}
	if msg[0] != want {
		return nil, tlsErr(where+" header", ErrTLSWrongType)
	}
	n := int(msg[1])<<16 | int(msg[2])<<8 | int(msg[3])
	if n > TLSMaxHandshakeLen {
		return nil, tlsErr(where+" header", ErrTLSTooLarge)
	}
	if len(msg)-4 < n {
		return nil, tlsErr(where+" header", ErrTLSTruncated)
	}
	return msg[4 : 4+n], nil
}

// tlsU16Count checks that b is a whole number of 16-bit values and returns
// how many are kept (at most max).
func tlsU16Count(b []byte, max int) (int, bool) {
	if len(b)%2 != 0 {
		return 0, false
	}
	return min(len(b)/2, max), true
}

// tlsAppendU16s appends up to n big-endian values of b to dst.
func tlsAppendU16s(dst []uint16, b []byte, n int) []uint16 {
	for i := 0; i < n; i++ {
		dst = append(dst, uint16(b[2*i])<<8|uint16(b[2*i+1]))
	}
	return dst
}

// tlsSub returns all[start:] with its capacity clipped, or nil when empty.
func tlsSub(all []uint16, start int) []uint16 {
	if len(all) == start {
		return nil
	}
	return all[start:len(all):len(all)]
}

// tlsEscape returns b as a string that cannot forge structure in text
// output: bytes outside 0x21..0x7e and the backslash become \xNN; with lower
// set, ASCII upper-case letters are lower-cased.
func tlsEscape(b []byte, lower bool) string {
	clean := true
	for _, c := range b {
		if c < 0x21 || c > 0x7e || c == '\\' || (lower && c >= 'A' && c <= 'Z') {
			clean = false
			break
		}
	}
	if clean {
		return string(b)
	}
	out := make([]byte, 0, len(b)+8)
	for _, c := range b {
		switch {
		case c < 0x21 || c > 0x7e || c == '\\':
			out = append(out, '\\', 'x', tlsHexDigits[c>>4], tlsHexDigits[c&0xf])
		case lower && c >= 'A' && c <= 'Z':
			out = append(out, c+('a'-'A'))
		default:
			out = append(out, c)
		}
	}
	return string(out)
}

// ParseClientHello parses one complete handshake message: the 4-byte header
// (type 1, 24-bit length) and the ClientHello body. Bytes after the message
// are ignored. Lists are capped at TLSMaxListLen entries, ALPN at TLSMaxALPN.
func ParseClientHello(msg []byte) (*ClientHello, error) {
	body, err := tlsHandshakeBody(msg, TLSHandshakeClientHello, "client_hello")
	if err != nil {
		return nil, err
	}
	const where = "client_hello"
	r := tlsReader{b: body}
	c := &ClientHello{Length: len(body)}
	var ok bool
	if c.LegacyVersion, ok = r.u16(); !ok {
		return nil, tlsErr(where+" version", ErrTLSTruncated)
	}
	if _, ok = r.bytes(32); !ok {
		return nil, tlsErr(where+" random", ErrTLSTruncated)
	}
	sid, ok := r.vec8()
	if !ok {
		return nil, tlsErr(where+" session_id", ErrTLSTruncated)
	}
	if len(sid) > 32 {
		return nil, tlsErr(where+" session_id", ErrTLSMalformed)
	}
	suites, ok := r.vec16()
	if !ok {
		return nil, tlsErr(where+" cipher_suites", ErrTLSTruncated)
	}
	nSuites, ok := tlsU16Count(suites, TLSMaxListLen)
	if !ok || len(suites) == 0 {
		return nil, tlsErr(where+" cipher_suites", ErrTLSMalformed)
	}
	comp, ok := r.vec8()
	if !ok {
		return nil, tlsErr(where+" compression_methods", ErrTLSTruncated)
	}
	if len(comp) == 0 {
		return nil, tlsErr(where+" compression_methods", ErrTLSMalformed)
	}
	var exts []byte
	if !r.empty() {
		if exts, ok = r.vec16(); !ok {
			return nil, tlsErr(where+" extensions", ErrTLSTruncated)
		}
		if !r.empty() {
			return nil, tlsErr(where+" extensions", ErrTLSMalformed)
		}
	}

	// First pass: validate the extension framing, count the extensions and
	// find the ones read below (the first of each type counts).
	var (
		nExts                             int
		sniData, alpnData, svData, sgData []byte
		ksData, saData                    []byte
		haveSNI, haveALPN, haveSV, haveSG bool
		haveKS, haveSA                    bool
		nSV, nSG, nKS, nSA                int
		extReader                         = tlsReader{b: exts}
	)
	for !extReader.empty() {
		typ, ok := extReader.u16()
		if !ok {
			return nil, tlsErr(where+" extension", ErrTLSTruncated)
		}
		data, ok := extReader.vec16()
		if !ok {
			return nil, tlsErr(where+" extension "+tlsHex16(typ), ErrTLSTruncated)
		}
		nExts++
		switch typ {
		case TLSExtServerName:
			if !haveSNI {
				sniData, haveSNI = data, true
			}
		case TLSExtALPN:
			if !haveALPN {
				alpnData, haveALPN = data, true
			}
		case TLSExtSupportedVersions:
			if !haveSV {
				svData, haveSV = data, true
			}
		case TLSExtSupportedGroups:
			if !haveSG {
				sgData, haveSG = data, true
			}
		case TLSExtKeyShare:
			if !haveKS {
				ksData, haveKS = data, true
			}
		case TLSExtSignatureAlgorithms:
			if !haveSA {
				saData, haveSA = data, true
			}
		}
	}
	if haveSV {
		vr := tlsReader{b: svData}
		list, ok := vr.vec8()
		if !ok || !vr.empty() {
			return nil, tlsErr(where+" supported_versions", ErrTLSMalformed)
		}
		if nSV, ok = tlsU16Count(list, TLSMaxListLen); !ok {
			return nil, tlsErr(where+" supported_versions", ErrTLSMalformed)
		}
		svData = list
	}
	if haveSG {
		gr := tlsReader{b: sgData}
		list, ok := gr.vec16()
		if !ok || !gr.empty() {
			return nil, tlsErr(where+" supported_groups", ErrTLSMalformed)
		}
		if nSG, ok = tlsU16Count(list, TLSMaxListLen); !ok {
			return nil, tlsErr(where+" supported_groups", ErrTLSMalformed)
		}
		sgData = list
	}
	if haveSA {
		ar := tlsReader{b: saData}
		list, ok := ar.vec16()
		if !ok || !ar.empty() {
			return nil, tlsErr(where+" signature_algorithms", ErrTLSMalformed)
		}
		if nSA, ok = tlsU16Count(list, TLSMaxListLen); !ok {
			return nil, tlsErr(where+" signature_algorithms", ErrTLSMalformed)
		}
		saData = list
	}
	if haveKS {
		kr := tlsReader{b: ksData}
		list, ok := kr.vec16()
		if !ok || !kr.empty() {
			return nil, tlsErr(where+" key_share", ErrTLSMalformed)
		}
		ksData = list
		er := tlsReader{b: list}
		for !er.empty() {
			if _, ok := er.u16(); !ok {
				return nil, tlsErr(where+" key_share entry", ErrTLSTruncated)
			}
			if _, ok := er.vec16(); !ok {
				return nil, tlsErr(where+" key_share entry", ErrTLSTruncated)
			}
			nKS++
		}
		nKS = min(nKS, TLSMaxListLen)
	}
	nExtKept := min(nExts, TLSMaxListLen)

	// One backing array for every list; each list gets a capped sub-slice.
	all := make([]uint16, 0, nSuites+nExtKept+nSV+nSG+nKS+nSA)
	all = tlsAppendU16s(all, suites, nSuites)
	c.CipherSuites = tlsSub(all, 0)
	start := len(all)
	er := tlsReader{b: exts}
	for i := 0; i < nExtKept; i++ {
		typ, _ := er.u16()
		er.vec16()
		all = append(all, typ)
	}
	c.Extensions = tlsSub(all, start)
	start = len(all)
	all = tlsAppendU16s(all, svData, nSV)
	c.SupportedVersions = tlsSub(all, start)
	start = len(all)
	all = tlsAppendU16s(all, sgData, nSG)
	c.SupportedGroups = tlsSub(all, start)
	start = len(all)
	kr := tlsReader{b: ksData}
	for i := 0; i < nKS; i++ {
		g, _ := kr.u16()
		kr.vec16()
		all = append(all, g)
	}
	c.KeyShareGroups = tlsSub(all, start)
	start = len(all)
	all = tlsAppendU16s(all, saData, nSA)
	c.SignatureAlgorithms = tlsSub(all, start)

	if haveSNI && len(sniData) > 0 {
		name, err := tlsParseServerName(sniData)
		if err != nil {
			return nil, err
		}
		c.SNI = name
	}
	if haveALPN {
		if err := c.parseALPN(alpnData); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// tlsParseServerName returns the first host_name of a server_name extension.
func tlsParseServerName(data []byte) (string, error) {
	const where = "client_hello server_name"
	r := tlsReader{b: data}
	list, ok := r.vec16()
	if !ok || !r.empty() {
		return "", tlsErr(where, ErrTLSMalformed)
	}
	lr := tlsReader{b: list}
	for !lr.empty() {
		typ, ok := lr.u8()
		if !ok {
			return "", tlsErr(where, ErrTLSTruncated)
		}
		name, ok := lr.vec16()
		if !ok {
			return "", tlsErr(where, ErrTLSTruncated)
		}
		if typ == 0 {
			return tlsEscape(name, true), nil
		}
	}
	return "", nil
}

// parseALPN fills ALPN from an application_layer_protocol_negotiation
// extension.
func (c *ClientHello) parseALPN(data []byte) error {
	const where = "client_hello alpn"
	r := tlsReader{b: data}
	list, ok := r.vec16()
	if !ok || !r.empty() {
		return tlsErr(where, ErrTLSMalformed)
	}
	n := 0
	for lr := (tlsReader{b: list}); !lr.empty(); n++ {
		if _, ok := lr.vec8(); !ok {
			return tlsErr(where, ErrTLSTruncated)
		}
	}
	if n == 0 {
		return nil
	}
	c.ALPN = make([]string, 0, min(n, TLSMaxALPN))
	lr := tlsReader{b: list}
	for i := 0; i < n && i < TLSMaxALPN; i++ {
		p, _ := lr.vec8()
		s := tlsEscape(p, false)
		if i == 0 {
			if s == string(p) {
				c.alpn0 = s
			} else {
				c.alpn0 = string(p)
			}
		}
		c.ALPN = append(c.ALPN, s)
	}
	return nil
}

// MaxVersion returns the highest non-GREASE supported_versions entry, else
// LegacyVersion.
func (c *ClientHello) MaxVersion() uint16 {
	var v uint16
	for _, s := range c.SupportedVersions {
		if !IsGREASE(s) && s > v {
			v = s
		}
	}
	if v == 0 {
		return c.LegacyVersion
	}
	return v
}

// ParseServerHello parses one complete handshake message: the 4-byte header
// (type 2, 24-bit length) and the ServerHello body (a HelloRetryRequest is a
// ServerHello with a special random). Bytes after the message are ignored.
func ParseServerHello(msg []byte) (*ServerHello, error) {
	body, err := tlsHandshakeBody(msg, TLSHandshakeServerHello, "server_hello")
	if err != nil {
		return nil, err
	}
	const where = "server_hello"
	r := tlsReader{b: body}
	s := &ServerHello{}
	var ok bool
	if s.LegacyVersion, ok = r.u16(); !ok {
		return nil, tlsErr(where+" version", ErrTLSTruncated)
	}
	s.Version = s.LegacyVersion
	random, ok := r.bytes(32)
	if !ok {
		return nil, tlsErr(where+" random", ErrTLSTruncated)
	}
	s.HelloRetryRequest = [32]byte(random) == helloRetryRandom
	sid, ok := r.vec8()
	if !ok {
		return nil, tlsErr(where+" session_id", ErrTLSTruncated)
	}
	if len(sid) > 32 {
		return nil, tlsErr(where+" session_id", ErrTLSMalformed)
	}
	if s.CipherSuite, ok = r.u16(); !ok {
		return nil, tlsErr(where+" cipher_suite", ErrTLSTruncated)
	}
	if _, ok = r.u8(); !ok {
		return nil, tlsErr(where+" compression_method", ErrTLSTruncated)
	}
	if r.empty() {
		return s, nil
	}
	exts, ok := r.vec16()
	if !ok {
		return nil, tlsErr(where+" extensions", ErrTLSTruncated)
	}
	if !r.empty() {
		return nil, tlsErr(where+" extensions", ErrTLSMalformed)
	}
	n := 0
	for er := (tlsReader{b: exts}); !er.empty(); n++ {
		if _, ok := er.u16(); !ok {
			return nil, tlsErr(where+" extension", ErrTLSTruncated)
		}
		if _, ok := er.vec16(); !ok {
			return nil, tlsErr(where+" extension", ErrTLSTruncated)
		}
	}
	if n > 0 {
		s.Extensions = make([]uint16, 0, min(n, TLSMaxListLen))
	}
	var haveSV, haveKS, haveALPN bool
	for er := (tlsReader{b: exts}); !er.empty(); {
		typ, _ := er.u16()
		data, _ := er.vec16()
		if len(s.Extensions) < TLSMaxListLen {
			s.Extensions = append(s.Extensions, typ)
		}
		switch {
		case typ == TLSExtSupportedVersions && !haveSV:
			haveSV = true
			if len(data) != 2 {
				return nil, tlsErr(where+" supported_versions", ErrTLSMalformed)
			}
			s.Version = uint16(data[0])<<8 | uint16(data[1])
		case typ == TLSExtKeyShare && !haveKS:
			haveKS = true
			// ServerHello: group + key_exchange; HelloRetryRequest: group only.
			if len(data) < 2 {
				return nil, tlsErr(where+" key_share", ErrTLSMalformed)
			}
			s.Group = uint16(data[0])<<8 | uint16(data[1])
			if len(data) > 2 {
				kr := tlsReader{b: data[2:]}
				if _, ok := kr.vec16(); !ok || !kr.empty() {
					return nil, tlsErr(where+" key_share", ErrTLSMalformed)
				}
			}
		case typ == TLSExtALPN && !haveALPN:
			haveALPN = true
			ar := tlsReader{b: data}
			list, ok := ar.vec16()
			if !ok || !ar.empty() {
				return nil, tlsErr(where+" alpn", ErrTLSMalformed)
			}
			lr := tlsReader{b: list}
			p, ok := lr.vec8()
			if !ok || !lr.empty() {
				return nil, tlsErr(where+" alpn", ErrTLSMalformed)
			}
			s.ALPN = tlsEscape(p, false)
		}
	}
	return s, nil
}

// LooksLikeTLS reports whether b starts like a TLS record: a content type of
// 20..24 and a version of 0x0300..0x0304. SSLv2-format hellos do not.
func LooksLikeTLS(b []byte) bool {
	return len(b) >= 3 && b[0] >= TLSRecordChangeCipherSpec && b[0] <= TLSRecordHeartbeat &&
		b[1] == 3 && b[2] <= 4
}

// tlsStreamParser carries the state of ParseTLSStream between records.
type tlsStreamParser struct {
	s *TLSStream
	// pending holds the start of a handshake message that continues in the
	// next record. Its capacity equals its length, so appending copies it
	// and never overwrites bytes a parsed message still refers to.
	pending []byte
	// hsDone: handshake records are no longer plaintext (TLS 1.2 after CCS,
	// TLS 1.3 after the ServerHello).
	hsDone bool
	// compat: a CCS arrived in a TLS 1.3 exchange before any message other
	// than hellos; it may be the middlebox-compatibility CCS, after which
	// a second plaintext hello may still come (RFC 8446 appendix D.4).
	compat bool
	// otherHS: a handshake message other than ClientHello/ServerHello seen.
	otherHS  bool
	haveCert bool
	// recBuf and hsBuf, when set, back the first Records and the
	// Handshakes, so a TLSStreamParser needs no allocation for them.
	recBuf *[8]Record
	hsBuf  *[TLSMaxHandshakes]uint8
}

// ParseTLSStream parses one direction's reassembled bytes from the start of a
// TLS session: record headers, plaintext handshake messages (which may span
// records, or share one), alerts and the change to encryption. It stops
// reading handshake content once the stream is encrypted (TLS 1.2 after
// ChangeCipherSpec, TLS 1.3 after the ServerHello) but keeps counting
// records. It always returns what it found; the error says why it stopped
// early (bytes that are not TLS, or malformed ones). Bytes ending inside a
// record or message set Incomplete and are not an error.
func ParseTLSStream(b []byte) (*TLSStream, error) {
	p := tlsStreamParser{s: &TLSStream{}}
	err := p.run(b)
	return p.s, err
}

// TLSStreamParser parses one direction of a TLS session as its bytes
// arrive: each call to Parse reads only the records completed since the
// previous call, and returns what ParseTLSStream would return for the same
// bytes. The zero value is ready to use. The TLSStream returned is the
// parser's own, updated by each call; its Certificates alias the input of
// the call that parsed them: copy them before that input is reused.
type TLSStreamParser struct {
	s   TLSStream
	p   tlsStreamParser
	err error  // the error that stopped parsing; returned by later calls
	own []byte // the parser's copy of a handshake message split across calls
	// The first records and the handshake types are kept here: a parser
	// must not be copied once used.
	recs [8]Record
	hs   [TLSMaxHandshakes]uint8
}

// Parse parses b, the bytes of one direction from the start of the TLS
// session. Each call's b must start with the bytes of the previous call
// (the stream may only have grown); b may be a different slice.
func (t *TLSStreamParser) Parse(b []byte) (*TLSStream, error) {
	if t.p.s == nil {
		t.p.s, t.p.recBuf, t.p.hsBuf = &t.s, &t.recs, &t.hs
	}
	if t.err != nil {
		return &t.s, t.err
	}
	if len(b) < t.s.Consumed {
		// Not the same stream: start again.
		t.Reset()
		t.p.s, t.p.recBuf, t.p.hsBuf = &t.s, &t.recs, &t.hs
	}
	t.s.Incomplete = false
	if err := t.p.run(b); err != nil {
		t.err = err
		return &t.s, err
	}
	// A message continued in later records still points into b: keep a
	// copy, as b may be gone by the next call. Appending to pending copies
	// it again (its capacity equals its length), so the copy is never
	// overwritten while a message refers to it.
	if n := len(t.p.pending); n > 0 && (cap(t.own) == 0 || &t.p.pending[0] != &t.own[:1][0]) {
		t.own = append(t.own[:0], t.p.pending...)
		t.p.pending = t.own[:n:n]
	}
	return &t.s, nil
}

// Reset forgets the stream, so the parser can read another one. The
// TLSStream returned before must no longer be used.
func (t *TLSStreamParser) Reset() {
	own := t.own[:0]
	*t = TLSStreamParser{own: own}
}

func (p *tlsStreamParser) run(b []byte) error {
	s := p.s
	if len(b) > 0 && !LooksLikeTLS(b) {
		if len(b) >= 3 || !tlsPrefixOK(b) {
			return tlsErr("record", ErrTLSNotTLS)
		}
	}
	off := s.Consumed
	for {
		rest := b[off:]
		if len(rest) == 0 {
			break
		}
		if len(rest) < tlsRecordHeaderLen {
			if !tlsPrefixOK(rest) {
				return tlsErr("record header", ErrTLSMalformed)
			}
			s.Incomplete = true
			break
		}
		typ := rest[0]
		ver := uint16(rest[1])<<8 | uint16(rest[2])
		n := int(rest[3])<<8 | int(rest[4])
		if !LooksLikeTLS(rest) {
			if off == 0 {
				return tlsErr("record", ErrTLSNotTLS)
			}
			return tlsErr("record header at "+strconv.Itoa(off), ErrTLSMalformed)
		}
		if n > TLSMaxRecordLen {
			return tlsErr("record length", ErrTLSTooLarge)
		}
		if len(rest) < tlsRecordHeaderLen+n {
			s.Incomplete = true
			break
		}
		frag := rest[tlsRecordHeaderLen : tlsRecordHeaderLen+n : tlsRecordHeaderLen+n]
		off += tlsRecordHeaderLen + n
		s.Consumed = off
		s.RecordCount++
		if len(s.Records) < TLSMaxRecords {
			if s.Records == nil {
				if p.recBuf != nil {
					s.Records = p.recBuf[:0]
				} else {
					s.Records = make([]Record, 0, 8)
				}
			}
			s.Records = append(s.Records, Record{Type: typ, Version: ver, Length: n})
		}
		if err := p.record(typ, frag); err != nil {
			return err
		}
	}
	if len(p.pending) > 0 && !p.hsDone {
		s.Incomplete = true
	}
	return nil
}

// tlsPrefixOK reports whether the first bytes of a record header (fewer
// than 3) could still start a TLS record.
func tlsPrefixOK(b []byte) bool {
	if len(b) >= 1 && (b[0] < TLSRecordChangeCipherSpec || b[0] > TLSRecordHeartbeat) {
		return false
	}
	if len(b) >= 2 && b[1] != 3 {
		return false
	}
	if len(b) >= 3 && b[2] > 4 {
		return false
	}
	return true
}

// tls13Context reports whether this direction is in a TLS 1.3 exchange in
// which a CCS may be the compatibility one.
func (p *tlsStreamParser) tls13Context() bool {
	s := p.s
	if p.otherHS {
		return false
	}
	if s.ServerHello != nil {
		return s.ServerHello.HelloRetryRequest
	}
	return s.ClientHello != nil && s.ClientHello.MaxVersion() >= 0x0304
}

func (p *tlsStreamParser) record(typ uint8, frag []byte) error {
	s := p.s
	switch typ {
	case TLSRecordChangeCipherSpec:
		s.ChangeCipherSpec = true
		if !p.hsDone {
			if p.tls13Context() {
				p.compat = true
			} else {
				p.hsDone = true
				p.pending = nil
			}
		}
	case TLSRecordAlert:
		if p.hsDone && len(frag) != 2 {
			s.EncryptedAlerts++
			s.Encrypted = true
			return nil
		}
		for i := 0; i+1 < len(frag); i += 2 {
			if len(s.Alerts) >= TLSMaxAlerts {
				break
			}
			s.Alerts = append(s.Alerts, Alert{Level: frag[i], Description: frag[i+1]})
		}
	case TLSRecordHandshake:
		if p.hsDone {
			s.Encrypted = true
			return nil
		}
		if p.compat && len(p.pending) == 0 {
			// After a possible compatibility CCS only a second hello is
			// plaintext; anything else is an encrypted Finished.
			if !tlsLooksLikeHello(frag) {
				p.hsDone, p.compat = true, false
				s.Encrypted = true
				return nil
			}
		}
		return p.handshake(frag)
	case TLSRecordApplicationData:
		s.Encrypted = true
		s.AppDataRecords++
		s.AppDataBytes += len(frag)
	}
	return nil
}

// tlsLooksLikeHello reports whether a record payload starts with a plausible
// ClientHello or ServerHello header.
func tlsLooksLikeHello(frag []byte) bool {
	if len(frag) < 6 || (frag[0] != TLSHandshakeClientHello && frag[0] != TLSHandshakeServerHello) {
		return false
	}
	n := int(frag[1])<<16 | int(frag[2])<<8 | int(frag[3])
	return n >= 38 && n <= TLSMaxHandshakeLen && frag[4] == 3
}

// handshake consumes one handshake record payload.
func (p *tlsStreamParser) handshake(frag []byte) error {
	data := frag
	if len(p.pending) > 0 {
		data = append(p.pending, frag...)
	}
	for len(data) >= 4 && !p.hsDone {
		n := int(data[1])<<16 | int(data[2])<<8 | int(data[3])
		if n > TLSMaxHandshakeLen {
			return tlsErr("handshake message length", ErrTLSTooLarge)
		}
		if len(data) < 4+n {
			break
		}
		msg := data[: 4+n : 4+n]
		data = data[4+n:]
		if err := p.message(msg); err != nil {
			if p.compat {
				// Not a hello after all: the CCS was a real one.
				p.hsDone, p.compat = true, false
				p.s.Encrypted = true
				p.pending = nil
				return nil
			}
			return err
		}
	}
	if p.hsDone {
		p.pending = nil
		return nil
	}
	p.pending = data[:len(data):len(data)]
	return nil
}

// message handles one complete handshake message.
func (p *tlsStreamParser) message(msg []byte) error {
	s := p.s
	typ := msg[0]
	if len(s.Handshakes) < TLSMaxHandshakes {
		if s.Handshakes == nil && p.hsBuf != nil {
			s.Handshakes = p.hsBuf[:0]
		}
		s.Handshakes = append(s.Handshakes, typ)
	}
	switch typ {
	case TLSHandshakeClientHello:
		ch, err := ParseClientHello(msg)
		if err != nil {
			return err
		}
		if s.ClientHello == nil {
			s.ClientHello = ch
		}
		p.compat = false
	case TLSHandshakeServerHello:
		sh, err := ParseServerHello(msg)
		if err != nil {
			return err
		}
		s.ServerHello = sh
		p.compat = false
		if sh.HelloRetryRequest {
			s.HelloRetryRequest = true
		} else if sh.Version == 0x0304 {
			// Everything after a TLS 1.3 ServerHello is encrypted.
			p.hsDone = true
		}
	case TLSHandshakeCertificate:
		p.otherHS = true
		if p.haveCert {
			return nil
		}
		p.haveCert = true
		return p.certificates(msg[4:])
	default:
		p.otherHS = true
	}
	return nil
}

// certificates reads a TLS 1.2 Certificate message body.
func (p *tlsStreamParser) certificates(body []byte) error {
	const where = "certificate"
	s := p.s
	r := tlsReader{b: body}
	list, ok := r.vec24()
	if !ok || !r.empty() {
		return tlsErr(where+" list", ErrTLSMalformed)
	}
	lr := tlsReader{b: list}
	for !lr.empty() {
		der, ok := lr.vec24()
		if !ok {
			return tlsErr(where+" entry", ErrTLSTruncated)
		}
		if len(der) == 0 {
			return tlsErr(where+" entry", ErrTLSMalformed)
		}
		if len(der) > tlsMaxCertLen {
			return tlsErr(where+" entry", ErrTLSTooLarge)
		}
		s.CertificateCount++
		if len(s.Certificates) < TLSMaxCertificates {
			if s.Certificates == nil {
				s.Certificates = make([][]byte, 0, 4)
			}
			s.Certificates = append(s.Certificates, der)
		}
	}
	return nil
}

// ParseCertificates parses DER certificates with crypto/x509. The result is
// aligned with ders (nil where a certificate did not parse); the errors hold
// one entry per certificate that did not parse, naming its index. At most
// TLSMaxCertificates are parsed; the rest are reported as errors.
func ParseCertificates(ders [][]byte) ([]*x509.Certificate, []error) {
	certs := make([]*x509.Certificate, len(ders))
	var errs []error
	for i, der := range ders {
		if i >= TLSMaxCertificates {
			errs = append(errs, tlsErr("certificate "+strconv.Itoa(i), ErrTLSTooLarge))
			continue
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			errs = append(errs, &TLSError{Where: "certificate " + strconv.Itoa(i), Err: err})
			continue
		}
		certs[i] = c
	}
	return certs, errs
}
