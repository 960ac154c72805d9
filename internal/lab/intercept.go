//go:build linux

package lab

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"math/big"
	"net"
	"sync"
	"time"
)

// Path kinds between the device and the "Apple" server of an
// interception lab.
const (
	PathDirect  = "direct"  // routed over the WAN
	PathRelay   = "relay"   // a transparent TCP proxy in the router: no inspection
	PathInspect = "inspect" // a TLS-inspecting transparent proxy in the router
)

// Ports of the router's transparent proxies.
const (
	RelayPort   = 8443
	InspectPort = 8444
)

// Redirect makes the router hand the client's TCP to port 443 to its own
// port (a transparent proxy), with nft's redirect; port 0 removes it.
func Redirect(r *Routed, port int) error {
	_ = r.Exec(r.Firewall, "nft", "delete", "table", "ip", "orchard_lab_nat")
	if port == 0 {
		return nil
	}
	rules := fmt.Sprintf("table ip orchard_lab_nat {\n chain pre {\n  type nat hook prerouting priority dstnat; policy accept;\n  iifname %q tcp dport 443 redirect to :%d\n }\n}\n", FwClientIf, port)
	return r.ExecInput(r.Firewall, rules, "nft", "-f", "-")
}

// ServeTLS13 runs an HTTP/1.1-over-TLS 1.3 server on addr inside ns with
// the certificate chain; it answers one request per connection.
func ServeTLS13(ctx context.Context, ns, addr string, cert tls.Certificate) (net.Listener, error) {
	var ln net.Listener
	err := InNS(ns, func() (err error) {
		ln, err = net.Listen("tcp4", addr)
		return err
	})
	if err != nil {
		return nil, err
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS13}
	go func() { _ = acceptLoop(ctx, tls.NewListener(ln, cfg), func(c net.Conn) { go answer(c.(*tls.Conn)) }) }()
	return ln, nil
}

// ServeRelay runs a plain transparent TCP proxy on :port inside the
// router: each accepted connection is joined to a new one to upstream
// (the lab's one server), bytes copied both ways, nothing decrypted.
func ServeRelay(ctx context.Context, r *Routed, port int, upstream string) (net.Listener, error) {
	ln, err := listenIn(r.Firewall, port)
	if err != nil {
		return nil, err
	}
	go func() {
		_ = acceptLoop(ctx, ln, func(c net.Conn) { go relay(r.Firewall, c, upstream) })
	}()
	return ln, nil
}

func relay(ns string, c net.Conn, upstream string) {
	defer c.Close()
	u, err := dialIn(ns, upstream)
	if err != nil {
		return
	}
	defer u.Close()
	pipe(c, u)
}

// Inspector is a TLS-inspecting transparent proxy: it terminates the
// device's TLS with a certificate it forges for the SNI, signed by its own
// CA (which the device trusts, as an MDM profile would install it), opens
// its own TLS connection to the real server (after reading the
// ClientHello, as inspecting proxies do), and copies the plaintext.
type Inspector struct {
	ca     *x509.Certificate
	caKey  *ecdsa.PrivateKey
	caDER  []byte
	roots  *x509.CertPool // what it trusts upstream
	mu     sync.Mutex
	forged map[string]*tls.Certificate
}

// InspectorCAName is the common name of the inspector's own CA.
const InspectorCAName = "Orchard Lab Inspection Proxy Root"

// NewInspector makes an inspector with a fresh CA that trusts upstream
// servers chaining to roots.
func NewInspector(roots *x509.CertPool) (*Inspector, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("lab inspector: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: InspectorCAName},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("lab inspector: %w", err)
	}
	ca, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("lab inspector: %w", err)
	}
	return &Inspector{ca: ca, caKey: key, caDER: der, roots: roots, forged: map[string]*tls.Certificate{}}, nil
}

// CA returns the inspector's CA certificate, for the device to trust.
func (in *Inspector) CA() *x509.Certificate { return in.ca }

