package dissect_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"errors"
	"io"
	"math/big"
	"net"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"orchard/dissect"
	"orchard/internal/sharedtest"
)

// iphoneHello is the record carrying the ClientHello an iPhone sent to
// gsa.apple.com, cut from ndpi-iphone.pcap.
var iphoneHello = mustHex(`
1603010200010001fc03031099676573d0df91cd4b4e9d01f29aead510f5d6cd040a55de442ecb3d4b9ba1203b96d5d0
21dec3af204e6938dcb0c15dee2eb7ab2a5b6ae86daca5dce9b908f30034130113021303c02cc02bc024c023c00ac009
cca9c030c02fc028c027c014c013cca8009d009c003d003c0035002fc008c012000a0100017fff010001000000001200
1000000d6773612e6170706c652e636f6d00170000000d00180016040308040401050302030805080505010806060102
01000500050100000000001200000010000b000908687474702f312e31000b00020100003300260024001d0020ad5aff
7eed21d790dc768b0878ff12f44767699c98b54fe17139fad45c6d8c72002d00020101002b0009080304030303020301
000a000a0008001d001700180019001500d3000000000000000000000000000000000000000000000000000000000000
000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000
000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000
000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000
00000000000000000000000000000000000000000000000000000000000000000000000000`)

func mustHex(s string) []byte {
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		panic(err)
	}
	return b
}

// record frames payload as one TLS record.
func record(typ uint8, payload []byte) []byte {
	return append([]byte{typ, 3, 3, byte(len(payload) >> 8), byte(len(payload))}, payload...)
}

// records frames handshake bytes as records of at most size bytes each.
func records(hs []byte, size int) []byte {
	var out []byte
	for len(hs) > 0 {
		n := min(size, len(hs))
		out = append(out, record(22, hs[:n])...)
		hs = hs[n:]
	}
	return out
}

// handshakePrefix returns the payload of the leading handshake records of a
// stream and the bytes after them.
func handshakePrefix(t testing.TB, b []byte) (hs, rest []byte) {
	t.Helper()
	for len(b) >= 5 && b[0] == 22 {
		n := int(b[3])<<8 | int(b[4])
		if len(b) < 5+n {
			t.Fatalf("short record")
		}
		hs = append(hs, b[5:5+n]...)
		b = b[5+n:]
	}
	return hs, b
}

// reframe rewrites the leading handshake records of a stream as records of
// at most size bytes of handshake data.
func reframe(t testing.TB, b []byte, size int) []byte {
	hs, rest := handshakePrefix(t, b)
	return append(records(hs, size), rest...)
}

// testPKI is a CA and a leaf certificate for test.example signed by it.
type testPKI struct {
	pool *x509.CertPool
	cert tls.Certificate
	ders [][]byte
}

func newPKI(t testing.TB) *testPKI {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Orchard Test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	leafKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	leafTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "test.example"},
		DNSNames:  []string{"test.example"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, ca, &leafKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	p := &testPKI{pool: x509.NewCertPool(), ders: [][]byte{leafDER, caDER}}
	p.pool.AddCert(ca)
	p.cert = tls.Certificate{Certificate: p.ders, PrivateKey: leafKey}
	return p
}

// recConn records the bytes written to a connection.
type recConn struct {
	net.Conn
	mu  sync.Mutex
	buf bytes.Buffer
}

func (c *recConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	c.buf.Write(p)
	c.mu.Unlock()
	return c.Conn.Write(p)
}

func (c *recConn) bytes() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return bytes.Clone(c.buf.Bytes())
}

// session runs a crypto/tls handshake over loopback TCP (the client then
// sends "hello") and returns the bytes each side wrote.
func session(t testing.TB, ccfg, scfg *tls.Config) (client, server []byte, cerr, serr error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Skipf("no loopback listener: %v", err)
	}
	defer ln.Close()
	done := make(chan struct{})
	var srec *recConn
	go func() {
		defer close(done)
		conn, err := ln.Accept()
		if err != nil {
			serr = err
			return
		}
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		srec = &recConn{Conn: conn}
		s := tls.Server(srec, scfg)
		if serr = s.Handshake(); serr == nil {
			buf := make([]byte, 5)
			_, serr = io.ReadFull(s, buf)
		}
		s.Close()
	}()
	raw, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	raw.SetDeadline(time.Now().Add(10 * time.Second))
	crec := &recConn{Conn: raw}
	c := tls.Client(crec, ccfg)
	if cerr = c.Handshake(); cerr == nil {
		_, cerr = c.Write([]byte("hello"))
	}
	<-done
	c.Close()
	return crec.bytes(), srec.bytes(), cerr, serr
}

// helloBytes returns the records of the first ClientHello crypto/tls sends
// with cfg.
func helloBytes(t testing.TB, cfg *tls.Config) []byte {
	t.Helper()
	c1, c2 := net.Pipe()
	go func() {
		tls.Client(c1, cfg).Handshake()
		c1.Close()
	}()
	defer c2.Close()
	var buf []byte
	tmp := make([]byte, 4096)
	for {
		n, err := c2.Read(tmp)
		buf = append(buf, tmp[:n]...)
		if s, _ := dissect.ParseTLSStream(buf); s.ClientHello != nil {
			return buf
		}
		if err != nil {
			t.Fatalf("no ClientHello: %v", err)
		}
	}
}

