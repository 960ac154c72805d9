package analyzer

import "testing"

// TestProxyDenied: http.proxy_denied only when a proxy is in the path,
// naming the proxy's socket and the target apart.
func TestProxyDenied(t *testing.T) {
	hs := []pkt{{0, false, fS, 100, 0, "", 0}, {0.01, true, fS | fA, 500, 101, "", 0}, {0.02, false, fA, 101, 501, "", 0}}
	exchange := func(req, resp string) []pkt {
		return append(append([]pkt{}, hs...),
			pkt{0.03, false, fA | fP, 101, 501, req, 0},
			pkt{0.05, true, fA | fP, 501, 101 + uint32(len(req)), resp, 0})
	}
	cases := []struct {
		name          string
		sport         uint16
		script        []pkt
		want          string
		proxy, target string
		port          uint16
	}{
		{"CONNECT refused by the proxy", 3128,
			exchange("CONNECT idmsa.apple.com:443 HTTP/1.1\r\nHost: idmsa.apple.com:443\r\n\r\n", "HTTP/1.1 407 Proxy Authentication Required\r\nServer: squid/5.7\r\nProxy-Authenticate: Basic\r\n\r\n"),
			FindProxyDenied, "17.57.144.10:3128", "idmsa.apple.com:443", 3128},
		{"forwarded request refused", 8080,
			exchange("GET http://mesu.apple.com/assets HTTP/1.1\r\nHost: mesu.apple.com\r\n\r\n", "HTTP/1.1 403 Forbidden\r\n\r\n"),
			FindProxyDenied, "17.57.144.10:8080", "mesu.apple.com", 8080},
		{"origin's own 502", 80,
			exchange("GET /assets HTTP/1.1\r\nHost: mesu.apple.com\r\n\r\n", "HTTP/1.1 502 Bad Gateway\r\nServer: Apple\r\n\r\n"), "", "", "", 0},
		{"origin's own 500 through its CDN", 80,
			exchange("GET /assets HTTP/1.1\r\nHost: mesu.apple.com\r\n\r\n", "HTTP/1.1 500 Internal Server Error\r\nVia: http/1.1 cdn.apple.com (ApacheTrafficServer)\r\n\r\n"), "", "", "", 0},
		{"origin 403", 80,
			exchange("GET /assets HTTP/1.1\r\nHost: mesu.apple.com\r\n\r\n", "HTTP/1.1 403 Forbidden\r\n\r\n"), "", "", "", 0},
		{"a local proxy's Via", 3128,
			exchange("GET /assets HTTP/1.1\r\nHost: mesu.apple.com\r\n\r\n", "HTTP/1.1 503 Service Unavailable\r\nVia: 1.1 proxy (squid/5.7)\r\n\r\n"),
			FindProxyDenied, "17.57.144.10:3128", "mesu.apple.com", 3128},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e, _ := newTestEngine(t, Config{})
			feedTCP(e, 50000, c.sport, c.script)
			r := e.Finish()
			var got *Finding
			for _, f := range r.Findings {
				if f.Finding == FindProxyDenied {
					got = f
				}
			}
			switch {
			case c.want == "" && got != nil:
				t.Errorf("proxy denial without a proxy: %+v", got)
			case c.want != "" && got == nil:
				t.Errorf("no proxy denial: %+v", r.Findings)
			case got != nil && (got.Proxy != c.proxy || got.Target != c.target || got.Port != c.port):
				t.Errorf("proxy %q target %q port %d, want %q %q %d", got.Proxy, got.Target, got.Port, c.proxy, c.target, c.port)
			}
		})
	}
}
