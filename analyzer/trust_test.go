package analyzer

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"testing"
	"time"

	"orchard/flow"
	"orchard/trust"
)

// TestPrivateCAOutsideApple: with --all-hosts, a private CA for a host
// outside Apple's is not interception, unless the same name was seen with
// a public chain; for an Apple host it always is.
func TestPrivateCAOutsideApple(t *testing.T) {
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	mkCA := func(cn string) (*x509.Certificate, *ecdsa.PrivateKey) {
		k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn}, NotBefore: now.AddDate(-1, 0, 0), NotAfter: now.AddDate(5, 0, 0),
			IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
		d, _ := x509.CreateCertificate(rand.Reader, ca, ca, &k.PublicKey, k)
		c, _ := x509.ParseCertificate(d)
		return c, k
	}
	public, publicKey := mkCA("Public Root")
	private, privateKey := mkCA("Corp Internal CA")
	leaf := func(ca *x509.Certificate, key *ecdsa.PrivateKey, name string) []byte {
		k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		l := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: name}, DNSNames: []string{name}, NotBefore: now.AddDate(0, -1, 0), NotAfter: now.AddDate(0, 1, 0)}
		d, _ := x509.CreateCertificate(rand.Reader, l, ca, &k.PublicKey, key)
		return d
	}
	e, err := New(Config{AllHosts: true})
	if err != nil {
		t.Fatal(err)
	}
	j := e.judge
	j.trust = trust.NewStore(public)
	judge := func(der []byte, host string, apple bool) string {
		f := &flow.Flow{First: now.UnixNano(), App: &flow.Facts{}}
		f.App.Certs = [][]byte{der}
		return j.checkChain(f, &attribution{host: host, source: SourceSNI, apple: apple}).name()
	}
	if v := judge(leaf(private, privateKey, "wiki.corp.example"), "wiki.corp.example", false); v != "" {
		t.Errorf("private CA for an internal host: %q", v)
	}
	if v := judge(leaf(private, privateKey, "gdmf.apple.com"), "gdmf.apple.com", true); v != FindIntercepted {
		t.Errorf("private CA for an Apple host: %q", v)
	}
	if v := judge(leaf(public, publicKey, "www.example.org"), "www.example.org", false); v != "" {
		t.Errorf("public chain: %q", v)
	}
	if v := judge(leaf(private, privateKey, "www.example.org"), "www.example.org", false); v != FindIntercepted {
		t.Errorf("private CA for a name seen with a public chain: %q", v)
	}
}
