package dissect

import (
	"bytes"
	"errors"
	"strings"
)

// Limits applied to HTTP/1 header blocks.
const (
	httpMaxHeaderBlock = 16 << 10 // bytes searched for the blank line
	httpMaxHeaderLines = 100      // header fields after the start line
)

// ErrHTTPStartLine reports a request or status line that is not HTTP/1.
var ErrHTTPStartLine = errors.New("dissect: http start line malformed")

// ErrHTTPHeaderTooLarge reports a header block with no blank line in its
// first 16 KiB.
var ErrHTTPHeaderTooLarge = errors.New("dissect: http header block larger than 16 KiB")

// ErrHTTPTooManyHeaders reports more than 100 header lines.
var ErrHTTPTooManyHeaders = errors.New("dissect: http header block has more than 100 lines")

// HTTPError says which part of an HTTP/1 message was at fault.
type HTTPError struct {
	Part string // "request line", "status line", "headers"
	Err  error
}

// Error describes the failure with its part.
func (e *HTTPError) Error() string { return "http " + e.Part + ": " + e.Err.Error() }

// Unwrap returns the underlying sentinel.
func (e *HTTPError) Unwrap() error { return e.Err }

// HTTPRequest holds the facts of an HTTP/1 request head. Text fields taken
// from the wire have bytes outside printable ASCII escaped as \DDD.
type HTTPRequest struct {
	Method, Target, Version string
	// Host is the Host header (or, without one, the authority of an
	// absolute-form target), lower-cased, without port and without the
	// brackets of an IPv6 literal.
	Host      string
	HostPort  uint16 // port from the Host header, 0 when absent
	UserAgent string
	// For CONNECT: the target's host (lower-cased, IPv6 without brackets)
	// and port (0 when the target has none).
	ConnectHost string
	ConnectPort uint16
	// ProxyHeaders is set when the request carries a header meant for a
	// proxy (Proxy-Authorization, Proxy-Connection).
	ProxyHeaders bool
	HeaderLen    int  // bytes up to and including the blank line; 0 when the header block is incomplete
	Complete     bool // the blank line was seen
}

// HTTPResponse holds the facts of an HTTP/1 response head.
type HTTPResponse struct {
	Version   string
	Status    int
	Reason    string
	HeaderLen int  // bytes up to and including the blank line; 0 when the header block is incomplete
	Complete  bool // the blank line was seen
	// Server is the Server header, or the Proxy-Agent header when there is
	// no Server header (proxy vendors show themselves in either).
	Server string
	// ProxyAuthenticate is the Proxy-Authenticate header (407); several
	// such headers are joined with ", ".
	ProxyAuthenticate string
	// ProxyAgent is set when a Proxy-Agent header names a proxy.
	ProxyAgent bool
	// Via is the first Via header: proxies on the way add one.
	Via string
}

// httpMethods lists the request methods LooksLikeHTTPRequest accepts.
var httpMethods = [...]string{
	"GET", "POST", "HEAD", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH",
	"PROPFIND", "PROPPATCH", "MKCOL", "COPY", "MOVE", "LOCK", "UNLOCK", "REPORT", "SEARCH",
}

// httpMethodString returns the method as a string, sharing the constant
// for known methods instead of allocating.
func httpMethodString(b []byte) string {
	for _, m := range httpMethods {
		if string(b) == m {
			return m
		}
	}
	return string(b)
}

// httpVersionString returns the version as a string without allocating for
// HTTP/1.0 and HTTP/1.1.
func httpVersionString(b []byte) string {
	switch string(b) {
	case "HTTP/1.1":
		return "HTTP/1.1"
	case "HTTP/1.0":
		return "HTTP/1.0"
	}
	return string(b)
}

// LooksLikeHTTPRequest reports whether b starts with a known HTTP method
// followed by a space. It looks at no more than the first 10 bytes.
func LooksLikeHTTPRequest(b []byte) bool {
	for _, m := range httpMethods {
		if len(b) > len(m) && b[len(m)] == ' ' && string(b[:len(m)]) == m {
			return true
		}
	}
	return false
}

