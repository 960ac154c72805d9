package dissect

import (
	"crypto/sha256"
	"slices"
)

// JA4 client fingerprint, following FoxIO's JA4 specification (BSD 3-Clause):
//
//	t13d1516h2_8daaf6152771_e5627efa2ab1
//	│││ │ │ │  │            └ sha256 of sorted extensions (without SNI, ALPN) "_" signature algorithms in order
//	│││ │ │ │  └ sha256 of the sorted cipher suites, both truncated to 12 hex digits
//	│││ │ │ └ first and last character of the first ALPN value ("00": none)
//	│││ │ └ number of extensions (at most 99)
//	│││ └ number of cipher suites (at most 99)
//	││└ 'd' when the server_name extension is present, else 'i'
//	│└ highest version offered: "13", "12", ..., "s3", "00" unknown
//	└ 't' TLS over TCP, 'q' QUIC
//
// GREASE values are ignored everywhere.

// ja4Empty is printed for a hash over an empty list.
const ja4Empty = "000000000000"

// ja4Version returns the two JA4 characters of a protocol version.
func ja4Version(v uint16) string {
	switch v {
	case 0x0304:
		return "13"
	case 0x0303:
		return "12"
	case 0x0302:
		return "11"
	case 0x0301:
		return "10"
	case 0x0300:
		return "s3"
	case 0x0002:
		return "s2"
	case 0xfeff:
		return "d1"
	case 0xfefd:
		return "d2"
	case 0xfefc:
		return "d3"
	}
	return "00"
}

// ja4IsAlnum reports whether c is an ASCII letter or digit.
func ja4IsAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z'
}

// ja4ALPN returns the two JA4 characters for the first ALPN value.
func ja4ALPN(p string) [2]byte {
	if p == "" {
		return [2]byte{'0', '0'}
	}
	first, last := p[0], p[len(p)-1]
	if ja4IsAlnum(first) && ja4IsAlnum(last) {
		return [2]byte{first, last}
	}
	return [2]byte{tlsHexDigits[first>>4], tlsHexDigits[last&0xf]}
}

// ja4Count writes n, capped at 99, as two decimal digits.
func ja4Count(n int) [2]byte {
	n = min(n, 99)
	return [2]byte{byte('0' + n/10), byte('0' + n%10)}
}

// ja4AppendHex4 appends v as four lower-case hex digits.
func ja4AppendHex4(dst []byte, v uint16) []byte {
	return append(dst, tlsHexDigits[v>>12], tlsHexDigits[(v>>8)&0xf],
		tlsHexDigits[(v>>4)&0xf], tlsHexDigits[v&0xf])
}

// ja4AppendList appends the values as comma-separated hex.
func ja4AppendList(dst []byte, vals []uint16) []byte {
	for i, v := range vals {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = ja4AppendHex4(dst, v)
	}
	return dst
}

// ja4AppendHash appends the first 12 hex digits of sha256(in).
func ja4AppendHash(dst, in []byte) []byte {
	sum := sha256.Sum256(in)
	for _, c := range sum[:6] {
		dst = append(dst, tlsHexDigits[c>>4], tlsHexDigits[c&0xf])
	}
	return dst
}

// JA4 returns the JA4 fingerprint of the ClientHello, e.g.
// "t13d1516h2_8daaf6152771_e5627efa2ab1"; quic selects the 'q' prefix used
// for ClientHellos carried in QUIC Initial packets.
func (c *ClientHello) JA4(quic bool) string {
	// Working storage on the stack: the lists hold at most TLSMaxListLen
	// entries each, as ParseClientHello keeps; longer hand-built lists are
	// cut to the same size.
	var (
		ciphers [TLSMaxListLen]uint16
		exts    [TLSMaxListLen]uint16
		text    [2*TLSMaxListLen*5 + 8]byte
		out     [36]byte
	)
	nc := 0
	for _, v := range c.CipherSuites {
		if !IsGREASE(v) && nc < len(ciphers) {
			ciphers[nc] = v
			nc++
		}
	}
	ne, nh, sni := 0, 0, false
	for _, v := range c.Extensions {
		if IsGREASE(v) {
			continue
		}
		ne++
		switch v {
		case TLSExtServerName:
			sni = true
			continue
		case TLSExtALPN:
			continue
		}
		if nh < len(exts) {
			exts[nh] = v
			nh++
		}
	}
	alpn := c.alpn0
	if alpn == "" && len(c.ALPN) > 0 {
		alpn = c.ALPN[0]
	}

	o := out[:0]
	if quic {
		o = append(o, 'q')
	} else {
		o = append(o, 't')
	}
	o = append(o, ja4Version(c.MaxVersion())...)
	if sni {
		o = append(o, 'd')
	} else {
		o = append(o, 'i')
	}
	cc, ec, ap := ja4Count(nc), ja4Count(ne), ja4ALPN(alpn)
	o = append(o, cc[0], cc[1], ec[0], ec[1], ap[0], ap[1], '_')

	if nc == 0 {
		o = append(o, ja4Empty...)
	} else {
		slices.Sort(ciphers[:nc])
		o = ja4AppendHash(o, ja4AppendList(text[:0], ciphers[:nc]))
	}
	o = append(o, '_')
	if nh == 0 {
		o = append(o, ja4Empty...)
	} else {
		slices.Sort(exts[:nh])
		t := ja4AppendList(text[:0], exts[:nh])
		first := true
		for i, v := range c.SignatureAlgorithms {
			if IsGREASE(v) || i >= TLSMaxListLen {
				continue
			}
			if first {
				t = append(t, '_')
				first = false
			} else {
				t = append(t, ',')
			}
			t = ja4AppendHex4(t, v)
		}
		o = ja4AppendHash(o, t)
	}
	return string(o)
}
