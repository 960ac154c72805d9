package lab

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"time"
)

// CAName is the common name of the lab's certificate authority: the one a
// TLS-inspection box would sign its forged certificates with.
const CAName = "Orchard Lab Inspection CA"

// PKI is a lab certificate authority that issues server certificates.
type PKI struct {
	caKey  *ecdsa.PrivateKey
	caCert *x509.Certificate
	caDER  []byte
	serial int64
}

// NewPKI makes a fresh CA valid from a day ago for a week.
func NewPKI() (*PKI, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("lab pki: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: CAName, Organization: []string{"Orchard Lab"}},
		NotBefore:             now.Add(-24 * time.Hour),
		NotAfter:              now.Add(7 * 24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("lab pki: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("lab pki: %w", err)
	}
	return &PKI{caKey: key, caCert: cert, caDER: der, serial: 1}, nil
}

// CAPEM returns the CA certificate in PEM.
func (p *PKI) CAPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: p.caDER})
}

// Issue returns a server certificate for the names, chained to the CA
// (leaf then CA), and its key, both in PEM.
func (p *PKI) Issue(names ...string) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("lab pki: %w", err)
	}
	p.serial++
	now := time.Now()
	cn := ""
	if len(names) > 0 {
		cn = names[0]
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(p.serial),
		Subject:      pkix.Name{CommonName: cn},
		DNSNames:     names,
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.caCert, &key.PublicKey, p.caKey)
	if err != nil {
		return nil, nil, fmt.Errorf("lab pki: issue %v: %w", names, err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("lab pki: %w", err)
	}
	certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	certPEM = append(certPEM, p.CAPEM()...)
	keyPEM = pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
	return certPEM, keyPEM, nil
}

// WriteSite issues a certificate for name and writes it to dir as
// NAME.crt and NAME.key; it returns the two paths.
func (p *PKI) WriteSite(dir, name string) (certFile, keyFile string, err error) {
	c, k, err := p.Issue(name)
	if err != nil {
		return "", "", err
	}
	certFile, keyFile = filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")
	if err := os.WriteFile(certFile, c, 0o644); err != nil {
		return "", "", fmt.Errorf("lab pki: %w", err)
	}
	if err := os.WriteFile(keyFile, k, 0o600); err != nil {
		return "", "", fmt.Errorf("lab pki: %w", err)
	}
	return certFile, keyFile, nil
}

// WriteCA writes the CA certificate to dir/ca.crt and returns the path.
func (p *PKI) WriteCA(dir string) (string, error) {
	f := filepath.Join(dir, "ca.crt")
	if err := os.WriteFile(f, p.CAPEM(), 0o644); err != nil {
		return "", fmt.Errorf("lab pki: %w", err)
	}
	return f, nil
}
