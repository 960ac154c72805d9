package dissect_test

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"testing"

	"orchard/dissect"
	"orchard/internal/sharedtest"
)

// The worked example of FoxIO's JA4 specification (technical_details/JA4.md).
var ja4SpecHello = dissect.ClientHello{
	LegacyVersion: 0x0303,
	CipherSuites: []uint16{0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8,
		0xc013, 0xc014, 0x009c, 0x009d, 0x002f, 0x0035},
	Extensions: []uint16{0x001b, 0x0000, 0x0033, 0x0010, 0x4469, 0x0017, 0x002d, 0x000d, 0x0005,
		0x0023, 0x0012, 0x002b, 0xff01, 0x000b, 0x000a, 0x0015},
	SupportedVersions:   []uint16{0x0304, 0x0303},
	ALPN:                []string{"h2", "http/1.1"},
	SignatureAlgorithms: []uint16{0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601},
}

func withGREASE(l []uint16, g uint16) []uint16 {
	return append([]uint16{g}, append(append([]uint16(nil), l...), g+0x1010)...)
}

func TestJA4(t *testing.T) {
	spec := ja4SpecHello
	greased := spec
	greased.CipherSuites = withGREASE(spec.CipherSuites, 0x0a0a)
	greased.Extensions = withGREASE(spec.Extensions, 0x2a2a)
	greased.SupportedVersions = withGREASE(spec.SupportedVersions, 0x4a4a)
	greased.SignatureAlgorithms = withGREASE(spec.SignatureAlgorithms, 0x6a6a)

	// FoxIO's sigalg-grease.pcapng test output: original order of ciphers,
	// extensions and signature algorithms from its JA4_ro line.
	sigalg := dissect.ClientHello{
		LegacyVersion:     0x0303,
		CipherSuites:      withGREASE(spec.CipherSuites, 0xdada),
		SupportedVersions: []uint16{0x8a8a, 0x0304, 0x0303},
		Extensions: withGREASE([]uint16{0xfe0d, 0x0010, 0x0017, 0x0033, 0x44cd, 0xff01, 0x000a, 0x000d, 0x0023,
			0x002b, 0x000b, 0xca34, 0x002d, 0x0000, 0x0005, 0x001b, 0x0012}, 0x3a3a),
		ALPN: []string{"h2", "http/1.1"},
		SignatureAlgorithms: []uint16{0x0a0a, 0x0904, 0x0905, 0x0906, 0x0403, 0x0804, 0x0401, 0x0503, 0x0805,
			0x0501, 0x0806, 0x0601},
	}

	noSNI := spec
	noSNI.Extensions = []uint16{0x0010, 0x002b, 0x000d}
	noSigAlgs := spec
	noSigAlgs.SignatureAlgorithms = nil
	onlySNI := spec
	onlySNI.Extensions = []uint16{0x0000, 0x0010}
	noCiphers := spec
	noCiphers.CipherSuites = []uint16{0x0a0a}
	many := spec
	many.CipherSuites = make([]uint16, 120)
	for i := range many.CipherSuites {
		many.CipherSuites[i] = uint16(i + 1)
	}
	tls12 := spec
	tls12.SupportedVersions = nil
	oldDraft := spec
	oldDraft.SupportedVersions = []uint16{0x7f1c}
	ssl3 := spec
	ssl3.SupportedVersions, ssl3.LegacyVersion = nil, 0x0300

	tests := []struct {
		name string
		ch   dissect.ClientHello
		quic bool
		want string
	}{
		{"spec", spec, false, "t13d1516h2_8daaf6152771_e5627efa2ab1"},
		{"spec with GREASE", greased, false, "t13d1516h2_8daaf6152771_e5627efa2ab1"},
		{"spec over QUIC", spec, true, "q13d1516h2_8daaf6152771_e5627efa2ab1"},
		{"FoxIO sigalg-grease", sigalg, false, "t13d1517h2_8daaf6152771_cb7bf5808d99"},
		// The spec's hash of the extension list without signature algorithms.
		{"no signature algorithms", noSigAlgs, false, "t13d1516h2_8daaf6152771_6d807ffa2a79"},
		{"no SNI", noSNI, false, "t13i1503h2_8daaf6152771_" + ja4Hash("000d,002b_0403,0804,0401,0503,0805,0501,0806,0601")},
		{"only SNI and ALPN", onlySNI, false, "t13d1502h2_8daaf6152771_000000000000"},
		{"no ciphers", noCiphers, false, "t13d0016h2_000000000000_e5627efa2ab1"},
		{"count capped at 99", many, false, "t13d9916h2_"},
		{"TLS 1.2", tls12, false, "t12d1516h2_"},
		{"unknown version", oldDraft, false, "t00d1516h2_"},
		{"SSL 3.0", ssl3, false, "ts3d1516h2_"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.ch.JA4(tc.quic); !strings.HasPrefix(got, tc.want) || len(got) != 36 {
				t.Errorf("JA4 = %s, want %s", got, tc.want)
			}
		})
	}
}

