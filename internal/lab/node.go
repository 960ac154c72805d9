package lab

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// NodeEnv is the environment variable that turns a re-executed test
// binary into a lab node; its value is the JSON of a NodeConfig.
const NodeEnv = "ORCHARD_LAB_NODE"

// NodeConfig tells a lab node what to run.
type NodeConfig struct {
	Role string `json:"role"` // "server" or "client"
	// DNS is the lab resolver's address (host:port): served by a server,
	// asked by a client.
	DNS string `json:"dns"`
	// Zone maps names to IPv4 addresses (server).
	Zone map[string]string `json:"zone,omitempty"`
	// Sites are the TLS servers answering HTTP/1.1 (server).
	Sites []Site `json:"sites,omitempty"`
	// Listen are plain TCP listeners that accept and close (server).
	Listen []string `json:"listen,omitempty"`
	// Probes are what a client tries, all at once.
	Probes []Probe `json:"probes,omitempty"`
	// CAFile is the lab CA a client trusts.
	CAFile string `json:"ca_file,omitempty"`
}

// Site is a TLS server on Addr (host:port) with a certificate, answering
// one HTTP/1.1 request per connection.
type Site struct {
	Addr       string `json:"addr"`
	CertFile   string `json:"cert_file"`
	KeyFile    string `json:"key_file"`
	MaxVersion string `json:"max_version"` // "1.2" or "1.3"
}

// Probe is one connection a client makes: resolve Name with the lab DNS,
// then a TCP connect ("tcp") or an HTTP/1.1 GET over TLS ("tls") to Port.
type Probe struct {
	Name    string        `json:"name"`
	Port    int           `json:"port"`
	Kind    string        `json:"kind"`
	Timeout time.Duration `json:"timeout"`
}

// Result is a client's report on one probe, one JSON object per line.
type Result struct {
	Name    string `json:"name"`
	Port    int    `json:"port"`
	Addr    string `json:"addr,omitempty"`
	Outcome string `json:"outcome"` // connected, refused, timeout, http 200, error
	Detail  string `json:"detail,omitempty"`
}

// IsNode reports whether this process was started as a lab node.
func IsNode() bool { return os.Getenv(NodeEnv) != "" }

// NodeEnvValue returns the environment entry that starts cfg.
func NodeEnvValue(cfg NodeConfig) (string, error) {
	b, err := json.Marshal(cfg)
	if err != nil {
		return "", fmt.Errorf("lab: %w", err)
	}
	return NodeEnv + "=" + string(b), nil
}

// NodeMain runs the node described by the environment and returns the
// exit status. A server prints "ready" on stdout once it listens and runs
// until SIGTERM or SIGINT; a client prints one Result per probe.
func NodeMain(stdout, stderr io.Writer) int {
	var cfg NodeConfig
	if err := json.Unmarshal([]byte(os.Getenv(NodeEnv)), &cfg); err != nil {
		fmt.Fprintf(stderr, "lab node: %v\n", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	var err error
	switch cfg.Role {
	case "server":
		err = serve(ctx, &cfg, stdout)
	case "client":
		err = probeAll(ctx, &cfg, stdout)
	default:
		err = fmt.Errorf("unknown role %q", cfg.Role)
	}
	if err != nil {
		fmt.Fprintf(stderr, "lab node: %v\n", err)
		return 1
	}
	return 0
}

func serve(ctx context.Context, cfg *NodeConfig, stdout io.Writer) error {
	zone := Zone{}
	for name, a := range cfg.Zone {
		ip, err := netip.ParseAddr(a)
		if err != nil {
			return fmt.Errorf("zone %s: %w", name, err)
		}
		zone[name] = ip
	}
	pc, err := net.ListenPacket("udp", cfg.DNS)
	if err != nil {
		return fmt.Errorf("dns: %w", err)
	}
	errc := make(chan error, 1+len(cfg.Sites)+len(cfg.Listen))
	go func() { errc <- ServeDNS(ctx, pc, zone) }()
	for _, a := range cfg.Listen {
		ln, err := net.Listen("tcp", a)
		if err != nil {
			return fmt.Errorf("listen: %w", err)
		}
		go func() { errc <- acceptLoop(ctx, ln, func(c net.Conn) { _ = c.Close() }) }()
	}
	for _, s := range cfg.Sites {
		ln, err := listenSite(s)
		if err != nil {
			return err
		}
		go func() { errc <- acceptLoop(ctx, ln, func(c net.Conn) { go answer(c.(*tls.Conn)) }) }()
	}
	fmt.Fprintln(stdout, "ready")
	select {
	case <-ctx.Done():
		return nil
	case err := <-errc:
		return err
	}
}

// listenSite listens for TLS on the site's address with its certificate.
func listenSite(s Site) (net.Listener, error) {
	cert, err := tls.LoadX509KeyPair(s.CertFile, s.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("site %s: %w", s.Addr, err)
	}
	tc := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12, MaxVersion: tls.VersionTLS13}
	if s.MaxVersion == "1.2" {
		tc.MaxVersion = tls.VersionTLS12
	}
	ln, err := tls.Listen("tcp", s.Addr, tc)
	if err != nil {
		return nil, fmt.Errorf("site %s: %w", s.Addr, err)
	}
	return ln, nil
}

// acceptLoop hands each accepted connection to handle until ctx ends.
func acceptLoop(ctx context.Context, ln net.Listener, handle func(net.Conn)) error {
	go func() {
		<-ctx.Done()
		_ = ln.Close()
	}()
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("accept on %s: %w", ln.Addr(), err)
		}
		handle(c)
	}
}

