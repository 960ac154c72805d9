package analyzer

import (
	"crypto/x509"
	"fmt"
	"strings"
	"time"

	"orchard/flow"
	"orchard/trust"
)

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
func (j *judge) checkChain(f *flow.Flow, at *attribution) verdict {
	if j.trust == nil {
		j.trust = trust.Load()
	}
	host := at.host
	if at.source == SourceIP {
		host = ""
	}
	res, certs, err := j.env.chains.Verify(j.trust, f.App.Certs, host, time.Unix(0, f.First))
	if res == trust.OK && host != "" {
		j.publicChain(host)
	}
	switch res {
	case trust.Untrusted:
		if !at.apple && !j.publicNames[host] {
			// A private CA for a host outside Apple's (--all-hosts) is how
			// many internal services run: interception only when the same
			// name came with a public chain too.
			return verdict{}
		}
		return raise(&defIntercepted, fmt.Sprintf("certificate for %s issued by %s, which chains to no trusted CA (%s)", certs[0].Subject.CommonName, issuerName(certs[0]), shortErr(err)))
	case trust.NameMismatch:
		names := certs[0].DNSNames
		if len(names) > 3 {
			names = append(names[:3:3], "…")
		}
		return raise(&defIntercepted, fmt.Sprintf("certificate from %q covers %s, not %s", certs[0].Issuer.CommonName, strings.Join(names, ", "), host))
	case trust.Expired:
		return raise(&defCertExpired, fmt.Sprintf("genuine chain, but the certificate (valid %s to %s) had expired at the capture's time %s: check the device clock", certs[0].NotBefore.Format("2006-01-02"), certs[0].NotAfter.Format("2006-01-02"), time.Unix(0, f.First).UTC().Format("2006-01-02")))
	case trust.NotYetValid:
		return raise(&defCertNotYetValid, fmt.Sprintf("genuine chain, but the certificate (valid %s to %s) was not yet valid at the capture's time %s: the device clock (or the capture's) is behind", certs[0].NotBefore.Format("2006-01-02"), certs[0].NotAfter.Format("2006-01-02"), time.Unix(0, f.First).UTC().Format("2006-01-02")))
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