// ParseHTTPRequest parses an HTTP/1 request head. It accepts an incomplete
// header block (Complete false, HeaderLen 0) and uses the complete lines it
// has; an unterminated last line is ignored. It fails when the request line
// is incomplete or not HTTP/1, when no blank line appears in the first
// 16 KiB, or after 100 header lines; in the last two cases the fields
// gathered so far are returned with the error.
func ParseHTTPRequest(b []byte) (HTTPRequest, error) {
	var r HTTPRequest
	h := newHTTPHead(b)
	line, ok := h.startLine()
	if !ok {
		return r, &HTTPError{Part: "request line", Err: h.startErr()}
	}
	sp1 := bytes.IndexByte(line, ' ')
	if sp1 <= 0 {
		return r, &HTTPError{Part: "request line", Err: ErrHTTPStartLine}
	}
	rest := line[sp1+1:]
	sp2 := bytes.LastIndexByte(rest, ' ')
	if sp2 <= 0 {
		return r, &HTTPError{Part: "request line", Err: ErrHTTPStartLine}
	}
	method, target, version := line[:sp1], rest[:sp2], rest[sp2+1:]
	if !isHTTPToken(method) || !isHTTPVersion(version) || !isHTTPTarget(target) {
		return r, &HTTPError{Part: "request line", Err: ErrHTTPStartLine}
	}
	r.Method = httpMethodString(method)
	r.Target = string(target)
	r.Version = httpVersionString(version)
	if r.Method == "CONNECT" {
		r.ConnectHost, r.ConnectPort = splitHostPort(target)
	}

	sawHost := false
	for {
		name, value, ok := h.next()
		if !ok {
			break
		}
		switch {
		case !sawHost && asciiEqualFold(name, "host"):
			sawHost = true
			r.Host, r.HostPort = splitHostPort(value)
		case r.UserAgent == "" && asciiEqualFold(name, "user-agent"):
			r.UserAgent = escapedString(value)
		case asciiEqualFold(name, "proxy-authorization") || asciiEqualFold(name, "proxy-connection"):
			r.ProxyHeaders = true
		}
	}
	if !sawHost {
		if auth, ok := absoluteAuthority(target); ok {
			r.Host, r.HostPort = splitHostPort(auth)
		}
	}
	r.HeaderLen, r.Complete = h.headerLen, h.complete
	if h.err != nil {
		return r, &HTTPError{Part: "headers", Err: h.err}
	}
	return r, nil
}

// ParseHTTPResponse parses an HTTP/1 response head, with the same rules for
// incomplete and oversized header blocks as ParseHTTPRequest.
func ParseHTTPResponse(b []byte) (HTTPResponse, error) {
	var r HTTPResponse
	h := newHTTPHead(b)
	line, ok := h.startLine()
	if !ok {
		return r, &HTTPError{Part: "status line", Err: h.startErr()}
	}
	// status-line = HTTP-version SP 3DIGIT SP [reason]; some servers omit
	// the second space when the reason is empty.
	if len(line) < 12 || line[8] != ' ' || !isHTTPVersion(line[:8]) ||
		!isDigit(line[9]) || !isDigit(line[10]) || !isDigit(line[11]) ||
		line[9] == '0' || (len(line) > 12 && line[12] != ' ') {
		return r, &HTTPError{Part: "status line", Err: ErrHTTPStartLine}
	}
	r.Version = httpVersionString(line[:8])
	r.Status = int(line[9]-'0')*100 + int(line[10]-'0')*10 + int(line[11]-'0')
	if len(line) > 13 {
		r.Reason = escapedString(line[13:])
	}
	var first, auth, agent []byte
	for {
		name, value, ok := h.next()
		if !ok {
			break
		}
		switch {
		case r.Server == "" && asciiEqualFold(name, "server"):
			r.Server = escapedString(value)
		case agent == nil && asciiEqualFold(name, "proxy-agent"):
			agent = value
			r.ProxyAgent = true
		case r.Via == "" && asciiEqualFold(name, "via"):
			r.Via = escapedString(value)
		case asciiEqualFold(name, "proxy-authenticate") && len(value) > 0:
			switch {
			case first == nil:
				first = value // the usual single challenge needs no buffer
			case auth == nil:
				auth = appendEscaped(make([]byte, 0, 2*(len(first)+len(value))), first, false)
				fallthrough
			default:
				auth = append(auth, ", "...)
				auth = appendEscaped(auth, value, false)
			}
		}
	}
	if r.Server == "" && len(agent) > 0 {
		r.Server = escapedString(agent)
	}
	if auth != nil {
		r.ProxyAuthenticate = string(auth)
	} else if first != nil {
		r.ProxyAuthenticate = escapedString(first)
	}
	r.HeaderLen, r.Complete = h.headerLen, h.complete
	if h.err != nil {
		return r, &HTTPError{Part: "headers", Err: h.err}
	}
	return r, nil
}

// httpHead walks the lines of a header block. Lines end in LF with an
// optional CR before it.
type httpHead struct {
	b         []byte // input, cut at the 16 KiB cap
	capped    bool   // the input was longer than the cap
	pos       int
	lines     int
	headerLen int
	complete  bool
	err       error
}

func newHTTPHead(b []byte) httpHead {
	h := httpHead{b: b}
	if len(b) > httpMaxHeaderBlock {
		h.b, h.capped = b[:httpMaxHeaderBlock], true
	}
	return h
}

// line returns the next complete line without its line ending.
func (h *httpHead) line() ([]byte, bool) {
	i := bytes.IndexByte(h.b[h.pos:], '\n')
	if i < 0 {
		return nil, false
	}
	l := h.b[h.pos : h.pos+i]
	h.pos += i + 1
	if n := len(l); n > 0 && l[n-1] == '\r' {
		l = l[:n-1]
	}
	return l, true
}

// startLine returns the request or status line.
func (h *httpHead) startLine() ([]byte, bool) {
	return h.line()
}