const siteResponse = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 12\r\nConnection: close\r\n\r\norchard lab\n"

// answer serves one HTTP/1.1 request with 200 and closes the orderly way:
// close_notify, then read until the client's own close_notify, then FIN.
// Closing with unread bytes would make the kernel send a reset, which is
// not what a healthy server looks like.
func answer(c *tls.Conn) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReaderSize(io.LimitReader(c, 16<<10), 4096)
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return
		}
		if line == "\r\n" || line == "\n" {
			break
		}
	}
	if _, err := io.WriteString(c, siteResponse); err != nil {
		return
	}
	if err := c.CloseWrite(); err != nil {
		return
	}
	_, _ = io.Copy(io.Discard, c)
}

func probeAll(ctx context.Context, cfg *NodeConfig, stdout io.Writer) error {
	var roots *x509.CertPool
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return err
		}
		roots = x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pem) {
			return fmt.Errorf("%s: no certificate", cfg.CAFile)
		}
	}
	res := Resolver(cfg.DNS)
	out := make([]Result, len(cfg.Probes))
	var wg sync.WaitGroup
	for i, p := range cfg.Probes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i] = probe(ctx, res, roots, p)
		}()
	}
	wg.Wait()
	enc := json.NewEncoder(stdout)
	for i := range out {
		if err := enc.Encode(&out[i]); err != nil {
			return err
		}
	}
	return nil
}

func probe(ctx context.Context, res *net.Resolver, roots *x509.CertPool, p Probe) Result {
	r := Result{Name: p.Name, Port: p.Port}
	if p.Timeout <= 0 {
		p.Timeout = 5 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, p.Timeout)
	defer cancel()
	// The final dot keeps the resolver from trying search domains.
	addrs, err := res.LookupNetIP(ctx, "ip4", p.Name+".")
	if err != nil || len(addrs) == 0 {
		r.Outcome, r.Detail = "error", fmt.Sprintf("resolve: %v", err)
		return r
	}
	r.Addr = addrs[0].String()
	target := net.JoinHostPort(r.Addr, strconv.Itoa(p.Port))
	switch p.Kind {
	case "tcp":
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", target)
		if err != nil {
			r.Outcome, r.Detail = dialOutcome(err), err.Error()
			return r
		}
		_ = c.Close()
		r.Outcome = "connected"
	case "tls":
		d := tls.Dialer{Config: &tls.Config{RootCAs: roots, ServerName: p.Name, MinVersion: tls.VersionTLS12}}
		nc, err := d.DialContext(ctx, "tcp", target)
		if err != nil {
			r.Outcome, r.Detail = dialOutcome(err), err.Error()
			return r
		}
		c := nc.(*tls.Conn)
		defer c.Close()
		if dl, ok := ctx.Deadline(); ok {
			_ = c.SetDeadline(dl)
		}
		req := "GET / HTTP/1.1\r\nHost: " + p.Name + "\r\nUser-Agent: orchard-lab\r\nConnection: close\r\n\r\n"
		if _, err := io.WriteString(c, req); err != nil {
			r.Outcome, r.Detail = "error", err.Error()
			return r
		}
		// Read to the server's close_notify, then close: an orderly end.
		resp, err := io.ReadAll(io.LimitReader(c, 1<<20))
		if err != nil {
			r.Outcome, r.Detail = dialOutcome(err), err.Error()
			return r
		}
		status, _, _ := strings.Cut(string(resp), "\r\n")
		if code, ok := strings.CutPrefix(status, "HTTP/1.1 "); ok && len(code) >= 3 {
			r.Outcome = "http " + code[:3]
		} else {
			r.Outcome, r.Detail = "error", "bad response "+strconv.Quote(status)
			return r
		}
		r.Detail = tls.VersionName(c.ConnectionState().Version)
	default:
		r.Outcome, r.Detail = "error", "unknown probe kind "+p.Kind
	}
	return r
}

func dialOutcome(err error) string {
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "refused"
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded):
		return "timeout"
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "timeout"
	}
	return "error"
}
