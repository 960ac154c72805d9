//go:build linux

package lab

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// PathMitmproxy is the path through mitmproxy, a real TLS-inspecting
// proxy, run in transparent mode in the router.
const PathMitmproxy = "mitmproxy"

// MitmproxyPort is the router's port for mitmproxy's transparent listener.
const MitmproxyPort = 8445

// mitmproxyCAFile is the CA certificate mitmproxy writes into its confdir
// on its first start.
const mitmproxyCAFile = "mitmproxy-ca-cert.pem"

// Mitmproxy is a running mitmdump in the router of a lab: transparent
// mode (it finds the original destination of the connections nft
// redirects to it), not verifying the lab server's chain upstream, and
// forging certificates with its own CA.
type Mitmproxy struct {
	cmd  *exec.Cmd
	ca   *x509.Certificate
	out  *lockedBuffer
	done chan struct{}
}

// StartMitmproxy runs mitmdump on :port inside the router of r with a
// fresh CA in confdir (an empty directory), and waits until it has
// written its CA and accepts connections.
func StartMitmproxy(ctx context.Context, r *Routed, port int, confdir string) (*Mitmproxy, error) {
	cmd := r.Command(r.Firewall, "mitmdump", "--mode", "transparent",
		"--listen-host", "0.0.0.0", "--listen-port", strconv.Itoa(port),
		"--ssl-insecure", "--set", "confdir="+confdir, "--quiet")
	out := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("lab mitmproxy: %w", err)
	}
	m := &Mitmproxy{cmd: cmd, out: out, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(m.done) }()
	ca, err := m.ready(ctx, r, port, filepath.Join(confdir, mitmproxyCAFile))
	if err != nil {
		m.Close()
		return nil, fmt.Errorf("lab mitmproxy: %w: %s", err, strings.TrimSpace(out.String()))
	}
	m.ca = ca
	return m, nil
}

// ready waits (up to 60 s: mitmdump is slow to start on a loaded machine)
// for the CA file and the listener.
func (m *Mitmproxy) ready(ctx context.Context, r *Routed, port int, caFile string) (*x509.Certificate, error) {
	deadline := time.Now().Add(60 * time.Second)
	var ca *x509.Certificate
	for time.Now().Before(deadline) {
		select {
		case <-m.done:
			return nil, errors.New("mitmdump exited")
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if ca == nil {
			pemBytes, err := os.ReadFile(caFile)
			if err != nil {
				continue
			}
			if ca, err = parseCertPEM(pemBytes); err != nil {
				continue // still being written
			}
		}
		c, err := dialIn(r.Firewall, fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			c.Close()
			return ca, nil
		}
	}
	return nil, errors.New("mitmdump not ready after 60 s")
}

// CA returns mitmproxy's CA certificate, for the device to trust.
func (m *Mitmproxy) CA() *x509.Certificate { return m.ca }

// Output returns what mitmdump has printed so far.
func (m *Mitmproxy) Output() string { return m.out.String() }

// Close stops mitmdump and waits for it.
func (m *Mitmproxy) Close() {
	_ = m.cmd.Process.Kill()
	<-m.done
}

func parseCertPEM(b []byte) (*x509.Certificate, error) {
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "CERTIFICATE" {
		return nil, errors.New("no certificate")
	}
	return x509.ParseCertificate(blk.Bytes)
}

// lockedBuffer collects a child's output for error messages.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.b.Len() > 64<<10 {
		return len(p), nil // enough to tell what went wrong
	}
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