// pqHello is a TLS 1.3 ClientHello of Go's crypto/tls, which offers
// X25519MLKEM768 by default.
func pqHello(t testing.TB) []byte {
	return helloBytes(t, &tls.Config{ServerName: "Courier.Push.Apple.COM", NextProtos: []string{"apns-security-v3", "h2"}})
}

func TestClientHelloPostQuantum(t *testing.T) {
	b := pqHello(t)
	if len(b) < 1200 {
		t.Errorf("ClientHello record is %d bytes, want > 1200", len(b))
	}
	s, err := dissect.ParseTLSStream(b)
	if err != nil {
		t.Fatal(err)
	}
	ch := s.ClientHello
	if ch == nil || s.Incomplete || s.Consumed != len(b) || s.RecordCount != 1 {
		t.Fatalf("stream = %+v", s)
	}
	if !slices.Contains(ch.KeyShareGroups, 0x11ec) || !slices.Contains(ch.SupportedGroups, 0x11ec) {
		t.Errorf("KeyShareGroups %x, SupportedGroups %x: no X25519MLKEM768", ch.KeyShareGroups, ch.SupportedGroups)
	}
	if ch.SNI != "courier.push.apple.com" {
		t.Errorf("SNI = %q", ch.SNI)
	}
	if !slices.Equal(ch.ALPN, []string{"apns-security-v3", "h2"}) {
		t.Errorf("ALPN = %q", ch.ALPN)
	}
	if ch.MaxVersion() != 0x0304 || ch.LegacyVersion != 0x0303 {
		t.Errorf("versions %x / %x", ch.LegacyVersion, ch.MaxVersion())
	}
	if ch.Length != len(b)-9 {
		t.Errorf("Length = %d, want %d", ch.Length, len(b)-9)
	}
	if ja4 := ch.JA4(false); !strings.HasPrefix(ja4, "t13d") || !strings.Contains(ja4, "a3_") || len(ja4) != 36 {
		t.Errorf("JA4 = %s", ja4)
	}
}

// TestStreamPrefixes cuts the stream at every byte: before the end the
// parse says Incomplete and finds no ClientHello, at the end it finds it.
func TestStreamPrefixes(t *testing.T) {
	b := pqHello(t)
	for name, stream := range map[string][]byte{
		"1 record":        b,
		"2 records":       reframe(t, b, (len(b)-5+1)/2),
		"3 records":       reframe(t, b, (len(b)-5+2)/3),
		"100-byte record": reframe(t, b, 100),
	} {
		t.Run(name, func(t *testing.T) {
			full, err := dissect.ParseTLSStream(stream)
			if err != nil || full.ClientHello == nil || full.Incomplete {
				t.Fatalf("full stream: %+v, %v", full, err)
			}
			for i := 0; i < len(stream); i++ {
				s, err := dissect.ParseTLSStream(stream[:i])
				if err != nil {
					t.Fatalf("prefix %d: %v", i, err)
				}
				if s.ClientHello != nil || (i > 0 && !s.Incomplete) {
					t.Fatalf("prefix %d: ClientHello %v, Incomplete %v", i, s.ClientHello != nil, s.Incomplete)
				}
			}
		})
	}
}

// TestHelloSplitAtEveryOffset splits the handshake message into two
// records at every offset (including empty first or second records).
func TestHelloSplitAtEveryOffset(t *testing.T) {
	b := pqHello(t)
	want, err := dissect.ParseTLSStream(b)
	if err != nil {
		t.Fatal(err)
	}
	hs, _ := handshakePrefix(t, b)
	for k := 0; k <= len(hs); k++ {
		stream := append(record(22, hs[:k]), record(22, hs[k:])...)
		s, err := dissect.ParseTLSStream(stream)
		if err != nil {
			t.Fatalf("split %d: %v", k, err)
		}
		if !reflect.DeepEqual(s.ClientHello, want.ClientHello) || s.RecordCount != 2 || s.Incomplete {
			t.Fatalf("split %d: %+v", k, s)
		}
	}
}

func TestParseClientHelloReal(t *testing.T) {
	ch, err := dissect.ParseClientHello(iphoneHello[5:])
	if err != nil {
		t.Fatal(err)
	}
	if ch.SNI != "gsa.apple.com" || !slices.Equal(ch.ALPN, []string{"http/1.1"}) || ch.MaxVersion() != 0x0304 {
		t.Errorf("hello = %+v", ch)
	}
	if got := ch.JA4(false); got != "t13d2613h1_2802a3db6c62_845d286b0d67" {
		t.Errorf("JA4 = %s", got)
	}
	if len(ch.CipherSuites) != 26 || ch.CipherSuites[0] != 0x1301 || len(ch.Extensions) != 13 || ch.Extensions[0] != 0xff01 {
		t.Errorf("%d suites %x, %d extensions %x", len(ch.CipherSuites), ch.CipherSuites, len(ch.Extensions), ch.Extensions)
	}
	if !slices.Equal(ch.KeyShareGroups, []uint16{0x001d}) || !slices.Equal(ch.SupportedVersions, []uint16{0x0304, 0x0303, 0x0302, 0x0301}) {
		t.Errorf("KeyShareGroups %x, SupportedVersions %x", ch.KeyShareGroups, ch.SupportedVersions)
	}
}

