package dissect_test

import (
	"bytes"
	"errors"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"orchard/dissect"
	"orchard/internal/sharedtest"
)

func TestLooksLikeHTTPRequest(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want bool
	}{
		{"GET / HTTP/1.1\r\n", true},
		{"CONNECT apple.com:443 HTTP/1.1\r\n", true},
		{"POST ", true},
		{"OPTIONS * HTTP/1.1", true},
		{"PATCH /x", true},
		{"GET", false},
		{"GET/", false},
		{"get / HTTP/1.1", false},
		{"HTTP/1.1 200 OK", false},
		{"\x16\x03\x01\x02\x00\x01", false},
		{"", false},
		{"CONNECTX a:1", false},
	} {
		if got := dissect.LooksLikeHTTPRequest([]byte(tt.in)); got != tt.want {
			t.Errorf("LooksLikeHTTPRequest(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestParseHTTPRequest(t *testing.T) {
	manyHeaders := "GET / HTTP/1.1\r\nHost: a\r\n" + strings.Repeat("X-A: b\r\n", 100) + "\r\n"
	tests := []struct {
		name    string
		in      string
		wantErr error
		want    dissect.HTTPRequest
	}{
		{
			name: "connect with host",
			in:   "CONNECT Gateway.iCloud.com:443 HTTP/1.1\r\nHost: gateway.icloud.com:443\r\nUser-Agent: com.apple.trustd/2.2\r\n\r\n",
			want: dissect.HTTPRequest{Method: "CONNECT", Target: "Gateway.iCloud.com:443", Version: "HTTP/1.1",
				Host: "gateway.icloud.com", HostPort: 443, UserAgent: "com.apple.trustd/2.2",
				ConnectHost: "gateway.icloud.com", ConnectPort: 443, HeaderLen: 107, Complete: true},
		},
		{
			name: "absolute form with proxy headers",
			in:   "GET http://mesu.apple.com/a HTTP/1.1\r\nProxy-Connection: keep-alive\r\n\r\n",
			want: dissect.HTTPRequest{Method: "GET", Target: "http://mesu.apple.com/a", Version: "HTTP/1.1",
				Host: "mesu.apple.com", ProxyHeaders: true, HeaderLen: 70, Complete: true},
		},
		{
			name: "connect ipv6 literal",
			in:   "CONNECT [2001:DB8::1]:443 HTTP/1.1\r\nHost: [2001:db8::1]:443\r\n\r\n",
			want: dissect.HTTPRequest{Method: "CONNECT", Target: "[2001:DB8::1]:443", Version: "HTTP/1.1",
				Host: "2001:db8::1", HostPort: 443, ConnectHost: "2001:db8::1", ConnectPort: 443, HeaderLen: 63, Complete: true},
		},
		{
			name: "connect without port",
			in:   "CONNECT courier.push.apple.com HTTP/1.1\r\n\r\n",
			want: dissect.HTTPRequest{Method: "CONNECT", Target: "courier.push.apple.com", Version: "HTTP/1.1",
				ConnectHost: "courier.push.apple.com", HeaderLen: 43, Complete: true},
		},
		{
			name: "absolute form without host header",
			in:   "GET http://user@Mesu.Apple.com:8080/assets/x.xml?y=1 HTTP/1.1\r\nAccept: */*\r\n\r\n",
			want: dissect.HTTPRequest{Method: "GET", Target: "http://user@Mesu.Apple.com:8080/assets/x.xml?y=1", Version: "HTTP/1.1",
				Host: "mesu.apple.com", HostPort: 8080, HeaderLen: 78, Complete: true},
		},
		{
			name: "absolute form host header wins",
			in:   "GET http://a.example/ HTTP/1.1\r\nHost: b.example\r\n\r\n",
			want: dissect.HTTPRequest{Method: "GET", Target: "http://a.example/", Version: "HTTP/1.1",
				Host: "b.example", HeaderLen: 51, Complete: true},
		},
		{
			name: "lf only, case-insensitive names, obs-fold ignored, first host wins",
			in:   "GET /bag HTTP/1.0\nHOST: Init.iTunes.Apple.com\n user-agent: folded\nuser-AGENT: iTunes/12\nHost: evil.example\n\nbody",
			want: dissect.HTTPRequest{Method: "GET", Target: "/bag", Version: "HTTP/1.0",
				Host: "init.itunes.apple.com", UserAgent: "iTunes/12", HeaderLen: 108, Complete: true},
		},
		{
			name: "incomplete header block uses complete lines only",
			in:   "GET / HTTP/1.1\r\nHost: captive.apple.com\r\nUser-Agent: CaptiveNetwork",
			want: dissect.HTTPRequest{Method: "GET", Target: "/", Version: "HTTP/1.1", Host: "captive.apple.com"},
		},
		{
			name: "bad port kept in host",
			in:   "GET / HTTP/1.1\r\nHost: a.example:http\r\n\r\n",
			want: dissect.HTTPRequest{Method: "GET", Target: "/", Version: "HTTP/1.1", Host: "a.example:http", HeaderLen: 40, Complete: true},
		},
		{
			name: "port out of range kept in host",
			in:   "GET / HTTP/1.1\r\nHost: a.example:70000\r\n\r\n",
			want: dissect.HTTPRequest{Method: "GET", Target: "/", Version: "HTTP/1.1", Host: "a.example:70000", HeaderLen: 41, Complete: true},
		},
		{
			name: "hostile bytes escaped",
			in:   "GET / HTTP/1.1\r\nHost: a\x1b[2Jb\r\nUser-Agent: x\xffy\\z\r\n\r\n",
			want: dissect.HTTPRequest{Method: "GET", Target: "/", Version: "HTTP/1.1", Host: `a\027[2jb`, UserAgent: `x\255y\092z`, HeaderLen: 51, Complete: true},
		},
		{
			name:    "too many header lines",
			in:      manyHeaders,
			wantErr: dissect.ErrHTTPTooManyHeaders,
			want:    dissect.HTTPRequest{Method: "GET", Target: "/", Version: "HTTP/1.1", Host: "a"},
		},
		{
			name:    "header block over 16 KiB",
			in:      "GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + strings.Repeat("x", 17000) + "\r\n\r\n",
			wantErr: dissect.ErrHTTPHeaderTooLarge,
			want:    dissect.HTTPRequest{Method: "GET", Target: "/", Version: "HTTP/1.1", Host: "a"},
		},
		{name: "request line incomplete", in: "GET / HTTP/1.1", wantErr: dissect.ErrTruncated},
		{name: "request line over 16 KiB", in: "GET /" + strings.Repeat("a", 17000), wantErr: dissect.ErrHTTPHeaderTooLarge},
		{name: "missing version", in: "GET /\r\n\r\n", wantErr: dissect.ErrHTTPStartLine},
		{name: "bad version", in: "GET / HTTP/11\r\n\r\n", wantErr: dissect.ErrHTTPStartLine},
		{name: "space in target", in: "GET /a b HTTP/1.1\r\n\r\n", wantErr: dissect.ErrHTTPStartLine},
		{name: "control byte in method", in: "G\x01T / HTTP/1.1\r\n\r\n", wantErr: dissect.ErrHTTPStartLine},
		{name: "tls bytes", in: "\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03\n", wantErr: dissect.ErrHTTPStartLine},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := dissect.ParseHTTPRequest([]byte(tt.in))
			if tt.wantErr == nil && err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("error = %v, want %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
			if got.Complete && !strings.HasSuffix(strings.ReplaceAll(tt.in[:got.HeaderLen], "\r", ""), "\n\n") {
				t.Errorf("HeaderLen %d does not end at the blank line", got.HeaderLen)
			}
		})
	}
}

func TestParseHTTPResponse(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		wantErr error
		want    dissect.HTTPResponse
	}{
		{
			name: "407 with proxy-authenticate",
			in: "HTTP/1.1 407 Proxy Authentication Required\r\nServer: squid/5.7\r\n" +
				"Proxy-Authenticate: Negotiate\r\nproxy-authenticate: Basic realm=\"Corp Proxy\"\r\nContent-Length: 0\r\n\r\n",
			want: dissect.HTTPResponse{Version: "HTTP/1.1", Status: 407, Reason: "Proxy Authentication Required",
				HeaderLen: 161, Complete: true, Server: "squid/5.7", ProxyAuthenticate: `Negotiate, Basic realm="Corp Proxy"`},
		},
		{
			name: "200 connection established with proxy-agent",
			in:   "HTTP/1.0 200 Connection Established\r\nProxy-agent: Apache/2.4.41 (Ubuntu)\r\n\r\n",
			want: dissect.HTTPResponse{Version: "HTTP/1.0", Status: 200, Reason: "Connection Established",
				HeaderLen: 76, Complete: true, Server: "Apache/2.4.41 (Ubuntu)", ProxyAgent: true},
		},
		{
			name: "via",
			in:   "HTTP/1.1 502 Bad Gateway\r\nVia: 1.1 proxy.school.example (squid/5.7)\r\nVia: 1.1 second\r\n\r\n",
			want: dissect.HTTPResponse{Version: "HTTP/1.1", Status: 502, Reason: "Bad Gateway",
				HeaderLen: 88, Complete: true, Via: "1.1 proxy.school.example (squid/5.7)"},
		},
		{
			name: "server header preferred to proxy-agent",
			in:   "HTTP/1.1 403 Forbidden\nProxy-Agent: a\nServer: BlueCoat-Security-Appliance\n\n",
			want: dissect.HTTPResponse{Version: "HTTP/1.1", Status: 403, Reason: "Forbidden",
				HeaderLen: 75, Complete: true, Server: "BlueCoat-Security-Appliance", ProxyAgent: true},
		},
		{
			name: "empty reason without space",
			in:   "HTTP/1.1 502\r\n\r\n",
			want: dissect.HTTPResponse{Version: "HTTP/1.1", Status: 502, HeaderLen: 16, Complete: true},
		},
		{
			name: "incomplete",
			in:   "HTTP/1.1 503 Service Unavailable\r\nServer: Zscaler/6.2\r\nContent-Ty",
			want: dissect.HTTPResponse{Version: "HTTP/1.1", Status: 503, Reason: "Service Unavailable", Server: "Zscaler/6.2"},
		},
		{name: "four-digit status", in: "HTTP/1.1 2000 OK\r\n\r\n", wantErr: dissect.ErrHTTPStartLine},
		{name: "status below 100", in: "HTTP/1.1 099 X\r\n\r\n", wantErr: dissect.ErrHTTPStartLine},
		{name: "not http", in: "SSH-2.0-OpenSSH_9.6\r\n", wantErr: dissect.ErrHTTPStartLine},
		{name: "status line incomplete", in: "HTTP/1.1 200 OK", wantErr: dissect.ErrTruncated},
		{
			name:    "too many headers",
			in:      "HTTP/1.1 200 OK\r\n" + strings.Repeat("A: b\r\n", 101) + "\r\n",
			wantErr: dissect.ErrHTTPTooManyHeaders,
			want:    dissect.HTTPResponse{Version: "HTTP/1.1", Status: 200, Reason: "OK"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := dissect.ParseHTTPResponse([]byte(tt.in))
			if tt.wantErr == nil && err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("error = %v, want %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestParseHTTPRealCaptures(t *testing.T) {
	tests := []struct {
		capture       string
		reqFrame      int
		connectHost   string
		connectPort   uint16
		userAgent     string
		respFrame     int
		status        int
		server        string
		headerLenResp int
	}{
		{"ndpi-http_connect.pcap", 4, "apache.org", 443, "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:92.0) Gecko/20100101 Firefox/92.0", 11, 200, "Apache/2.4.41 (Ubuntu)", 76},
		{"sv-http_connect_tls.pcap", 5, "abc", 443, "Victor/1.0", 7, 200, "VictorServer/1.0", 45},
		{"zeek-http-connect_with_header-ipv6.pcap", 5, "secure.newegg.com", 443, "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.10; rv:41.0) Gecko/20100101 Firefox/41.0", 7, 200, "Apache/2.4.16 (Unix)", 74},
	}
	for _, tt := range tests {
		t.Run(tt.capture, func(t *testing.T) {
			payload := txtFrame(t, tt.capture, tt.reqFrame)
			if !dissect.LooksLikeHTTPRequest(payload) {
				t.Errorf("request not recognised")
			}
			req, err := dissect.ParseHTTPRequest(payload)
			if err != nil {
				t.Fatal(err)
			}
			if req.Method != "CONNECT" || req.ConnectHost != tt.connectHost || req.ConnectPort != tt.connectPort || req.UserAgent != tt.userAgent || !req.Complete {
				t.Errorf("request = %+v", req)
			}
			resp, err := dissect.ParseHTTPResponse(txtFrame(t, tt.capture, tt.respFrame))
			if err != nil {
				t.Fatal(err)
			}
			if resp.Status != tt.status || resp.Server != tt.server || !resp.Complete || resp.HeaderLen != tt.headerLenResp {
				t.Errorf("response = %+v", resp)
			}
		})
	}
}

// TestHTTPMatchesTshark compares method, target, Host, status and Server of
// every HTTP/1 head in the CONNECT captures with tshark's reading.
func TestHTTPMatchesTshark(t *testing.T) {
	txtNeedTshark(t)
	for _, name := range []string{"ndpi-http_connect.pcap", "sv-http_connect_tls.pcap", "zeek-http-connect_with_header-ipv6.pcap"} {
		path := sharedtest.Path(t, "pcaps/"+name)
		t.Run(name, func(t *testing.T) {
			mine := map[string]string{}
			txtEachPacket(t, path, func(p txtPacket) {
				if !p.tcp || len(p.payload) == 0 {
					return
				}
				frame := strconv.Itoa(p.frame)
				switch {
				case dissect.LooksLikeHTTPRequest(p.payload):
					r, err := dissect.ParseHTTPRequest(p.payload)
					if err != nil {
						t.Errorf("frame %s: %v", frame, err)
					}
					host := r.Host
					if r.HostPort != 0 {
						host += ":" + strconv.Itoa(int(r.HostPort))
					}
					target := r.Target
					if r.Method == "CONNECT" {
						target = r.ConnectHost + ":" + strconv.Itoa(int(r.ConnectPort))
					}
					mine[frame] = strings.Join([]string{r.Method, target, host, "", ""}, "|")
				case bytes.HasPrefix(p.payload, []byte("HTTP/1.")):
					r, err := dissect.ParseHTTPResponse(p.payload)
					if err != nil {
						t.Errorf("frame %s: %v", frame, err)
					}
					server := r.Server
					if !bytes.Contains(bytes.ToLower(p.payload[:r.HeaderLen]), []byte("\nserver:")) {
						server = "" // tshark's http.server is the Server header only
					}
					mine[frame] = strings.Join([]string{"", "", "", strconv.Itoa(r.Status), server}, "|")
				}
			})
			out, err := exec.Command("tshark", "-r", path, "-n", "-Y", "http.request || http.response", "-T", "fields",
				"-e", "frame.number", "-e", "http.request.method", "-e", "http.request.uri", "-e", "http.host",
				"-e", "http.response.code", "-e", "http.server").Output()
			if err != nil {
				t.Fatalf("tshark: %v", err)
			}
			seen := 0
			for line := range strings.SplitSeq(strings.TrimRight(string(out), "\n"), "\n") {
				f := strings.Split(line, "\t")
				if len(f) != 6 {
					continue
				}
				seen++
				want := strings.ToLower(strings.Join(f[1:], "|"))
				if got := strings.ToLower(mine[f[0]]); got != want {
					t.Errorf("frame %s: got %q, tshark %q", f[0], got, want)
				}
			}
			if seen != len(mine) || seen == 0 {
				t.Errorf("tshark shows %d HTTP heads, we parsed %d", seen, len(mine))
			}
		})
	}
}

func FuzzParseHTTPRequest(f *testing.F) {
	f.Add([]byte("CONNECT apache.org:443 HTTP/1.1\r\nUser-Agent: Mozilla/5.0\r\nHost: apache.org:443\r\n\r\n"))
	f.Add([]byte("CONNECT [2001:db8::1]:443 HTTP/1.1\r\nHost: [2001:db8::1]:443\r\n\r\n"))
	f.Add([]byte("GET http://user@mesu.apple.com:8080/a?b HTTP/1.1\nAccept: */*\n folded\n\n"))
	f.Add([]byte("GET / HTTP/1.1\r\nHost: captive.apple.com\r\nUser-Agent: Captive"))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := dissect.ParseHTTPRequest(b)
		if r.HeaderLen < 0 || r.HeaderLen > len(b) || r.HeaderLen > 16<<10 || (r.Complete != (r.HeaderLen > 0)) {
			t.Fatalf("HeaderLen %d, Complete %v for %d bytes", r.HeaderLen, r.Complete, len(b))
		}
		if err == nil && r.Method == "" {
			t.Fatal("no error and no method")
		}
		for _, s := range []string{r.Host, r.UserAgent, r.ConnectHost, r.Target, r.Method, r.Version} {
			for i := range len(s) {
				if s[i] < 0x20 || s[i] > 0x7e {
					t.Fatalf("unescaped byte %#x in %q", s[i], s)
				}
			}
		}
		_ = dissect.LooksLikeHTTPRequest(b)
	})
}

func FuzzParseHTTPResponse(f *testing.F) {
	f.Add([]byte("HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"x\"\r\nServer: squid\r\n\r\n"))
	f.Add([]byte("HTTP/1.0 200 Connection Established\r\nProxy-agent: Apache/2.4.41 (Ubuntu)\r\n\r\n"))
	f.Add([]byte("HTTP/1.1 502\n\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := dissect.ParseHTTPResponse(b)
		if r.HeaderLen < 0 || r.HeaderLen > len(b) || r.HeaderLen > 16<<10 || (r.Complete != (r.HeaderLen > 0)) {
			t.Fatalf("HeaderLen %d, Complete %v for %d bytes", r.HeaderLen, r.Complete, len(b))
		}
		if err == nil && (r.Status < 100 || r.Status > 999) {
			t.Fatalf("status %d accepted", r.Status)
		}
		for _, s := range []string{r.Reason, r.Server, r.ProxyAuthenticate, r.Version} {
			for i := range len(s) {
				if s[i] < 0x20 || s[i] > 0x7e {
					t.Fatalf("unescaped byte %#x in %q", s[i], s)
				}
			}
		}
	})
}

var benchConnect = []byte("CONNECT gateway.icloud.com:443 HTTP/1.1\r\nHost: gateway.icloud.com:443\r\n" +
	"User-Agent: com.apple.iCloudHelper/282 CFNetwork/1474 Darwin/23.0.0\r\nProxy-Connection: keep-alive\r\nConnection: keep-alive\r\n\r\n")

func BenchmarkParseHTTPRequest(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(benchConnect)))
	for b.Loop() {
		if _, err := dissect.ParseHTTPRequest(benchConnect); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLooksLikeHTTPRequest(b *testing.B) {
	tlsHello := []byte("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")
	b.ReportAllocs()
	for b.Loop() {
		dissect.LooksLikeHTTPRequest(benchConnect)
		dissect.LooksLikeHTTPRequest(tlsHello)
	}
}

func BenchmarkParseHTTPResponse(b *testing.B) {
	resp := []byte("HTTP/1.1 407 Proxy Authentication Required\r\nServer: squid/5.7\r\nMime-Version: 1.0\r\n" +
		"Content-Type: text/html;charset=utf-8\r\nContent-Length: 3535\r\nX-Squid-Error: ERR_CACHE_ACCESS_DENIED 0\r\n" +
		"Proxy-Authenticate: Basic realm=\"Squid proxy-caching web server\"\r\nConnection: keep-alive\r\n\r\n")
	b.ReportAllocs()
	b.SetBytes(int64(len(resp)))
	for b.Loop() {
		if _, err := dissect.ParseHTTPResponse(resp); err != nil {
			b.Fatal(err)
		}
	}
}
