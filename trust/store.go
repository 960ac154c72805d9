package trust

import (
	"bytes"
	"crypto/x509"
	_ "embed"
	"encoding/pem"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/x509roots/fallback/bundle"
)

//go:embed anchors/historic.pem
var historicPEM []byte

// Store holds the anchors TLS chains are verified against: Mozilla's
// roots plus Apple's own and historic anchors (anchors/README.md). It is
// read-only once built and safe for concurrent use.
type Store struct {
	// days gives the roots trusted on a given day: Mozilla's and Apple's,
	// and the public roots that have left the store since (days.go).
	days *dayPools
	// subjects holds every anchor's subject name: a chain whose missing
	// issuer is a known anchor was signed by someone else (forged), not
	// merely sent without its intermediate.
	subjects map[string]bool
}

var (
	trustOnce sync.Once
	trustVal  *Store
)

// Load returns the embedded anchors' store, built once per process.
func Load() *Store {
	trustOnce.Do(func() {
		pool := x509.NewCertPool()
		subjects := map[string]bool{}
		for r := range bundle.Roots() {
			c, err := x509.ParseCertificate(r.Certificate)
			if err != nil {
				continue
			}
			subjects[c.Subject.String()] = true
			if r.Constraint != nil {
				pool.AddCertWithConstraint(c, r.Constraint)
			} else {
				pool.AddCert(c)
			}
		}
		for _, c := range historicAnchors() {
			pool.AddCert(c)
			subjects[c.Subject.String()] = true
		}
		removed := parseRemoved(removedPEM)
		for _, r := range removed {
			subjects[r.cert.Subject.String()] = true
		}
		trustVal = &Store{days: &dayPools{base: pool, removed: removed}, subjects: subjects}
	})
	return trustVal
}

// NewStore returns a store that trusts roots on every day, with none of
// the embedded anchors. Each root's subject counts as an anchor's: a chain
// naming one as its missing issuer is forged, not incomplete.
func NewStore(roots ...*x509.Certificate) *Store {
	pool := x509.NewCertPool()
	subjects := map[string]bool{}
	for _, c := range roots {
		pool.AddCert(c)
		subjects[c.Subject.String()] = true
	}
	return &Store{days: &dayPools{base: pool}, subjects: subjects}
}

func historicAnchors() []*x509.Certificate {
	var out []*x509.Certificate
	rest := historicPEM
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			return out
		}
		if c, err := x509.ParseCertificate(b.Bytes); err == nil {
			out = append(out, c)
		}
	}
}

// Result is the verdict on a server's certificate chain.
type Result int

// The verdicts on a chain.
const (
	OK           Result = iota
	Untrusted           // does not chain to an anchor: interception
	NameMismatch        // genuine chain, but the leaf does not cover the name
	Expired             // genuine chain, past its validity at capture time
	NotYetValid         // genuine chain, before its validity at capture time
	Unparsable          // we could not parse the leaf: no verdict
	Incomplete          // a public CA's intermediate was not sent: server misconfiguration
)

// publicCAs are organisations whose intermediates servers often forget to
// send. A chain from one of them that stops short of an anchor is a
// misconfigured server (clients fetch the intermediate), not interception.
var publicCAs = []string{"DigiCert", "Starfield", "GoDaddy", "Go Daddy", "Sectigo", "COMODO", "Let's Encrypt", "GlobalSign",
	"Entrust", "Amazon", "Google Trust Services", "Microsoft", "GeoTrust", "Thawte", "Symantec", "VeriSign", "QuoVadis", "IdenTrust", "Apple Inc."}

// Verify checks a DER chain (leaf first) for host (none when empty, or an
// address) at time at, the capture's, with the roots trusted that day. It
// returns the verdict, the certificates it parsed and the verification's
// error.
func (t *Store) Verify(ders [][]byte, host string, at time.Time) (Result, []*x509.Certificate, error) {
	certs := make([]*x509.Certificate, 0, len(ders))
	for _, d := range ders {
		c, err := x509.ParseCertificate(d)
		if err != nil {
			if len(certs) == 0 {
				return Unparsable, nil, err
			}
			continue
		}
		certs = append(certs, c)
	}
	leaf := certs[0]
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	opts := x509.VerifyOptions{Roots: t.days.at(at), Intermediates: inter, CurrentTime: at, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}
	_, err := leaf.Verify(opts)
	if err != nil {
		var inv x509.CertificateInvalidError
		if ok := asInvalid(err, &inv); ok && inv.Reason == x509.Expired {
			// Genuine but out of date at capture time: did it verify on
			// some day of its validity, with the roots of that day?
			res := Expired
			if at.Before(leaf.NotBefore) {
				res = NotYetValid
			}
			for _, day := range validDays(certs) {
				opts.CurrentTime, opts.Roots = day, t.days.at(day)
				if _, err2 := leaf.Verify(opts); err2 == nil {
					return res, certs, err
				}
			}
		}
		if _, ok := err.(x509.UnknownAuthorityError); ok && t.incomplete(certs) {
			return Incomplete, certs, err
		}
		return Untrusted, certs, err
	}
	if host != "" && !isIP(host) {
		if err := leaf.VerifyHostname(host); err != nil {
			return NameMismatch, certs, err
		}
	}
	return OK, certs, nil
}

// incomplete reports a chain whose last certificate's issuer was not sent
// and names a well-known public CA that is not itself an anchor.
func (t *Store) incomplete(certs []*x509.Certificate) bool {
	last := certs[len(certs)-1]
	if bytes.Equal(last.RawIssuer, last.RawSubject) || t.subjects[last.Issuer.String()] {
		return false // self-signed, or the named anchor did not sign it: forged
	}
	for _, o := range last.Issuer.Organization {
		for _, ca := range publicCAs {
			if strings.Contains(o, ca) {
				return true
			}
		}
	}
	return false
}

// validDays are the days a chain sent out of date may have verified on:
// the leaf's first and last, and the middle of the window all the
// certificates sent share.
func validDays(certs []*x509.Certificate) []time.Time {
	leaf := certs[0]
	from, to := leaf.NotBefore, leaf.NotAfter
	for _, c := range certs[1:] {
		if c.NotBefore.After(from) {
			from = c.NotBefore
		}
		if c.NotAfter.Before(to) {
			to = c.NotAfter
		}
	}
	days := []time.Time{leaf.NotBefore.Add(time.Second), leaf.NotAfter.Add(-time.Second)}
	if to.After(from) {
		days = append(days, from.Add(to.Sub(from)/2))
	}
	return days
}

func asInvalid(err error, out *x509.CertificateInvalidError) bool {
	if e, ok := err.(x509.CertificateInvalidError); ok {
		*out = e
		return true
	}
	return false
}

func isIP(h string) bool { return strings.Count(h, ":") >= 2 || strings.Trim(h, "0123456789.") == "" }