// TestParseClientHelloTruncated parses every prefix of a ClientHello with
// its length fields kept: every one is an error, none a panic.
func TestParseClientHelloTruncated(t *testing.T) {
	msg := iphoneHello[5:]
	for i := 0; i < len(msg); i++ {
		if _, err := dissect.ParseClientHello(msg[:i]); !errors.Is(err, dissect.ErrTLSTruncated) {
			t.Fatalf("prefix %d: %v", i, err)
		}
	}
	// The body cut short with the header length adjusted to match.
	for i := 4; i < len(msg); i++ {
		m := slices.Clone(msg[:i])
		n := i - 4
		m[1], m[2], m[3] = byte(n>>16), byte(n>>8), byte(n)
		// Cut just before the extensions, the body is a valid
		// extension-less hello; everywhere else it is not.
		if ch, err := dissect.ParseClientHello(m); err == nil && ch.Extensions != nil {
			t.Fatalf("body cut to %d bytes parsed", n)
		}
	}
}

func TestParseClientHelloErrors(t *testing.T) {
	good := iphoneHello[5:]
	mut := func(f func(b []byte) []byte) []byte { return f(slices.Clone(good)) }
	tests := []struct {
		name string
		msg  []byte
		want error
	}{
		{"empty", nil, dissect.ErrTLSTruncated},
		{"server hello type", mut(func(b []byte) []byte { b[0] = 2; return b }), dissect.ErrTLSWrongType},
		{"length 16M", mut(func(b []byte) []byte { b[1], b[2], b[3] = 0xff, 0xff, 0xff; return b }), dissect.ErrTLSTooLarge},
		{"zero length", []byte{1, 0, 0, 0}, dissect.ErrTLSTruncated},
		{"session id 33", mut(func(b []byte) []byte { b[4+34] = 33; return b }), dissect.ErrTLSMalformed},
		{"odd cipher list", mut(func(b []byte) []byte { b[4+35+32+1]--; return b }), dissect.ErrTLSMalformed},
		{"trailing bytes in body", func() []byte {
			b := slices.Clone(good)
			b = append(b, 0)
			n := len(b) - 4
			b[1], b[2], b[3] = byte(n>>16), byte(n>>8), byte(n)
			return b
		}(), dissect.ErrTLSMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := dissect.ParseClientHello(tc.msg)
			if !errors.Is(err, tc.want) {
				t.Errorf("err = %v, want %v", err, tc.want)
			}
			var te *dissect.TLSError
			if !errors.As(err, &te) || !strings.HasPrefix(err.Error(), "tls client_hello") {
				t.Errorf("err %q is not a *TLSError with context", err)
			}
		})
	}
	// Bytes after the message are ignored.
	if _, err := dissect.ParseClientHello(append(slices.Clone(good), 1, 2, 3)); err != nil {
		t.Errorf("trailing bytes after message: %v", err)
	}
}

// helloWithExtensions builds a ClientHello message from raw extension bytes.
func helloWithExtensions(exts []byte) []byte {
	body := []byte{3, 3}
	body = append(body, make([]byte, 32)...)
	body = append(body, 0)                         // session id
	body = append(body, 0, 4, 0x13, 1, 0xc0, 0x2b) // cipher suites
	body = append(body, 1, 0)                      // compression
	if exts != nil {
		body = append(body, byte(len(exts)>>8), byte(len(exts)))
		body = append(body, exts...)
	}
	n := len(body)
	return append([]byte{1, byte(n >> 16), byte(n >> 8), byte(n)}, body...)
}

func ext(typ uint16, data ...byte) []byte {
	return append([]byte{byte(typ >> 8), byte(typ), byte(len(data) >> 8), byte(len(data))}, data...)
}

