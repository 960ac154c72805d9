package trust

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"testing"
	"time"
)

// TestForgedChainWithGenuineNames forges a chain that copies the names of
// a genuine Apple chain (issuer "Apple IST CA 2 - G1", a real anchor here)
// but is signed by other keys: it must be interception, named by issuer.
func TestForgedChainWithGenuineNames(t *testing.T) {
	ts := Load()
	var genuine *x509.Certificate
	for _, c := range historicAnchors() {
		if c.Subject.CommonName == "Apple IST CA 2 - G1" {
			genuine = c
		}
	}
	if genuine == nil {
		t.Fatal("Apple IST CA 2 - G1 is not among the historic anchors")
	}
	at := genuine.NotBefore.Add(365 * 24 * time.Hour)
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leafKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ca := &x509.Certificate{SerialNumber: big.NewInt(9), Subject: genuine.Subject, NotBefore: at.Add(-time.Hour), NotAfter: at.Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign, SubjectKeyId: genuine.SubjectKeyId}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	leaf := &x509.Certificate{SerialNumber: big.NewInt(10), Subject: pkix.Name{CommonName: "*.icloud.com"}, DNSNames: []string{"*.icloud.com"},
		NotBefore: at.Add(-time.Hour), NotAfter: at.Add(time.Hour), AuthorityKeyId: genuine.SubjectKeyId}
	leafDER, err := x509.CreateCertificate(rand.Reader, leaf, caCert, &leafKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	res, _, err := ts.Verify([][]byte{leafDER, caDER}, "p31-keyvalueservice.icloud.com", at)
	if res != Untrusted {
		t.Fatalf("forged chain with genuine names: result %d (%v), want untrusted", res, err)
	}
	// The leaf alone (as if the intermediate were left out) is still forged:
	// its issuer is an anchor's name, but the signature is not the anchor's.
	res, _, _ = ts.Verify([][]byte{leafDER}, "p31-keyvalueservice.icloud.com", at)
	if res != Untrusted {
		t.Fatalf("forged leaf alone: result %d, want untrusted", res)
	}
}

// TestChainResults covers the other verdicts with a private CA made trusted.
func TestChainResults(t *testing.T) {
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Test Root"}, NotBefore: now.AddDate(-1, 0, 0), NotAfter: now.AddDate(5, 0, 0),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, _ := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	caCert, _ := x509.ParseCertificate(caDER)
	pool := x509.NewCertPool()
	pool.AddCert(caCert)
	ts := &Store{days: &dayPools{base: pool}, subjects: map[string]bool{caCert.Subject.String(): true}}
	mk := func(name string, from, to time.Time) []byte {
		k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		l := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: name}, DNSNames: []string{name}, NotBefore: from, NotAfter: to}
		d, _ := x509.CreateCertificate(rand.Reader, l, caCert, &k.PublicKey, caKey)
		return d
	}
	cases := []struct {
		name string
		der  []byte
		host string
		want Result
	}{
		{"ok", mk("gsa.apple.com", now.AddDate(0, -1, 0), now.AddDate(0, 1, 0)), "gsa.apple.com", OK},
		{"name mismatch", mk("other.example", now.AddDate(0, -1, 0), now.AddDate(0, 1, 0)), "gsa.apple.com", NameMismatch},
		{"expired at capture time", mk("gsa.apple.com", now.AddDate(0, -3, 0), now.AddDate(0, -1, 0)), "gsa.apple.com", Expired},
		{"garbage", []byte{0x30, 0x03, 1, 2, 3}, "gsa.apple.com", Unparsable},
	}
	for _, c := range cases {
		res, _, _ := ts.Verify([][]byte{c.der}, c.host, now)
		if res != c.want {
			t.Errorf("%s: got %d, want %d", c.name, res, c.want)
		}
	}

	// The cache: an expired verdict holds on the same side of the leaf's
	// window, and never inside it.
	var cc Cache
	exp := [][]byte{cases[2].der}
	for _, at := range []struct {
		t    time.Time
		want Result
		n    int
	}{
		{now, Expired, 1},
		{now.AddDate(1, 0, 0), Expired, 1},
		{now.AddDate(0, -2, 0), OK, 1},
		{now.AddDate(0, -4, 0), NotYetValid, 1}, // before the leaf's start
		{now.AddDate(0, -5, 0), NotYetValid, 1},
	} {
		res, certs, _ := cc.Verify(ts, exp, "gsa.apple.com", at.t)
		if res != at.want || len(cc.m) != at.n {
			t.Errorf("cached at %v: got %d (%d entries), want %d", at.t, res, len(cc.m), at.want)
		}
		// A hit returns the very certificates the first verification parsed.
		if again, c2, _ := cc.Verify(ts, exp, "gsa.apple.com", at.t.Add(time.Hour)); again != res || c2[0] != certs[0] {
			t.Errorf("at %v: the verdict was not reused", at.t)
		}
	}
}

// TestTrustOfItsDay: a root that has left the store verifies chains made
// while it was trusted, and only those; a genuine chain out of date is
// expired or not yet valid, never untrusted.
func TestTrustOfItsDay(t *testing.T) {
	left := time.Date(2021, 9, 30, 0, 0, 0, 0, time.UTC) // the day the root left the store
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Old Public Root", Organization: []string{"Old CA"}},
		NotBefore: left.AddDate(-15, 0, 0), NotAfter: left.AddDate(5, 0, 0), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, _ := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	caCert, _ := x509.ParseCertificate(caDER)
	ts := &Store{days: &dayPools{base: x509.NewCertPool(), removed: []removedRoot{{caCert, left}}},
		subjects: map[string]bool{caCert.Subject.String(): true}}
	mk := func(from, to time.Time) []byte {
		k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		l := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "www.example.org"}, DNSNames: []string{"www.example.org"}, NotBefore: from, NotAfter: to}
		d, _ := x509.CreateCertificate(rand.Reader, l, caCert, &k.PublicKey, caKey)
		return d
	}
	day := 24 * time.Hour
	cases := []struct {
		name string
		leaf []byte
		at   time.Time
		want Result
	}{
		{"while the root was trusted", mk(left.AddDate(-1, 0, 0), left.AddDate(1, 0, 0)), left.Add(-day), OK},
		{"after it left the store", mk(left.AddDate(-1, 0, 0), left.AddDate(1, 0, 0)), left.Add(day), Untrusted},
		{"expired leaf, captured after the root left", mk(left.AddDate(-2, 0, 0), left.AddDate(-1, 0, 0)), left.AddDate(1, 0, 0), Expired},
		{"not yet valid: a device clock in 1970", mk(left.AddDate(-1, 0, 0), left.AddDate(1, 0, 0)), time.Unix(12, 0), NotYetValid},
	}
	for _, c := range cases {
		var cc Cache
		for i := 0; i < 2; i++ { // the second time from the cache
			if res, _, err := cc.Verify(ts, [][]byte{c.leaf}, "www.example.org", c.at); res != c.want {
				t.Errorf("%s: got %d (%v), want %d", c.name, res, err, c.want)
			}
		}
	}
	// The embedded data: dated roots that left the store, DST Root CA X3 among them.
	removed := parseRemoved(removedPEM)
	found := false
	for _, r := range removed {
		found = found || r.cert.Subject.CommonName == "DST Root CA X3"
		if r.until.IsZero() {
			t.Errorf("%s has no date", r.cert.Subject)
		}
	}
	if len(removed) < 50 || !found {
		t.Errorf("%d removed roots embedded, DST Root CA X3 among them: %v", len(removed), found)
	}
}