// ja4Hash is the reference: sha256 of s, first 12 hex digits.
func ja4Hash(s string) string {
	h := sha256Hex(s)
	return h[:12]
}

func TestJA4ALPN(t *testing.T) {
	// The ALPN rules of the specification, with its examples.
	for _, tc := range []struct{ alpn, want string }{
		{"h2", "h2"},
		{"http/1.1", "h1"},
		{"h", "hh"},
		{"", "00"},
		{"\xab", "ab"},
		{"\xab\xcd", "ad"},
		{"\x30\xab", "3b"},
		{"\x30\x31\xab\xcd", "3d"},
		{"\x30\xab\xcd\x31", "01"},
		{"apns-security-v3", "a3"},
	} {
		ch := ja4SpecHello
		ch.ALPN = []string{tc.alpn, "x"}
		if got := ch.JA4(false)[8:10]; got != tc.want {
			t.Errorf("ALPN %q: %s, want %s", tc.alpn, got, tc.want)
		}
		// The same through the parser, which escapes ALPN for display but
		// fingerprints the bytes as sent.
		exts := ext(16, append([]byte{0, byte(len(tc.alpn) + 3), byte(len(tc.alpn))}, append([]byte(tc.alpn), 1, 'x')...)...)
		parsed, err := dissect.ParseClientHello(helloWithExtensions(exts))
		if err != nil {
			t.Fatalf("ALPN %q: %v", tc.alpn, err)
		}
		if got := parsed.JA4(false)[8:10]; got != tc.want {
			t.Errorf("parsed ALPN %q: %s, want %s", tc.alpn, got, tc.want)
		}
	}
	ch := ja4SpecHello
	ch.ALPN = nil
	if got := ch.JA4(false)[8:10]; got != "00" {
		t.Errorf("no ALPN: %s", got)
	}
}

// TestJA4QUICVectors rebuilds the ClientHellos of suricata-verify's
// ja4-quic capture from the fields tshark decodes (it decrypts QUIC
// Initials) and checks the JA4 the suricata-verify test expects for all 11.
func TestJA4QUICVectors(t *testing.T) {
	needTShark(t)
	path := sharedtest.Path(t, "pcaps/sv-ja4_quic.pcap")
	const want = "q13d0310h3_55b375c5d22e_cd85d2d88918" // tests/ja4-quic/test.yaml
	lines := tsharkLines(t, path, "-Y", "tls.handshake.type==1", "-T", "fields", "-E", "separator=/t",
		"-e", "tls.handshake.version", "-e", "tls.handshake.ciphersuite", "-e", "tls.handshake.extension.type",
		"-e", "tls.handshake.sig_hash_alg", "-e", "tls.handshake.extensions_alpn_str",
		"-e", "tls.handshake.extensions.supported_version")
	if len(lines) != 11 {
		t.Fatalf("%d ClientHellos, want 11", len(lines))
	}
	nums := func(s string) []uint16 {
		var out []uint16
		for _, f := range strings.Split(s, ",") {
			if f == "" {
				continue
			}
			v, err := strconv.ParseUint(f, 0, 16)
			if err != nil {
				t.Fatalf("field %q: %v", f, err)
			}
			out = append(out, uint16(v))
		}
		return out
	}
	for i, l := range lines {
		f := strings.Split(l, "\t")
		if len(f) != 6 {
			t.Fatalf("line %q", l)
		}
		ch := dissect.ClientHello{
			LegacyVersion:       nums(f[0])[0],
			CipherSuites:        nums(f[1]),
			Extensions:          nums(f[2]),
			SignatureAlgorithms: nums(f[3]),
			ALPN:                strings.Split(f[4], ","),
			SupportedVersions:   nums(f[5]),
		}
		if got := ch.JA4(true); got != want {
			t.Errorf("hello %d: JA4 = %s, want %s", i, got, want)
		}
	}
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// TestJA4RealChrome: Chrome's ClientHellos in the guzzoni capture carry
// the fingerprint FoxIO publishes as its worked example.
func TestJA4RealChrome(t *testing.T) {
	want := map[string]string{
		"f.vimeocdn.com":   "t13d1516h2_8daaf6152771_e5627efa2ab1",
		"teams.office.com": "t13d1516h2_8daaf6152771_e5627efa2ab1",
	}
	got := map[string]string{}
	for _, cs := range parseCaptureTLS(t, sharedtest.Path(t, "pcaps/ndpi-sites-guzzoni_quic.pcapng")) {
		if ch := cs.stream.ClientHello; ch != nil && want[ch.SNI] != "" {
			got[ch.SNI] = ch.JA4(false)
		}
	}
	for sni, w := range want {
		if got[sni] != w {
			t.Errorf("%s: JA4 %q, want %s", sni, got[sni], w)
		}
	}
}
