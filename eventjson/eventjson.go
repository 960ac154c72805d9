// Package eventjson appends orchard's flow, DNS and finding events as JSON,
// byte for byte what encoding/json writes for them (with HTML escaping off,
// as the NDJSON stream has it), without reflection and without allocating:
// the Kafka output encodes hundreds of thousands of events a second.
//
// Its tests compare it with encoding/json on every event of the demo and
// the shared captures, on fuzzed events, and check that it names every
// field of the event types, so a field added to them cannot be missed.
package eventjson

import (
	"math"
	"strconv"
	"unicode/utf8"

	"orchard/analyzer"
)

// w appends the fields of one object, with the commas between them.
type w struct {
	b     []byte
	first bool
}

func (o *w) key(k string) {
	if !o.first {
		o.b = append(o.b, ',')
	}
	o.first = false
	o.b = append(o.b, '"')
	o.b = append(o.b, k...)
	o.b = append(o.b, '"', ':')
}

func (o *w) str(k, v string) {
	o.key(k)
	o.b = AppendString(o.b, v)
}

func (o *w) strOmit(k, v string) {
	if v != "" {
		o.str(k, v)
	}
}

func (o *w) uint(k string, v uint64) {
	o.key(k)
	o.b = strconv.AppendUint(o.b, v, 10)
}

func (o *w) uintOmit(k string, v uint64) {
	if v != 0 {
		o.uint(k, v)
	}
}

func (o *w) int(k string, v int64) {
	o.key(k)
	o.b = strconv.AppendInt(o.b, v, 10)
}

func (o *w) intOmit(k string, v int64) {
	if v != 0 {
		o.int(k, v)
	}
}

func (o *w) boolOmit(k string, v bool) {
	if v {
		o.key(k)
		o.b = append(o.b, "true"...)
	}
}

func (o *w) strsOmit(k string, v []string) {
	if len(v) == 0 {
		return
	}
	o.key(k)
	o.b = append(o.b, '[')
	for i, s := range v {
		if i > 0 {
			o.b = append(o.b, ',')
		}
		o.b = AppendString(o.b, s)
	}
	o.b = append(o.b, ']')
}

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
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
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
func AppendFlow(b []byte, e *analyzer.FlowEvent) []byte {
	o := w{b: append(b, '{'), first: true}
	o.str("type", e.Type)
	o.str("proto", e.Proto)
	o.str("client", e.Client)
	o.uint("client_port", uint64(e.ClientPort))
	o.str("server", e.Server)
	o.uint("port", uint64(e.Port))
	o.strOmit("community_id", e.CommunityID)
	o.strOmit("client_mac", e.ClientMAC)
	o.uintOmit("vlan", uint64(e.VLAN))
	o.strOmit("process", e.Process)
	o.intOmit("pid", int64(e.PID))
	o.strOmit("state", e.State)
	o.str("first", e.First)
	o.str("last", e.Last)
	o.key("duration")
	o.b = AppendFloat(o.b, e.Duration)
	o.uint("packets_client", e.PacketsClient)
	o.uint("packets_server", e.PacketsServer)
	o.uint("bytes_client", e.BytesClient)
	o.uint("bytes_server", e.BytesServer)
	o.int("syn_retries", int64(e.SynRetries))
	o.strOmit("rst_by", e.RSTBy)
	o.strOmit("icmp", e.ICMP)
	o.boolOmit("evicted", e.Evicted)
	o.strOmit("sni", e.SNI)
	o.strsOmit("alpn", e.ALPN)
	o.strOmit("tls_version", e.TLSVersion)
	o.strOmit("tls_cipher", e.TLSCipher)
	o.strOmit("tls_group", e.TLSGroup)
	o.boolOmit("tls_pq", e.TLSPQ)
	o.intOmit("hello_bytes", int64(e.HelloBytes))
	o.strOmit("ja4", e.JA4)
	o.strOmit("cert_subject", e.CertSubject)
	o.strOmit("cert_issuer", e.CertIssuer)
	if len(e.CertChain) > 0 {
		o.key("cert_chain")
		o.b = append(o.b, '[')
		for i := range e.CertChain {
			if i > 0 {
				o.b = append(o.b, ',')
			}
			c := w{b: append(o.b, '{'), first: true}
			c.str("subject", e.CertChain[i].Subject)
			c.str("issuer", e.CertChain[i].Issuer)
			o.b = append(c.b, '}')
		}
		o.b = append(o.b, ']')
	}
	o.strOmit("tls_alert", e.TLSAlert)
	o.strOmit("http_host", e.HTTPHost)
	o.strOmit("http_method", e.HTTPMethod)
	o.intOmit("http_status", int64(e.HTTPStatus))
	o.strOmit("user_agent", e.UserAgent)
	o.strOmit("connect_target", e.ConnectTarget)
	o.strOmit("ntp_mode", e.NTPMode)
	if e.NTPStratum != nil {
		o.int("ntp_stratum", int64(*e.NTPStratum))
	}
	o.strOmit("ntp_refid", e.NTPRefID)
	o.strOmit("quic_version", e.QUICVersion)
	o.strOmit("host", e.Host)
	o.strOmit("name_source", e.NameSource)
	o.strOmit("service", e.Service)
	o.strOmit("section", e.Section)
	o.boolOmit("apple", e.Apple)
	o.strsOmit("findings", e.Findings)
	return append(o.b, '}')
}

// AppendDNS appends a DNS event as a JSON object.
func AppendDNS(b []byte, e *analyzer.DNSEvent) []byte {
	o := w{b: append(b, '{'), first: true}
	o.str("type", e.Type)
	o.str("ts", e.TS)
	o.str("client", e.Client)
	o.str("server", e.Server)
	o.uint("port", uint64(e.Port))
	o.str("proto", e.Proto)
	o.strOmit("community_id", e.CommunityID)
	o.str("query", e.Query)
	o.str("qtype", e.QType)
	o.str("rcode", e.RCode)
	o.key("answers")
	if e.Answers == nil {
		o.b = append(o.b, "null"...)
	} else {
		o.b = append(o.b, '[')
		for i := range e.Answers {
			if i > 0 {
				o.b = append(o.b, ',')
			}
			a := &e.Answers[i]
			c := w{b: append(o.b, '{'), first: true}
			c.str("name", a.Name)
			c.str("type", a.Type)
			c.uint("ttl", uint64(a.TTL))
			c.str("data", a.Data)
			o.b = append(c.b, '}')
		}
		o.b = append(o.b, ']')
	}
	return append(o.b, '}')
}

// AppendFinding appends a finding as a JSON object.
func AppendFinding(b []byte, f *analyzer.Finding) []byte {
	o := w{b: append(b, '{'), first: true}
	o.str("type", f.Type)
	o.str("finding", f.Finding)
	o.str("severity", f.Severity)
	o.str("host", f.Host)
	o.strOmit("name_source", f.NameSource)
	o.strOmit("service", f.Service)
	o.strOmit("section", f.Section)
	o.str("client", f.Client)
	o.strOmit("client_mac", f.ClientMAC)
	o.strOmit("process", f.Process)
	o.strOmit("server", f.Server)
	o.uintOmit("port", uint64(f.Port))
	o.str("proto", f.Proto)
	o.strOmit("proxy", f.Proxy)
	o.strOmit("target", f.Target)
	o.strOmit("community_id", f.CommunityID)
	o.int("count", int64(f.Count))
	o.str("first", f.First)
	o.str("last", f.Last)
	o.str("evidence", f.Evidence)
	o.strOmit("advice", f.Advice)
	o.strOmit("undecided", f.Undecided)
	return append(o.b, '}')
}
