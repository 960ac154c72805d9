package dissect

// Read-only name tables for TLS protocol versions, cipher suites, named groups
// and alert descriptions (IANA TLS registries). Unknown values are printed as
// hexadecimal so that output never depends on the table being complete.

const tlsHexDigits = "0123456789abcdef"

// tlsHex16 formats v as "0x" followed by four lower-case hex digits.
func tlsHex16(v uint16) string {
	b := [6]byte{'0', 'x',
		tlsHexDigits[v>>12], tlsHexDigits[(v>>8)&0xf],
		tlsHexDigits[(v>>4)&0xf], tlsHexDigits[v&0xf]}
	return string(b[:])
}

// tlsDec8 formats v in decimal.
func tlsDec8(v uint8) string {
	var b [3]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
		if v == 0 {
			break
		}
	}
	return string(b[i:])
}

// IsGREASE reports whether v is one of the reserved GREASE values of RFC 8701
// (0x0a0a, 0x1a1a, ..., 0xfafa), which clients send to keep servers tolerant.
func IsGREASE(v uint16) bool {
	return v&0x0f0f == 0x0a0a && v>>8 == v&0xff
}

// TLSVersionString names a protocol version: "TLS1.3", "TLS1.2", ...,
// "SSL3.0", "DTLS1.2"; anything else is printed as hex, e.g. "0x7f1c".
func TLSVersionString(v uint16) string {
	switch v {
	case 0x0002:
		return "SSL2.0"
	case 0x0300:
		return "SSL3.0"
	case 0x0301:
		return "TLS1.0"
	case 0x0302:
		return "TLS1.1"
	case 0x0303:
		return "TLS1.2"
	case 0x0304:
		return "TLS1.3"
	case 0xfeff:
		return "DTLS1.0"
	case 0xfefd:
		return "DTLS1.2"
	case 0xfefc:
		return "DTLS1.3"
	}
	return tlsHex16(v)
}

// CipherSuiteString returns the IANA name of the common cipher suites and a
// hex form such as "0x1301" for the others.
func CipherSuiteString(c uint16) string {
	switch c {
	case 0x1301:
		return "TLS_AES_128_GCM_SHA256"
	case 0x1302:
		return "TLS_AES_256_GCM_SHA384"
	case 0x1303:
		return "TLS_CHACHA20_POLY1305_SHA256"
	case 0x1304:
		return "TLS_AES_128_CCM_SHA256"
	case 0x1305:
		return "TLS_AES_128_CCM_8_SHA256"
	case 0xc02b:
		return "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"
	case 0xc02c:
		return "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"
	case 0xc02f:
		return "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"
	case 0xc030:
		return "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"
	case 0xcca8:
		return "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"
	case 0xcca9:
		return "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"
	case 0xccaa:
		return "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256"
	case 0xc009:
		return "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA"
	case 0xc00a:
		return "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA"
	case 0xc013:
		return "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"
	case 0xc014:
		return "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA"
	case 0xc023:
		return "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256"
	case 0xc024:
		return "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384"
	case 0xc027:
		return "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256"
	case 0xc028:
		return "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384"
	case 0xc008:
		return "TLS_ECDHE_ECDSA_WITH_3DES_EDE_CBC_SHA"
	case 0xc012:
		return "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA"
	case 0xc011:
		return "TLS_ECDHE_RSA_WITH_RC4_128_SHA"
	case 0xc007:
		return "TLS_ECDHE_ECDSA_WITH_RC4_128_SHA"
	case 0x009c:
		return "TLS_RSA_WITH_AES_128_GCM_SHA256"
	case 0x009d:
		return "TLS_RSA_WITH_AES_256_GCM_SHA384"
	case 0x009e:
		return "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256"
	case 0x009f:
		return "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384"
	case 0x002f:
		return "TLS_RSA_WITH_AES_128_CBC_SHA"
	case 0x0035:
		return "TLS_RSA_WITH_AES_256_CBC_SHA"
	case 0x003c:
		return "TLS_RSA_WITH_AES_128_CBC_SHA256"
	case 0x003d:
		return "TLS_RSA_WITH_AES_256_CBC_SHA256"
	case 0x0033:
		return "TLS_DHE_RSA_WITH_AES_128_CBC_SHA"
	case 0x0039:
		return "TLS_DHE_RSA_WITH_AES_256_CBC_SHA"
	case 0x0067:
		return "TLS_DHE_RSA_WITH_AES_128_CBC_SHA256"
	case 0x006b:
		return "TLS_DHE_RSA_WITH_AES_256_CBC_SHA256"
	case 0x000a:
		return "TLS_RSA_WITH_3DES_EDE_CBC_SHA"
	case 0x0004:
		return "TLS_RSA_WITH_RC4_128_MD5"
	case 0x0005:
		return "TLS_RSA_WITH_RC4_128_SHA"
	case 0x0000:
		return "TLS_NULL_WITH_NULL_NULL"
	case 0x00ff:
		return "TLS_EMPTY_RENEGOTIATION_INFO_SCSV"
	case 0x5600:
		return "TLS_FALLBACK_SCSV"
	}
	if IsGREASE(c) {
		return "GREASE"
	}
	return tlsHex16(c)
}

