package analyzer

import (
	"net/netip"
	"strconv"
	"strings"

	"orchard/flow"
)

// proxyPort reports ports web proxies listen on; a Via header from a server
// there, or on the local network, is a proxy's and not a CDN's.
func proxyPort(p uint16) bool {
	switch p {
	case 3128, 3129, 8080, 8000, 8888, 8118:
		return true
	}
	return false
}

// proxied reports whether a proxy is in the flow's path: the client
// talks to it as to a proxy (CONNECT, an absolute-form target, Proxy-*
// headers), or the answer comes from one (407, Proxy-Authenticate,
// Proxy-Agent, a local proxy's Via). An origin server's own 5xx is none
// of these.
func proxied(f *flow.Flow) bool {
	a := f.App
	if a == nil {
		return false
	}
	if r := a.Request; r != nil {
		t := strings.ToLower(r.Target)
		if r.Method == "CONNECT" || r.ProxyHeaders || strings.HasPrefix(t, "http://") || strings.HasPrefix(t, "https://") {
			return true
		}
	}
	if r := a.Response; r != nil {
		if r.Status == 407 || r.ProxyAuthenticate != "" || r.ProxyAgent {
			return true
		}
		if r.Via != "" && (proxyPort(f.SPort) || f.Server.Unmap().IsPrivate()) {
			return true
		}
	}
	return false
}

// proxyTarget is what a proxied request asked the proxy for: the CONNECT
// target, or the host (and port) of a forwarded request.
func proxyTarget(f *flow.Flow) string {
	r := f.App.Request
	switch {
	case r == nil:
		return ""
	case r.Method == "CONNECT":
		return r.Target
	case r.HostPort != 0:
		return hostPort(r.Host, r.HostPort)
	}
	return r.Host
}

// hostPort joins a host name or address and a port, bracketing IPv6.
func hostPort(h string, p uint16) string {
	if a, err := netip.ParseAddr(h); err == nil {
		return netip.AddrPortFrom(a.Unmap(), p).String()
	}
	return h + ":" + strconv.Itoa(int(p))
}

// socket is the server side of a flow, as "addr:port".
func socket(f *flow.Flow) string { return netip.AddrPortFrom(f.Server.Unmap(), f.SPort).String() }
