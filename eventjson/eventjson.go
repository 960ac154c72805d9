package eventjson

import (
	"math"
	"strconv"
	"unicode/utf8"

	"orchard/report"
)

// AppendFloat appends a float64 as encoding/json does (NaN and infinities,
// which it refuses, as 0).
func AppendFloat(b []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(b, '0')
	}
	abs := math.Abs(f)
	fmt := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		fmt = 'e'
	}
	b = strconv.AppendFloat(b, f, fmt, -1, 64)
	if fmt == 'e' {
		// e-09 → e-9, as encoding/json writes it
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

const hexDigits = "0123456789abcdef"

// AppendString appends s as a JSON string the way encoding/json does with
// HTML escaping off: control characters escaped, invalid UTF-8 replaced by
// U+FFFD, U+2028 and U+2029 escaped.
func AppendString(b []byte, s string) []byte {
	// Most strings need no escaping at all: copy them whole.
	if simple(s) {
		b = append(b, '"')
		b = append(b, s...)
		return append(b, '"')
	}
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if plain[c] {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// AppendFlow appends a flow event as a JSON object.
func AppendFlow(b []byte, e *report.FlowEvent) []byte {
	o := Object{B: append(b, '{'), first: true}
	o.Str("type", e.Type)
	o.Str("proto", e.Proto)
	o.Str("client", e.Client)
	o.Uint("client_port", uint64(e.ClientPort))
	o.Str("server", e.Server)
	o.Uint("port", uint64(e.Port))
	o.StrOmit("community_id", e.CommunityID)
	o.StrOmit("client_mac", e.ClientMAC)
	o.UintOmit("vlan", uint64(e.VLAN))
	o.StrOmit("process", e.Process)
	o.IntOmit("pid", int64(e.PID))
	o.StrOmit("state", e.State)
	o.Str("first", e.First)
	o.Str("last", e.Last)
	o.Key("duration")
	o.B = AppendFloat(o.B, e.Duration)
	o.Uint("packets_client", e.PacketsClient)
	o.Uint("packets_server", e.PacketsServer)
	o.Uint("bytes_client", e.BytesClient)
	o.Uint("bytes_server", e.BytesServer)
	o.Int("syn_retries", int64(e.SynRetries))
	o.StrOmit("rst_by", e.RSTBy)
	o.StrOmit("icmp", e.ICMP)
	o.BoolOmit("evicted", e.Evicted)
	o.StrOmit("sni", e.SNI)
	o.StrsOmit("alpn", e.ALPN)
	o.StrOmit("tls_version", e.TLSVersion)
	o.StrOmit("tls_cipher", e.TLSCipher)
	o.StrOmit("tls_group", e.TLSGroup)
	o.BoolOmit("tls_pq", e.TLSPQ)
	o.IntOmit("hello_bytes", int64(e.HelloBytes))
	o.StrOmit("ja4", e.JA4)
	o.StrOmit("cert_subject", e.CertSubject)
	o.StrOmit("cert_issuer", e.CertIssuer)
	if len(e.CertChain) > 0 {
		o.Key("cert_chain")
		o.B = append(o.B, '[')
		for i := range e.CertChain {
			if i > 0 {
				o.B = append(o.B, ',')
			}
			c := Object{B: append(o.B, '{'), first: true}
			c.Str("subject", e.CertChain[i].Subject)
			c.Str("issuer", e.CertChain[i].Issuer)
			o.B = append(c.B, '}')
		}
		o.B = append(o.B, ']')
	}
	o.StrOmit("tls_alert", e.TLSAlert)
	o.StrOmit("http_host", e.HTTPHost)
	o.StrOmit("http_method", e.HTTPMethod)
	o.IntOmit("http_status", int64(e.HTTPStatus))
	o.StrOmit("user_agent", e.UserAgent)
	o.StrOmit("connect_target", e.ConnectTarget)
	o.StrOmit("ntp_mode", e.NTPMode)
	if e.NTPStratum != nil {
		o.Int("ntp_stratum", int64(*e.NTPStratum))
	}
	o.StrOmit("ntp_refid", e.NTPRefID)
	o.StrOmit("quic_version", e.QUICVersion)
	o.StrOmit("host", e.Host)
	o.StrOmit("name_source", e.NameSource)
	o.StrOmit("service", e.Service)
	o.StrOmit("section", e.Section)
	o.BoolOmit("apple", e.Apple)
	o.StrsOmit("findings", e.Findings)
	return append(o.B, '}')
}

// AppendDNS appends a DNS event as a JSON object.
func AppendDNS(b []byte, e *report.DNSEvent) []byte {
	o := Object{B: append(b, '{'), first: true}
	o.Str("type", e.Type)
	o.Str("ts", e.TS)
	o.Str("client", e.Client)
	o.Str("server", e.Server)
	o.Uint("port", uint64(e.Port))
	o.Str("proto", e.Proto)
	o.StrOmit("community_id", e.CommunityID)
	o.Str("query", e.Query)
	o.Str("qtype", e.QType)
	o.Str("rcode", e.RCode)
	o.Key("answers")
	if e.Answers == nil {
		o.B = append(o.B, "null"...)
	} else {
		o.B = append(o.B, '[')
		for i := range e.Answers {
			if i > 0 {
				o.B = append(o.B, ',')
			}
			a := &e.Answers[i]
			c := Object{B: append(o.B, '{'), first: true}
			c.Str("name", a.Name)
			c.Str("type", a.Type)
			c.Uint("ttl", uint64(a.TTL))
			c.Str("data", a.Data)
			o.B = append(c.B, '}')
		}
		o.B = append(o.B, ']')
	}
	return append(o.B, '}')
}

// AppendFinding appends a finding as a JSON object.
func AppendFinding(b []byte, f *report.Finding) []byte {
	return appendFinding(NewObject(b), f)
}

// appendFinding writes a finding's fields into o and closes it.
func appendFinding(o Object, f *report.Finding) []byte {
	o.Str("type", f.Type)
	o.Str("finding", f.Finding)
	o.Str("severity", f.Severity)
	o.Str("host", f.Host)
	o.StrOmit("name_source", f.NameSource)
	o.StrOmit("service", f.Service)
	o.StrOmit("section", f.Section)
	o.Str("client", f.Client)
	o.StrOmit("client_mac", f.ClientMAC)
	o.StrOmit("process", f.Process)
	o.StrOmit("server", f.Server)
	o.UintOmit("port", uint64(f.Port))
	o.Str("proto", f.Proto)
	o.StrOmit("proxy", f.Proxy)
	o.StrOmit("target", f.Target)
	o.StrOmit("community_id", f.CommunityID)
	o.Int("count", int64(f.Count))
	o.Str("first", f.First)
	o.Str("last", f.Last)
	o.Str("evidence", f.Evidence)
	o.StrOmit("advice", f.Advice)
	o.StrOmit("undecided", f.Undecided)
	return o.Close()
}

// plain tells the ASCII bytes a JSON string holds as they are.
var plain = func() (t [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// simple reports whether s is ASCII needing no escape.
func simple(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= utf8.RuneSelf || !plain[c] {
			return false
		}
	}
	return true
}