// forge returns (and caches) a certificate for name signed by the inspector's CA.
func (in *Inspector) forge(name string) (*tls.Certificate, error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if c := in.forged[name]; c != nil {
		return c, nil
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(int64(len(in.forged) + 2)), Subject: pkix.Name{CommonName: name},
		DNSNames: []string{name}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, in.ca, &key.PublicKey, in.caKey)
	if err != nil {
		return nil, err
	}
	c := &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	in.forged[name] = c
	return c, nil
}

// Serve runs the inspector on :port inside the router of r.
func (in *Inspector) Serve(ctx context.Context, r *Routed, port int, upstream string) (net.Listener, error) {
	ln, err := listenIn(r.Firewall, port)
	if err != nil {
		return nil, err
	}
	go func() {
		_ = acceptLoop(ctx, ln, func(c net.Conn) { go in.handle(ctx, r.Firewall, c, upstream) })
	}()
	return ln, nil
}

func (in *Inspector) handle(ctx context.Context, ns string, c net.Conn, upstream string) {
	defer c.Close()
	var up *tls.Conn
	cfg := &tls.Config{GetConfigForClient: func(h *tls.ClientHelloInfo) (*tls.Config, error) {
		// The ClientHello names the server: connect to it first, so
		// that the forged answer can follow its handshake.
		raw, err := dialIn(ns, upstream)
		if err != nil {
			return nil, err
		}
		up = tls.Client(raw, &tls.Config{ServerName: h.ServerName, RootCAs: in.roots, NextProtos: h.SupportedProtos})
		if err := up.HandshakeContext(ctx); err != nil {
			raw.Close()
			return nil, err
		}
		cert, err := in.forge(h.ServerName)
		if err != nil {
			return nil, err
		}
		return &tls.Config{Certificates: []tls.Certificate{*cert}}, nil
	}}
	tc := tls.Server(c, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		if up != nil {
			up.Close()
		}
		return
	}
	defer up.Close()
	pipe(tc, up)
}

func listenIn(ns string, port int) (net.Listener, error) {
	var ln net.Listener
	err := InNS(ns, func() (err error) {
		ln, err = net.Listen("tcp4", fmt.Sprintf(":%d", port))
		return err
	})
	return ln, err
}

func dialIn(ns, addr string) (net.Conn, error) {
	var c net.Conn
	err := InNS(ns, func() (err error) {
		c, err = net.DialTimeout("tcp4", addr, 5*time.Second)
		return err
	})
	return c, err
}

// pipe copies both ways until either side ends.
func pipe(a, b net.Conn) {
	done := make(chan struct{}, 2)
	cp := func(dst, src net.Conn) {
		_, _ = io.Copy(dst, src)
		if cw, ok := dst.(interface{ CloseWrite() error }); ok {
			_ = cw.CloseWrite()
		}
		done <- struct{}{}
	}
	go cp(a, b)
	go cp(b, a)
	<-done
	<-done
}

// Fetch makes one HTTPS request from inside ns to addr with the SNI name,
// trusting roots, and returns the status line's code.
func Fetch(ctx context.Context, ns, addr, name string, roots *x509.CertPool) (int, error) {
	raw, err := dialIn(ns, addr)
	if err != nil {
		return 0, err
	}
	defer raw.Close()
	_ = raw.SetDeadline(time.Now().Add(10 * time.Second))
	c := tls.Client(raw, &tls.Config{ServerName: name, RootCAs: roots})
	if err := c.HandshakeContext(ctx); err != nil {
		return 0, fmt.Errorf("lab fetch %s: %w", name, err)
	}
	if _, err := fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", name); err != nil {
		return 0, err
	}
	var proto string
	var code int
	if _, err := fmt.Fscan(c, &proto, &code); err != nil {
		return 0, fmt.Errorf("lab fetch %s: %w", name, err)
	}
	_, _ = io.Copy(io.Discard, c)
	return code, nil
}
