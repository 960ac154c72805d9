package demo

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"net"
	"sync"
	"time"
)

// write is one Write call on a TLS connection: who wrote what.
type write struct {
	fromServer bool
	b          []byte
}

// recConn records every Write in the shared log.
type recConn struct {
	net.Conn
	server bool
	log    *[]write
	mu     *sync.Mutex
}

func (c recConn) Write(b []byte) (int, error) {
	c.mu.Lock()
	*c.log = append(*c.log, write{fromServer: c.server, b: append([]byte(nil), b...)})
	c.mu.Unlock()
	return c.Conn.Write(b)
}

// session describes one TLS exchange to record.
type session struct {
	sni       string
	alpn      []string
	serverMax uint16            // server's highest version
	chain     []tls.Certificate // the server's certificate
	reject    bool              // the client rejects the certificate
	request   string            // application data the client sends
	response  string            // and the server answers
}

// handshake runs a real crypto/tls exchange over a pipe and returns the
// writes in order.
func handshake(s session) ([]write, error) {
	cc, sc := net.Pipe()
	var mu sync.Mutex
	var log []write
	client := recConn{Conn: cc, log: &log, mu: &mu}
	server := recConn{Conn: sc, server: true, log: &log, mu: &mu}
	scfg := &tls.Config{Certificates: s.chain, MaxVersion: s.serverMax, NextProtos: s.alpn}
	ccfg := &tls.Config{ServerName: s.sni, NextProtos: s.alpn, InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}
	if s.reject {
		ccfg.VerifyPeerCertificate = func([][]byte, [][]*x509.Certificate) error {
			return errors.New("untrusted issuer")
		}
	}
	done := make(chan error, 1)
	go func() {
		srv := tls.Server(server, scfg)
		err := srv.Handshake()
		if err == nil && s.request != "" {
			buf := make([]byte, len(s.request))
			if _, err = io.ReadFull(srv, buf); err == nil {
				_, err = srv.Write([]byte(s.response))
			}
		}
		if err != nil {
			// Drain what the client still sends (its alert) before closing.
			_, _ = io.Copy(io.Discard, srv)
		}
		sc.Close()
		done <- nil
	}()
	cl := tls.Client(client, ccfg)
	err := cl.Handshake()
	if err == nil && s.request != "" {
		if _, err = cl.Write([]byte(s.request)); err == nil {
			buf := make([]byte, len(s.response))
			_, err = io.ReadFull(cl, buf)
		}
	}
	cc.Close()
	<-done
	if s.reject {
		err = nil // the failure is the point
	}
	return log, err
}

// clientHello returns the ClientHello bytes a current client sends for sni.
func clientHello(sni string, alpn []string) ([]byte, error) {
	cc, sc := net.Pipe()
	got := make(chan []byte, 1)
	go func() {
		buf := make([]byte, 16<<10)
		n := 0
		// The first flight arrives in one or more writes; read until the
		// record's length is complete.
		for {
			m, err := sc.Read(buf[n:])
			n += m
			if err != nil || n >= 5 && n >= 5+(int(buf[3])<<8|int(buf[4])) {
				break
			}
		}
		got <- append([]byte(nil), buf[:n]...)
		sc.Close()
	}()
	cl := tls.Client(cc, &tls.Config{ServerName: sni, NextProtos: alpn, InsecureSkipVerify: true})
	_ = cl.Handshake()
	cc.Close()
	return <-got, nil
}

// pki holds the demo's certificates.
type pki struct {
	lab    tls.Certificate // the healthy servers' certificate (hidden by TLS 1.3)
	forged tls.Certificate // a TLS-inspection box's forgery for an Apple host
}

func newPKI(now time.Time) (*pki, error) {
	labKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	lab, err := selfSigned(labKey, "lab.example", now)
	if err != nil {
		return nil, err
	}
	// The inspection box: a root, an intermediate, and a leaf minted for
	// the Apple name the device asked for.
	rootKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	interKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leafKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	root := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Zscaler Root CA", Organization: []string{"Zscaler Inc."}},
		NotBefore: now.AddDate(-5, 0, 0), NotAfter: now.AddDate(10, 0, 0), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	rootDER, err := x509.CreateCertificate(rand.Reader, root, root, &rootKey.PublicKey, rootKey)
	if err != nil {
		return nil, err
	}
	rootCert, _ := x509.ParseCertificate(rootDER)
	inter := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "Zscaler Intermediate Root CA (zscalerthree.net) (t)", Organization: []string{"Zscaler Inc."}},
		NotBefore: now.AddDate(-1, 0, 0), NotAfter: now.AddDate(5, 0, 0), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	interDER, err := x509.CreateCertificate(rand.Reader, inter, rootCert, &interKey.PublicKey, rootKey)
	if err != nil {
		return nil, err
	}
	interCert, _ := x509.ParseCertificate(interDER)
	leaf := &x509.Certificate{SerialNumber: big.NewInt(3), Subject: pkix.Name{CommonName: "mdmenrollment.apple.com"}, DNSNames: []string{"mdmenrollment.apple.com"},
		NotBefore: now.AddDate(0, 0, -2), NotAfter: now.AddDate(0, 0, 12), ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, KeyUsage: x509.KeyUsageDigitalSignature}
	leafDER, err := x509.CreateCertificate(rand.Reader, leaf, interCert, &leafKey.PublicKey, interKey)
	if err != nil {
		return nil, err
	}
	return &pki{lab: lab, forged: tls.Certificate{Certificate: [][]byte{leafDER, interDER}, PrivateKey: leafKey}}, nil
}

func selfSigned(key *ecdsa.PrivateKey, cn string, now time.Time) (tls.Certificate, error) {
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: cn}, DNSNames: []string{cn},
		NotBefore: now.AddDate(0, -1, 0), NotAfter: now.AddDate(1, 0, 0), KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}
