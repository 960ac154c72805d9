package analyzer

import (
	"bytes"
	"crypto/x509"
	_ "embed"
	"encoding/pem"
	"fmt"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/x509roots/fallback/bundle"
)

//go:embed anchors/historic.pem
var historicPEM []byte

// trustStore holds the anchors TLS chains are verified against: Mozilla's
// roots plus Apple's own and historic anchors (anchors/README.md).
type trustStore struct {
	// days gives the roots trusted on a given day: Mozilla's and Apple's,
	// and the public roots that have left the store since (trustday.go).
	days *dayPools
	// subjects holds every anchor's subject name: a chain whose missing
	// issuer is a known anchor was signed by someone else (forged), not
	// merely sent without its intermediate.
	subjects map[string]bool
}

var (
	trustOnce sync.Once
	trustVal  *trustStore
)

// loadTrust builds the anchor pool once per process: it is read-only after.
func loadTrust() *trustStore {
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
		trustVal = &trustStore{days: &dayPools{base: pool, removed: removed}, subjects: subjects}
	})
	return trustVal
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

// chainResult is the verdict on a server's certificate chain.
type chainResult int

const (
	chainOK           chainResult = iota
	chainUntrusted                // does not chain to an anchor: interception
	chainNameMismatch             // genuine chain, but the leaf does not cover the name
	chainExpired                  // genuine chain, past its validity at capture time
	chainNotYetValid              // genuine chain, before its validity at capture time
	chainUnparsable               // we could not parse the leaf: no verdict
	chainIncomplete               // a public CA's intermediate was not sent: server misconfiguration
)

// publicCAs are organisations whose intermediates servers often forget to
// send. A chain from one of them that stops short of an anchor is a
// misconfigured server (clients fetch the intermediate), not interception.
var publicCAs = []string{"DigiCert", "Starfield", "GoDaddy", "Go Daddy", "Sectigo", "COMODO", "Let's Encrypt", "GlobalSign",
	"Entrust", "Amazon", "Google Trust Services", "Microsoft", "GeoTrust", "Thawte", "Symantec", "VeriSign", "QuoVadis", "IdenTrust", "Apple Inc."}

// verify checks a DER chain (leaf first) for host at the capture time.
func (t *trustStore) verify(ders [][]byte, host string, at time.Time) (chainResult, []*x509.Certificate, error) {
	certs := make([]*x509.Certificate, 0, len(ders))
	for _, d := range ders {
		c, err := x509.ParseCertificate(d)
		if err != nil {
			if len(certs) == 0 {
				return chainUnparsable, nil, err
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
			res := chainExpired
			if at.Before(leaf.NotBefore) {
				res = chainNotYetValid
			}
			for _, day := range validDays(certs) {
				opts.CurrentTime, opts.Roots = day, t.days.at(day)
				if _, err2 := leaf.Verify(opts); err2 == nil {
					return res, certs, err
				}
			}
		}
		if _, ok := err.(x509.UnknownAuthorityError); ok && t.incomplete(certs) {
			return chainIncomplete, certs, err
		}
		return chainUntrusted, certs, err
	}
	if host != "" && !isIP(host) {
		if err := leaf.VerifyHostname(host); err != nil {
			return chainNameMismatch, certs, err
		}
	}
	return chainOK, certs, nil
}

// incomplete reports a chain whose last certificate's issuer was not sent
// and names a well-known public CA that is not itself an anchor.
func (t *trustStore) incomplete(certs []*x509.Certificate) bool {
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

// Findings of the certificate chain (checkChain).
const (
	FindIntercepted     = "tls.intercepted"
	FindCertExpired     = "tls.cert_expired"
	FindCertNotYetValid = "tls.cert_not_yet_valid"
)

var (
	// defIntercepted is raised by the chain, and without a certificate by
	// the interception signals (intercept.go).
	defIntercepted = FindingDef{Name: FindIntercepted, Severity: SevError, Unit: unitConnections,
		Intercepts: true, Advice: adviceInspection}
	defCertExpired = FindingDef{Name: FindCertExpired, Severity: SevWarn, Unit: unitConnections,
		Advice: adviceClock}
	defCertNotYetValid = FindingDef{Name: FindCertNotYetValid, Severity: SevWarn, Unit: unitConnections,
		Advice: adviceClock}
)

// adviceClock is what to do about a genuine chain outside its validity.
const adviceClock = "Check the device and the capture clock; a genuine certificate was outside its validity."

// checkChain turns a chain verdict into a finding.
func (j *judge) checkChain(f *Flow, at *attribution) verdict {
	if j.trust == nil {
		j.trust = loadTrust()
	}
	host := at.host
	if at.source == SourceIP {
		host = ""
	}
	res, certs, err := j.env.chains.verify(j.trust, f.app.certs, host, time.Unix(0, f.First))
	if res == chainOK && host != "" {
		j.publicChain(host)
	}
	switch res {
	case chainUntrusted:
		if !at.apple && !j.publicNames[host] {
			// A private CA for a host outside Apple's (--all-hosts) is how
			// many internal services run: interception only when the same
			// name came with a public chain too.
			return verdict{}
		}
		return defIntercepted.raise(fmt.Sprintf("certificate for %s issued by %s, which chains to no trusted CA (%s)", certs[0].Subject.CommonName, issuerName(certs[0]), shortErr(err)))
	case chainNameMismatch:
		names := certs[0].DNSNames
		if len(names) > 3 {
			names = append(names[:3:3], "…")
		}
		return defIntercepted.raise(fmt.Sprintf("certificate from %q covers %s, not %s", certs[0].Issuer.CommonName, strings.Join(names, ", "), host))
	case chainExpired:
		return defCertExpired.raise(fmt.Sprintf("genuine chain, but the certificate (valid %s to %s) had expired at the capture's time %s: check the device clock", certs[0].NotBefore.Format("2006-01-02"), certs[0].NotAfter.Format("2006-01-02"), time.Unix(0, f.First).UTC().Format("2006-01-02")))
	case chainNotYetValid:
		return defCertNotYetValid.raise(fmt.Sprintf("genuine chain, but the certificate (valid %s to %s) was not yet valid at the capture's time %s: the device clock (or the capture's) is behind", certs[0].NotBefore.Format("2006-01-02"), certs[0].NotAfter.Format("2006-01-02"), time.Unix(0, f.First).UTC().Format("2006-01-02")))
	}
	return verdict{}
}

// issuerName is the issuer's common name, with its organisation when that
// adds something: "Zscaler Intermediate Root CA (zscalerthree.net) (t)" (Zscaler Inc.).
func issuerName(c *x509.Certificate) string {
	n := fmt.Sprintf("%q", c.Issuer.CommonName)
	if c.Issuer.CommonName == "" {
		n = fmt.Sprintf("%q", c.Issuer.String())
	}
	if len(c.Issuer.Organization) > 0 && !strings.Contains(c.Issuer.CommonName, c.Issuer.Organization[0]) {
		n += " (" + c.Issuer.Organization[0] + ")"
	}
	return n
}

func shortErr(err error) string {
	if err == nil {
		return ""
	}
	s := err.Error()
	if i := strings.Index(s, " (possibly"); i > 0 {
		s = s[:i]
	}
	return strings.TrimPrefix(s, "x509: ")
}

// publicChain remembers a name seen with a publicly trusted chain.
func (j *judge) publicChain(host string) {
	if j.publicNames == nil {
		j.publicNames = map[string]bool{}
	}
	if len(j.publicNames) < maxTracked {
		j.publicNames[host] = true
	}
}