func TestClientHelloExtensions(t *testing.T) {
	sni := func(name string) []byte {
		n := len(name)
		return ext(0, append([]byte{byte((n + 3) >> 8), byte(n + 3), 0, byte(n >> 8), byte(n)}, name...)...)
	}
	alpn := func(protos ...string) []byte {
		var l []byte
		for _, p := range protos {
			l = append(l, byte(len(p)))
			l = append(l, p...)
		}
		return ext(16, append([]byte{byte(len(l) >> 8), byte(len(l))}, l...)...)
	}
	tests := []struct {
		name  string
		exts  []byte
		check func(t *testing.T, ch *dissect.ClientHello)
		err   error
	}{
		{"no extensions", nil, func(t *testing.T, ch *dissect.ClientHello) {
			if ch.Extensions != nil || ch.MaxVersion() != 0x0303 || ch.JA4(false) != "t12i020000_777cda164f4b_000000000000" {
				t.Errorf("%+v %s", ch, ch.JA4(false))
			}
		}, nil},
		{"sni escaped", sni("Evil.Example\n\"x\\ y\x00"), func(t *testing.T, ch *dissect.ClientHello) {
			if ch.SNI != `evil.example\x0a"x\x5c\x20y\x00` {
				t.Errorf("SNI = %s", ch.SNI)
			}
		}, nil},
		{"empty server_name", ext(0), func(t *testing.T, ch *dissect.ClientHello) {
			if ch.SNI != "" || !strings.Contains(ch.JA4(false), "d02") {
				t.Errorf("%+v %s", ch, ch.JA4(false))
			}
		}, nil},
		{"alpn escaped, JA4 uses raw bytes", alpn("\xab\xcd", "h2"), func(t *testing.T, ch *dissect.ClientHello) {
			if !slices.Equal(ch.ALPN, []string{`\xab\xcd`, "h2"}) || ch.JA4(false)[8:10] != "ad" {
				t.Errorf("ALPN %q JA4 %s", ch.ALPN, ch.JA4(false))
			}
		}, nil},
		{"alpn capped", alpn(strings.Split(strings.Repeat("x,", 20)+"y", ",")...), func(t *testing.T, ch *dissect.ClientHello) {
			if len(ch.ALPN) != dissect.TLSMaxALPN {
				t.Errorf("%d ALPN values kept", len(ch.ALPN))
			}
		}, nil},
		{"grease-only supported_versions", ext(43, 2, 0x1a, 0x1a), func(t *testing.T, ch *dissect.ClientHello) {
			if ch.MaxVersion() != 0x0303 {
				t.Errorf("MaxVersion %x", ch.MaxVersion())
			}
		}, nil},
		{"many extensions capped", bytes.Repeat(ext(0xff02), 300), func(t *testing.T, ch *dissect.ClientHello) {
			if len(ch.Extensions) != dissect.TLSMaxListLen || !strings.Contains(ch.JA4(false), "i0299") {
				t.Errorf("%d extensions, JA4 %s", len(ch.Extensions), ch.JA4(false))
			}
		}, nil},
		{"extension overruns", append(ext(5), 0, 9, 0, 200), nil, dissect.ErrTLSTruncated},
		{"bad sni list", ext(0, 0, 9, 0), nil, dissect.ErrTLSMalformed},
		{"sni name overruns", ext(0, 0, 4, 0, 0, 9, 'a'), nil, dissect.ErrTLSTruncated},
		{"odd supported_groups", ext(10, 0, 3, 0, 0x1d, 0), nil, dissect.ErrTLSMalformed},
		{"key_share entry overruns", ext(51, 0, 4, 0, 0x1d, 0, 9), nil, dissect.ErrTLSTruncated},
		{"alpn overruns", ext(16, 0, 2, 5, 'h'), nil, dissect.ErrTLSTruncated},
		{"odd supported_versions", ext(43, 1, 3), nil, dissect.ErrTLSMalformed},
		{"odd signature_algorithms", ext(13, 0, 1, 4), nil, dissect.ErrTLSMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ch, err := dissect.ParseClientHello(helloWithExtensions(tc.exts))
			if !errors.Is(err, tc.err) || (err == nil) != (tc.err == nil) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if tc.check != nil {
				tc.check(t, ch)
			}
		})
	}
}

func tlsConfigs(pki *testPKI, maxVersion uint16) (client, server *tls.Config) {
	return &tls.Config{ServerName: "test.example", RootCAs: pki.pool, NextProtos: []string{"h2"}},
		&tls.Config{Certificates: []tls.Certificate{pki.cert}, MaxVersion: maxVersion, NextProtos: []string{"h2"}}
}

// TestTLS12Flight checks both directions of a TLS 1.2 handshake, with the
// server's handshake messages as crypto/tls framed them, all in one record,
// and cut into small records.
func TestTLS12Flight(t *testing.T) {
	pki := newPKI(t)
	ccfg, scfg := tlsConfigs(pki, tls.VersionTLS12)
	client, server, cerr, serr := session(t, ccfg, scfg)
	if cerr != nil || serr != nil {
		t.Fatalf("handshake: %v / %v", cerr, serr)
	}
	hs, _ := handshakePrefix(t, server)
	for name, b := range map[string][]byte{
		"as sent":         server,
		"one record":      reframe(t, server, len(hs)),
		"37-byte records": reframe(t, server, 37),
	} {
		t.Run(name, func(t *testing.T) {
			s, err := dissect.ParseTLSStream(b)
			if err != nil {
				t.Fatal(err)
			}
			sh := s.ServerHello
			if sh == nil || sh.Version != 0x0303 || sh.ALPN != "h2" || sh.Group != 0 || sh.HelloRetryRequest {
				t.Fatalf("ServerHello %+v", sh)
			}
			if len(s.Certificates) != 2 || s.CertificateCount != 2 || !bytes.Equal(s.Certificates[0], pki.ders[0]) || !bytes.Equal(s.Certificates[1], pki.ders[1]) {
				t.Errorf("certificates differ from the chain sent (%d)", len(s.Certificates))
			}
			if !slices.Equal(s.Handshakes[:4], []uint8{2, 11, 12, 14}) {
				t.Errorf("handshakes %v", s.Handshakes)
			}
			if !s.ChangeCipherSpec || !s.Encrypted || s.Incomplete || s.Consumed != len(b) || len(s.Alerts) != 0 {
				t.Errorf("stream %+v", s)
			}
		})
	}
	s, err := dissect.ParseTLSStream(client)
	if err != nil {
		t.Fatal(err)
	}
	if s.ClientHello == nil || s.ClientHello.SNI != "test.example" || !slices.Equal(s.Handshakes, []uint8{1, 16}) ||
		!s.ChangeCipherSpec || !s.Encrypted || s.AppDataRecords != 1 || s.Certificates != nil {
		t.Errorf("client stream %+v", s)
	}
	if s.EncryptedAlerts != 1 {
		t.Errorf("EncryptedAlerts = %d, want 1 (close_notify)", s.EncryptedAlerts)
	}
}