// startErr says why startLine found no line.
func (h *httpHead) startErr() error {
	if h.capped {
		return ErrHTTPHeaderTooLarge
	}
	return ErrTruncated
}

// next returns the next header field. It returns false at the blank line,
// at the end of the complete lines, or on exceeding a cap (setting h.err).
// Continuation lines (obs-fold) and lines without a colon are skipped.
func (h *httpHead) next() (name, value []byte, ok bool) {
	for {
		l, ok := h.line()
		if !ok {
			if h.capped {
				h.err = ErrHTTPHeaderTooLarge
			}
			return nil, nil, false
		}
		if len(l) == 0 {
			h.complete = true
			h.headerLen = h.pos
			return nil, nil, false
		}
		h.lines++
		if h.lines > httpMaxHeaderLines {
			h.err = ErrHTTPTooManyHeaders
			return nil, nil, false
		}
		if l[0] == ' ' || l[0] == '\t' {
			continue // obs-fold
		}
		c := bytes.IndexByte(l, ':')
		if c <= 0 {
			continue
		}
		return l[:c], trimOWS(l[c+1:]), true
	}
}

// trimOWS removes spaces and tabs around a field value.
func trimOWS(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// asciiEqualFold reports whether b equals the lower-case ASCII string s,
// ignoring ASCII case.
func asciiEqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(b) {
		c := b[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// isHTTPVersion accepts "HTTP/" DIGIT "." DIGIT.
func isHTTPVersion(b []byte) bool {
	return len(b) == 8 && string(b[:5]) == "HTTP/" && isDigit(b[5]) && b[6] == '.' && isDigit(b[7])
}

// isHTTPToken accepts an RFC 9110 token.
func isHTTPToken(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', isDigit(c):
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// isHTTPTarget accepts a non-empty target of visible ASCII.
func isHTTPTarget(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if c <= 0x20 || c > 0x7e {
			return false
		}
	}
	return true
}

// escapedString returns b as a string with bytes outside printable ASCII
// escaped as \DDD.
func escapedString(b []byte) string {
	for _, c := range b {
		if c == '\\' || c < 0x20 || c > 0x7e {
			return string(appendEscaped(make([]byte, 0, len(b)+16), b, false))
		}
	}
	return string(b)
}

// absoluteAuthority returns the authority of an absolute-form target
// ("http://user@host:port/path" gives "host:port").
func absoluteAuthority(target []byte) ([]byte, bool) {
	i := bytes.Index(target, []byte("://"))
	if i <= 0 || !isHTTPToken(target[:i]) {
		return nil, false
	}
	a := target[i+3:]
	if j := bytes.IndexAny(a, "/?#"); j >= 0 {
		a = a[:j]
	}
	if j := bytes.LastIndexByte(a, '@'); j >= 0 {
		a = a[j+1:]
	}
	return a, len(a) > 0
}

// splitHostPort splits "host", "host:port", "[v6]" or "[v6]:port" into a
// lower-cased, escaped host and a port. A port that is not a decimal number
// up to 65535 leaves the whole value as the host and 0 as the port.
func splitHostPort(v []byte) (string, uint16) {
	host, port := v, []byte(nil)
	if len(v) > 0 && v[0] == '[' {
		end := bytes.IndexByte(v, ']')
		if end > 0 {
			host = v[1:end]
			switch rest := v[end+1:]; {
			case len(rest) == 0:
			case rest[0] == ':':
				port = rest[1:]
			default:
				host, port = v, nil
			}
		}
	} else if c := bytes.LastIndexByte(v, ':'); c >= 0 && bytes.IndexByte(v[:c], ':') < 0 {
		host, port = v[:c], v[c+1:]
	}
	var p uint16
	if port != nil {
		n, ok := parsePort(port)
		if !ok {
			host = v
		}
		p = n
	}
	return lowerEscapedString(host), p
}

// parsePort parses 1 to 5 decimal digits up to 65535.
func parsePort(b []byte) (uint16, bool) {
	if len(b) == 0 || len(b) > 5 {
		return 0, false
	}
	n := 0
	for _, c := range b {
		if !isDigit(c) {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	if n > 0xffff {
		return 0, false
	}
	return uint16(n), true
}

// lowerEscapedString lower-cases ASCII letters and escapes bytes outside
// printable ASCII.
func lowerEscapedString(b []byte) string {
	for _, c := range b {
		if (c >= 'A' && c <= 'Z') || c == '\\' || c < 0x20 || c > 0x7e {
			var buf [256]byte
			return string(appendLower(buf[:0], b))
		}
	}
	return string(b)
}

// appendLower is appendEscaped with lower-casing but without escaping dots
// and spaces (which are not label separators here).
func appendLower(dst, src []byte) []byte {
	for _, c := range src {
		switch {
		case c >= 'A' && c <= 'Z':
			dst = append(dst, c+('a'-'A'))
		case c == '\\' || c < 0x20 || c > 0x7e:
			dst = append(dst, '\\', '0'+c/100, '0'+c/10%10, '0'+c%10)
		default:
			dst = append(dst, c)
		}
	}
	return dst
}
