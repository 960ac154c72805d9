package dissect_test

import (
	"crypto/tls"
	"testing"

	"orchard/dissect"
	"orchard/internal/sharedtest"
)

// seedFlights returns real handshake bytes for fuzz seeds: crypto/tls
// sessions of TLS 1.2, TLS 1.3 and with a HelloRetryRequest.
func seedFlights(f testing.TB) [][]byte {
	pki := newPKI(f)
	var out [][]byte
	for _, v := range []uint16{tls.VersionTLS12, 0} {
		ccfg, scfg := tlsConfigs(pki, v)
		c, s, _, _ := session(f, ccfg, scfg)
		out = append(out, c, s)
	}
	ccfg, scfg := tlsConfigs(pki, 0)
	scfg.CurvePreferences = []tls.CurveID{tls.CurveP256}
	c, s, _, _ := session(f, ccfg, scfg)
	return append(out, c, s, pqHello(f), iphoneHello)
}

// handshakeMessages returns the plaintext handshake messages at the start
// of a stream.
func handshakeMessages(f *testing.F, b []byte) [][]byte {
	hs, _ := handshakePrefix(f, b)
	var out [][]byte
	for len(hs) >= 4 {
		n := 4 + (int(hs[1])<<16 | int(hs[2])<<8 | int(hs[3]))
		if n > len(hs) {
			break
		}
		out = append(out, hs[:n])
		hs = hs[n:]
	}
	return out
}

func FuzzParseTLSStream(f *testing.F) {
	for _, b := range seedFlights(f) {
		f.Add(b)
		f.Add(reframe(f, b, 7))
	}
	f.Add([]byte{22, 3, 1, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := dissect.ParseTLSStream(b)
		if s == nil {
			t.Fatal("nil stream")
		}
		if s.Consumed > len(b) || len(s.Records) > dissect.TLSMaxRecords || len(s.Records) > s.RecordCount ||
			len(s.Certificates) > dissect.TLSMaxCertificates || len(s.Alerts) > dissect.TLSMaxAlerts ||
			len(s.Handshakes) > dissect.TLSMaxHandshakes {
			t.Fatalf("limits broken: %+v", s)
		}
		if err == nil && !s.Incomplete && s.Consumed != len(b) {
			t.Fatalf("complete parse consumed %d of %d", s.Consumed, len(b))
		}
		if s.ClientHello != nil {
			checkHello(t, s.ClientHello)
		}
		if s.ServerHello != nil && len(s.ServerHello.Extensions) > dissect.TLSMaxListLen {
			t.Fatal("too many server extensions kept")
		}
		dissect.ParseCertificates(s.Certificates)
	})
}

// checkHello checks the limits and escaping of a parsed ClientHello.
func checkHello(t *testing.T, ch *dissect.ClientHello) {
	t.Helper()
	for _, l := range [][]uint16{ch.CipherSuites, ch.Extensions, ch.SupportedVersions, ch.SupportedGroups,
		ch.KeyShareGroups, ch.SignatureAlgorithms} {
		if len(l) > dissect.TLSMaxListLen {
			t.Fatalf("list of %d kept", len(l))
		}
	}
	if len(ch.ALPN) > dissect.TLSMaxALPN || ch.Length > dissect.TLSMaxHandshakeLen {
		t.Fatalf("ALPN %d, Length %d", len(ch.ALPN), ch.Length)
	}
	for _, s := range append([]string{ch.SNI}, ch.ALPN...) {
		for i := 0; i < len(s); i++ {
			if s[i] < 0x21 || s[i] > 0x7e {
				t.Fatalf("unescaped byte in %q", s)
			}
		}
	}
	if ja4 := ch.JA4(false); len(ja4) != 36 {
		t.Fatalf("JA4 %q", ja4)
	}
}

func FuzzParseClientHello(f *testing.F) {
	for _, b := range seedFlights(f) {
		for _, m := range handshakeMessages(f, b) {
			if m[0] == dissect.TLSHandshakeClientHello {
				f.Add(m)
			}
		}
	}
	f.Add(helloWithExtensions(nil))
	f.Fuzz(func(t *testing.T, msg []byte) {
		ch, err := dissect.ParseClientHello(msg)
		if (ch == nil) == (err == nil) {
			t.Fatalf("hello %v with error %v", ch, err)
		}
		if ch != nil {
			checkHello(t, ch)
		}
	})
}

func FuzzParseServerHello(f *testing.F) {
	for _, b := range seedFlights(f) {
		for _, m := range handshakeMessages(f, b) {
			if m[0] == dissect.TLSHandshakeServerHello {
				f.Add(m)
			}
		}
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		sh, err := dissect.ParseServerHello(msg)
		if (sh == nil) == (err == nil) {
			t.Fatalf("hello %v with error %v", sh, err)
		}
		if sh != nil && len(sh.Extensions) > dissect.TLSMaxListLen {
			t.Fatal("too many extensions kept")
		}
	})
}

// serverFlight returns the server direction of the iPhone's TLS 1.2
// session with gsa.apple.com (ServerHello, a three-certificate chain,
// ServerKeyExchange, ServerHelloDone, then encrypted records).
func serverFlight(b *testing.B) []byte {
	for _, cs := range parseCaptureTLS(b, sharedtest.Path(b, "pcaps/ndpi-iphone.pcap")) {
		if len(cs.stream.Certificates) == 3 {
			bs := cs.dir.bytes()
			return bs[tlsStart(bs):]
		}
	}
	b.Fatal("no server flight with three certificates")
	return nil
}

func BenchmarkParseTLSStream(b *testing.B) {
	flight := serverFlight(b)
	b.ReportAllocs()
	b.SetBytes(int64(len(flight)))
	for b.Loop() {
		s, err := dissect.ParseTLSStream(flight)
		if err != nil || len(s.Certificates) != 3 {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseTLSStreamClient(b *testing.B) {
	hello := pqHello(b)
	b.ReportAllocs()
	b.SetBytes(int64(len(hello)))
	for b.Loop() {
		if _, err := dissect.ParseTLSStream(hello); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseClientHello(b *testing.B) {
	for name, rec := range map[string][]byte{"iphone": iphoneHello, "go-pq": pqHello(b)} {
		b.Run(name, func(b *testing.B) {
			msg := rec[5:]
			b.ReportAllocs()
			b.SetBytes(int64(len(msg)))
			for b.Loop() {
				if _, err := dissect.ParseClientHello(msg); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkJA4(b *testing.B) {
	ch, err := dissect.ParseClientHello(iphoneHello[5:])
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		ch.JA4(false)
	}
}