// TestTLS13Flight: the server's certificate is encrypted; the stream is
// encrypted after the ServerHello.
func TestTLS13Flight(t *testing.T) {
	pki := newPKI(t)
	ccfg, scfg := tlsConfigs(pki, 0)
	client, server, cerr, serr := session(t, ccfg, scfg)
	if cerr != nil || serr != nil {
		t.Fatalf("handshake: %v / %v", cerr, serr)
	}
	s, err := dissect.ParseTLSStream(server)
	if err != nil {
		t.Fatal(err)
	}
	sh := s.ServerHello
	if sh == nil || sh.Version != 0x0304 || sh.LegacyVersion != 0x0303 || sh.Group != 0x11ec || sh.CipherSuite>>8 != 0x13 {
		t.Fatalf("ServerHello %+v", sh)
	}
	if !slices.Contains(sh.Extensions, 0x002b) || !slices.Contains(sh.Extensions, 0x0033) {
		t.Errorf("extensions %x", sh.Extensions)
	}
	if s.Certificates != nil || !s.Encrypted || s.AppDataRecords == 0 || s.Incomplete || !slices.Equal(s.Handshakes, []uint8{2}) {
		t.Errorf("server stream %+v", s)
	}
	c, err := dissect.ParseTLSStream(client)
	if err != nil {
		t.Fatal(err)
	}
	if c.ClientHello == nil || !c.Encrypted || !slices.Equal(c.Handshakes, []uint8{1}) || c.Incomplete {
		t.Errorf("client stream %+v", c)
	}
}

// TestHelloRetryRequest: a server that only accepts P-256 asks the client
// for another key share; the second hellos are plaintext after the
// compatibility ChangeCipherSpec.
func TestHelloRetryRequest(t *testing.T) {
	pki := newPKI(t)
	ccfg, scfg := tlsConfigs(pki, 0)
	scfg.CurvePreferences = []tls.CurveID{tls.CurveP256}
	client, server, cerr, serr := session(t, ccfg, scfg)
	if cerr != nil || serr != nil {
		t.Fatalf("handshake: %v / %v", cerr, serr)
	}
	s, err := dissect.ParseTLSStream(server)
	if err != nil {
		t.Fatal(err)
	}
	if !s.HelloRetryRequest || s.ServerHello == nil || s.ServerHello.HelloRetryRequest ||
		s.ServerHello.Group != 0x0017 || s.ServerHello.Version != 0x0304 || !slices.Equal(s.Handshakes, []uint8{2, 2}) {
		t.Errorf("server stream %+v, hello %+v", s, s.ServerHello)
	}
	c, err := dissect.ParseTLSStream(client)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.Handshakes, []uint8{1, 1}) || !slices.Contains(c.ClientHello.KeyShareGroups, 0x11ec) || !c.Encrypted {
		t.Errorf("client stream %+v", c)
	}
}

// TestPlaintextAlert: a TLS 1.3-only client meets a TLS 1.2-only server,
// and a client that does not trust the server's CA rejects its chain.
func TestPlaintextAlert(t *testing.T) {
	pki := newPKI(t)
	ccfg, scfg := tlsConfigs(pki, tls.VersionTLS12)
	ccfg.MinVersion = tls.VersionTLS13
	_, server, _, _ := session(t, ccfg, scfg)
	s, err := dissect.ParseTLSStream(server)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(s.Alerts, []dissect.Alert{{Level: 2, Description: 70}}) || s.Alerts[0].String() != "fatal protocol_version" {
		t.Errorf("alerts %v", s.Alerts)
	}

	ccfg, scfg = tlsConfigs(pki, tls.VersionTLS12)
	ccfg.RootCAs = x509.NewCertPool()
	client, _, cerr, _ := session(t, ccfg, scfg)
	if cerr == nil {
		t.Fatal("client accepted an unknown CA")
	}
	c, err := dissect.ParseTLSStream(client)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Alerts) != 1 || c.Alerts[0].Level != 2 || c.Alerts[0].String() != "fatal bad_certificate" || c.Encrypted {
		t.Errorf("client alerts %v, stream %+v", c.Alerts, c)
	}
}