// GroupString names a supported_groups / key_share group: "x25519",
// "secp256r1", "X25519MLKEM768", ...; others are printed as hex.
func GroupString(g uint16) string {
	switch g {
	case 0x0017:
		return "secp256r1"
	case 0x0018:
		return "secp384r1"
	case 0x0019:
		return "secp521r1"
	case 0x001a:
		return "brainpoolP256r1"
	case 0x001b:
		return "brainpoolP384r1"
	case 0x001c:
		return "brainpoolP512r1"
	case 0x001d:
		return "x25519"
	case 0x001e:
		return "x448"
	case 0x001f:
		return "brainpoolP256r1tls13"
	case 0x0020:
		return "brainpoolP384r1tls13"
	case 0x0021:
		return "brainpoolP512r1tls13"
	case 0x0100:
		return "ffdhe2048"
	case 0x0101:
		return "ffdhe3072"
	case 0x0102:
		return "ffdhe4096"
	case 0x0103:
		return "ffdhe6144"
	case 0x0104:
		return "ffdhe8192"
	case 0x0200:
		return "MLKEM512"
	case 0x0201:
		return "MLKEM768"
	case 0x0202:
		return "MLKEM1024"
	case 0x11eb:
		return "SecP256r1MLKEM768"
	case 0x11ec:
		return "X25519MLKEM768"
	case 0x11ed:
		return "SecP384r1MLKEM1024"
	case 0x6399:
		return "x25519_kyber768_draft00"
	case 0x639a:
		return "secp256r1_kyber768_draft00"
	}
	if IsGREASE(g) {
		return "GREASE"
	}
	return tlsHex16(g)
}

// AlertDescriptionString names an alert description ("bad_certificate");
// unknown values are printed as "alert(200)".
func AlertDescriptionString(d uint8) string {
	switch d {
	case 0:
		return "close_notify"
	case 10:
		return "unexpected_message"
	case 20:
		return "bad_record_mac"
	case 21:
		return "decryption_failed"
	case 22:
		return "record_overflow"
	case 30:
		return "decompression_failure"
	case 40:
		return "handshake_failure"
	case 41:
		return "no_certificate"
	case 42:
		return "bad_certificate"
	case 43:
		return "unsupported_certificate"
	case 44:
		return "certificate_revoked"
	case 45:
		return "certificate_expired"
	case 46:
		return "certificate_unknown"
	case 47:
		return "illegal_parameter"
	case 48:
		return "unknown_ca"
	case 49:
		return "access_denied"
	case 50:
		return "decode_error"
	case 51:
		return "decrypt_error"
	case 60:
		return "export_restriction"
	case 70:
		return "protocol_version"
	case 71:
		return "insufficient_security"
	case 80:
		return "internal_error"
	case 86:
		return "inappropriate_fallback"
	case 90:
		return "user_canceled"
	case 100:
		return "no_renegotiation"
	case 109:
		return "missing_extension"
	case 110:
		return "unsupported_extension"
	case 111:
		return "certificate_unobtainable"
	case 112:
		return "unrecognized_name"
	case 113:
		return "bad_certificate_status_response"
	case 114:
		return "bad_certificate_hash_value"
	case 115:
		return "unknown_psk_identity"
	case 116:
		return "certificate_required"
	case 120:
		return "no_application_protocol"
	case 121:
		return "ech_required"
	}
	return "alert(" + tlsDec8(d) + ")"
}

// tlsAlertLevelString names an alert level: "warning", "fatal" or "level(N)".
func tlsAlertLevelString(l uint8) string {
	switch l {
	case 1:
		return "warning"
	case 2:
		return "fatal"
	}
	return "level(" + tlsDec8(l) + ")"
}