func TestStreamEdgeCases(t *testing.T) {
	hello := iphoneHello
	tests := []struct {
		name  string
		b     []byte
		err   error
		check func(t *testing.T, s *dissect.TLSStream)
	}{
		{"empty", nil, nil, func(t *testing.T, s *dissect.TLSStream) {
			if s.Incomplete || s.RecordCount != 0 {
				t.Errorf("%+v", s)
			}
		}},
		{"two header bytes", []byte{22, 3}, nil, func(t *testing.T, s *dissect.TLSStream) {
			if !s.Incomplete {
				t.Errorf("%+v", s)
			}
		}},
		{"zero-length records", append(append(append(record(22, nil), record(23, nil)...), record(21, nil)...), hello...), nil,
			func(t *testing.T, s *dissect.TLSStream) {
				if s.RecordCount != 4 || s.ClientHello == nil || s.AppDataRecords != 1 || s.Incomplete {
					t.Errorf("%+v", s)
				}
			}},
		{"zero-length handshake message", record(22, []byte{0, 0, 0, 0, 14, 0, 0, 0}), nil, func(t *testing.T, s *dissect.TLSStream) {
			if !slices.Equal(s.Handshakes, []uint8{0, 14}) || s.Incomplete {
				t.Errorf("%+v", s)
			}
		}},
		{"many records", bytes.Repeat(record(23, []byte{1}), 100), nil, func(t *testing.T, s *dissect.TLSStream) {
			if s.RecordCount != 100 || len(s.Records) != dissect.TLSMaxRecords || s.AppDataBytes != 100 {
				t.Errorf("%d records, %d kept", s.RecordCount, len(s.Records))
			}
		}},
		{"many alerts", record(21, bytes.Repeat([]byte{1, 0}, 20)), nil, func(t *testing.T, s *dissect.TLSStream) {
			if len(s.Alerts) != dissect.TLSMaxAlerts || s.Alerts[0].String() != "warning close_notify" {
				t.Errorf("%v", s.Alerts)
			}
		}},
		{"http", []byte("GET / HTTP/1.1\r\n"), dissect.ErrTLSNotTLS, nil},
		{"sslv2 hello", []byte{0x80, 0x2e, 0x01, 0x03, 0x01}, dissect.ErrTLSNotTLS, nil},
		{"record too long", []byte{23, 3, 3, 0xff, 0xff}, dissect.ErrTLSTooLarge, nil},
		{"handshake 16M", record(22, []byte{11, 0xff, 0xff, 0xff}), dissect.ErrTLSTooLarge, nil},
		{"garbage after a record", append(slices.Clone(hello), 0x47, 0x45, 0x54, 0x20, 0x2f), dissect.ErrTLSMalformed,
			func(t *testing.T, s *dissect.TLSStream) {
				if s.ClientHello == nil || s.Consumed != len(hello) {
					t.Errorf("%+v", s)
				}
			}},
		{"bad partial header", append(slices.Clone(hello), 22, 9), dissect.ErrTLSMalformed, nil},
		{"bad certificate list", record(22, []byte{11, 0, 0, 4, 0, 0, 9, 0}), dissect.ErrTLSMalformed, nil},
		{"empty certificate", record(22, []byte{11, 0, 0, 6, 0, 0, 3, 0, 0, 0}), dissect.ErrTLSMalformed, nil},
		{"handshake continues", record(22, hello[5:100]), nil, func(t *testing.T, s *dissect.TLSStream) {
			if !s.Incomplete || s.Consumed != 100 {
				t.Errorf("%+v", s)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := dissect.ParseTLSStream(tc.b)
			if s == nil {
				t.Fatal("nil stream")
			}
			if !errors.Is(err, tc.err) || (err == nil) != (tc.err == nil) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if tc.check != nil {
				tc.check(t, s)
			}
		})
	}
}

func TestCertificateCap(t *testing.T) {
	var list []byte
	for i := 0; i < 20; i++ {
		list = append(list, 0, 0, 2, 0x30, byte(i))
	}
	body := append([]byte{0, byte(len(list) >> 8), byte(len(list))}, list...)
	msg := append([]byte{11, 0, byte(len(body) >> 8), byte(len(body))}, body...)
	s, err := dissect.ParseTLSStream(record(22, msg))
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Certificates) != dissect.TLSMaxCertificates || s.CertificateCount != 20 {
		t.Errorf("%d certificates kept of %d", len(s.Certificates), s.CertificateCount)
	}
	certs, errs := dissect.ParseCertificates(s.Certificates)
	if len(certs) != dissect.TLSMaxCertificates || len(errs) != dissect.TLSMaxCertificates || certs[0] != nil {
		t.Errorf("%d certs, %d errors", len(certs), len(errs))
	}
}

func TestParseCertificates(t *testing.T) {
	pki := newPKI(t)
	certs, errs := dissect.ParseCertificates([][]byte{pki.ders[0], {0x30, 0x03, 1, 2, 3}, pki.ders[1]})
	if len(certs) != 3 || certs[0] == nil || certs[1] != nil || certs[2] == nil || len(errs) != 1 {
		t.Fatalf("certs %v errs %v", certs, errs)
	}
	if certs[0].Subject.CommonName != "test.example" || certs[0].Issuer.CommonName != "Orchard Test CA" {
		t.Errorf("leaf %v <- %v", certs[0].Subject, certs[0].Issuer)
	}
	if !strings.HasPrefix(errs[0].Error(), "tls certificate 1: ") {
		t.Errorf("error %q", errs[0])
	}
}

func TestParseServerHello(t *testing.T) {
	hrr := mustHex("cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c")
	build := func(random []byte, exts []byte) []byte {
		body := []byte{3, 3}
		body = append(body, random...)
		body = append(body, 0, 0x13, 0x01, 0)
		if exts != nil {
			body = append(body, byte(len(exts)>>8), byte(len(exts)))
			body = append(body, exts...)
		}
		return append([]byte{2, 0, byte(len(body) >> 8), byte(len(body))}, body...)
	}
	plain := make([]byte, 32)
	tests := []struct {
		name string
		msg  []byte
		want dissect.ServerHello
		err  error
	}{
		{"tls1.2 no extensions", build(plain, nil), dissect.ServerHello{LegacyVersion: 0x0303, Version: 0x0303, CipherSuite: 0x1301}, nil},
		{"tls1.3", build(plain, append(ext(43, 3, 4), ext(51, 0, 0x1d, 0, 2, 9, 9)...)),
			dissect.ServerHello{LegacyVersion: 0x0303, Version: 0x0304, CipherSuite: 0x1301, Group: 0x1d, Extensions: []uint16{43, 51}}, nil},
		{"hrr", build(hrr, append(ext(43, 3, 4), ext(51, 0x11, 0xec)...)),
			dissect.ServerHello{LegacyVersion: 0x0303, Version: 0x0304, CipherSuite: 0x1301, Group: 0x11ec, Extensions: []uint16{43, 51}, HelloRetryRequest: true}, nil},
		{"alpn", build(plain, ext(16, 0, 3, 2, 'h', '2')),
			dissect.ServerHello{LegacyVersion: 0x0303, Version: 0x0303, CipherSuite: 0x1301, ALPN: "h2", Extensions: []uint16{16}}, nil},
		{"alpn two names", build(plain, ext(16, 0, 4, 1, 'a', 1, 'b')), dissect.ServerHello{}, dissect.ErrTLSMalformed},
		{"bad supported_versions", build(plain, ext(43, 3)), dissect.ServerHello{}, dissect.ErrTLSMalformed},
		{"bad key_share", build(plain, ext(51, 0, 0x1d, 0, 5)), dissect.ServerHello{}, dissect.ErrTLSMalformed},
		{"extension overruns", build(plain, []byte{0, 1, 0, 9}), dissect.ServerHello{}, dissect.ErrTLSTruncated},
		{"client hello", iphoneHello[5:], dissect.ServerHello{}, dissect.ErrTLSWrongType},
		{"truncated", build(plain, nil)[:20], dissect.ServerHello{}, dissect.ErrTLSTruncated},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sh, err := dissect.ParseServerHello(tc.msg)
			if !errors.Is(err, tc.err) || (err == nil) != (tc.err == nil) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if err == nil && !reflect.DeepEqual(*sh, tc.want) {
				t.Errorf("got %+v\nwant %+v", *sh, tc.want)
			}
		})
	}
}

func TestLooksLikeTLS(t *testing.T) {
	for _, tc := range []struct {
		b    []byte
		want bool
	}{
		{[]byte{22, 3, 1}, true},
		{[]byte{23, 3, 3, 0, 0}, true},
		{[]byte{20, 3, 0}, true},
		{[]byte{24, 3, 4}, true},
		{[]byte{25, 3, 3}, false},
		{[]byte{19, 3, 3}, false},
		{[]byte{22, 3, 5}, false},
		{[]byte{22, 2, 0}, false},
		{[]byte{0x80, 0x2e, 0x01}, false},
		{[]byte{22, 3}, false},
		{[]byte("GET"), false},
	} {
		if got := dissect.LooksLikeTLS(tc.b); got != tc.want {
			t.Errorf("LooksLikeTLS(%x) = %v", tc.b, got)
		}
	}
}

func TestNames(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{dissect.TLSVersionString(0x0304), "TLS1.3"},
		{dissect.TLSVersionString(0x0303), "TLS1.2"},
		{dissect.TLSVersionString(0x0300), "SSL3.0"},
		{dissect.TLSVersionString(0x7f1c), "0x7f1c"},
		{dissect.CipherSuiteString(0x1301), "TLS_AES_128_GCM_SHA256"},
		{dissect.CipherSuiteString(0xc02c), "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"},
		{dissect.CipherSuiteString(0x0a0a), "GREASE"},
		{dissect.CipherSuiteString(0x1399), "0x1399"},
		{dissect.GroupString(0x001d), "x25519"},
		{dissect.GroupString(0x0017), "secp256r1"},
		{dissect.GroupString(0x11ec), "X25519MLKEM768"},
		{dissect.GroupString(0x11eb), "SecP256r1MLKEM768"},
		{dissect.GroupString(0x6399), "x25519_kyber768_draft00"},
		{dissect.GroupString(0xabcd), "0xabcd"},
		{dissect.AlertDescriptionString(42), "bad_certificate"},
		{dissect.AlertDescriptionString(48), "unknown_ca"},
		{dissect.AlertDescriptionString(200), "alert(200)"},
		{dissect.AlertDescriptionString(7), "alert(7)"},
		{dissect.Alert{Level: 2, Description: 42}.String(), "fatal bad_certificate"},
		{dissect.Alert{Level: 1, Description: 0}.String(), "warning close_notify"},
		{dissect.Alert{Level: 2, Description: 200}.String(), "fatal alert(200)"},
		{dissect.Alert{Level: 9, Description: 40}.String(), "level(9) handshake_failure"},
		{(&dissect.TLSError{Where: "record", Err: dissect.ErrTLSTruncated}).Error(), "tls record: truncated"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
	for v := 0; v < 1<<16; v++ {
		want := v&0xff == v>>8 && v&0x0f == 0x0a
		if dissect.IsGREASE(uint16(v)) != want {
			t.Fatalf("IsGREASE(%#04x) = %v", v, !want)
		}
	}
}

// TestAppleCaptures checks facts about the Apple flows of the shared
// captures: SNIs, ALPN, versions and the issuers of genuine Apple chains.
func TestAppleCaptures(t *testing.T) {
	type chain struct{ sni, leafIssuer, caIssuer string }
	tests := []struct {
		file   string
		chains []chain
		alpn   string // ALPN a server chose, if any
	}{
		{"ndpi-iphone.pcap", []chain{
			{"p26-fmfmobile.icloud.com", "Apple IST CA 2 - G1", "GeoTrust Global CA"},
			{"gsa.apple.com", "Apple Server Authentication CA", "Apple Root CA"},
		}, "h2"},
		{"sv-tls_alpn-icloud_contacts.pcap", []chain{{"p130-contacts.icloud.com", "Apple IST CA 2 - G1", "Baltimore CyberTrust Root"}}, "http/1.1"},
		{"zeek-smtp-icloud_kvs_tls.pcap", []chain{{"p31-keyvalueservice.icloud.com", "Apple IST CA 2 - G1", "GeoTrust Global CA"}}, ""},
		{"ndpi-whatsapp_login_call-apple_ess.pcap", []chain{{"query.ess.apple.com", "Apple Server Authentication CA", "Apple Root CA"}}, ""},
		{"sv-tls_random_6989-apple_sni_inetsim_cert.pcap", []chain{{"www.apple.com", "inetsim.org", ""}}, ""},
		{"ndpi-tls_verylong_certificate.pcap", []chain{{"feodotracker.abuse.ch", "GlobalSign CloudSSL CA - SHA256 - G3", "GlobalSign Root CA"}}, "http/1.1"},
		{"zeek-tls-tls1.2.pcap", []chain{{"", "COMODO High-Assurance Secure Server CA", "AddTrust External CA Root"}}, ""},
		{"ndpi-sites-guzzoni_quic.pcapng", nil, ""},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			streams := parseCaptureTLS(t, sharedtest.Path(t, "pcaps/"+tc.file))
			// Pair each client direction with its reverse.
			byKey := map[string]*dissect.TLSStream{}
			for _, cs := range streams {
				if cs.err != nil {
					t.Errorf("%s: %v", cs.dir.key, cs.err)
				}
				byKey[cs.dir.key] = cs.stream
			}
			found := map[string]bool{}
			alpns := map[string]bool{}
			for _, cs := range streams {
				ch := cs.stream.ClientHello
				if ch == nil {
					continue
				}
				src, dst, _ := strings.Cut(cs.dir.key, ">")
				srv := byKey[dst+">"+src]
				if srv == nil || srv.ServerHello == nil {
					continue
				}
				alpns[srv.ServerHello.ALPN] = true
				certs, errs := dissect.ParseCertificates(srv.Certificates)
				if len(errs) > 0 {
					t.Errorf("%s: %v", ch.SNI, errs)
				}
				for _, c := range tc.chains {
					if c.sni != ch.SNI || len(certs) == 0 {
						continue
					}
					if certs[0].Issuer.CommonName != c.leafIssuer {
						t.Errorf("%s: leaf issuer %q, want %q", c.sni, certs[0].Issuer.CommonName, c.leafIssuer)
					}
					if c.caIssuer != "" && (len(certs) < 2 || certs[1].Issuer.CommonName != c.caIssuer) {
						t.Errorf("%s: second certificate issuer differs from %q", c.sni, c.caIssuer)
					}
					found[c.sni] = true
				}
			}
			for _, c := range tc.chains {
				if !found[c.sni] {
					t.Errorf("no chain for %q", c.sni)
				}
			}
			if tc.alpn != "" && !alpns[tc.alpn] {
				t.Errorf("no server chose ALPN %q (%v)", tc.alpn, alpns)
			}
		})
	}
}
