package catalog

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"
)

// columns are the catalog file's column names, in order.
var columns = [...]string{"section", "host", "ports", "protocols", "os", "description", "proxy", "editions", "note"}

// Limits on a catalog file, so that a broken or hostile file cannot exhaust
// memory.
const (
	MaxLineBytes = 64 << 10 // longest line
	MaxRows      = 100_000  // rows per file
	MaxPorts     = 1024     // ports per row
	MaxProtocols = 8        // protocols per row
	MaxEditions  = 32       // editions per row
)

// ErrSyntax is wrapped by every *ParseError.
var ErrSyntax = errors.New("catalog syntax error")

// ParseError reports a malformed catalog line.
type ParseError struct {
	File   string // name given to Parse
	Line   int    // 1-based
	Column string // column name, or "" for the line as a whole
	Msg    string
}

// Error formats the error as `file:line: column: message`.
func (e *ParseError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	b.WriteByte(':')
	b.WriteString(strconv.Itoa(e.Line))
	b.WriteString(": ")
	if e.Column != "" {
		b.WriteString(e.Column)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Unwrap returns ErrSyntax.
func (e *ParseError) Unwrap() error { return ErrSyntax }

// Parse reads a catalog file: a header line naming the columns (section,
// host, ports, protocols, os, description, proxy, editions, note; trailing
// ones may be left out), then one tab-separated row per line; a row may omit
// trailing empty cells. Blank lines and lines starting with '#' are skipped.
// Each row's Source is "name:line". Errors name the file and line.
func Parse(r io.Reader, name string) ([]Entry, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), MaxLineBytes)
	var (
		out    []Entry
		ncol   int // columns in the header; 0 until it is read
		lineNo int
		seen   = make(map[[2]string]int)
	)
	perr := func(col, format string, args ...any) error {
		return &ParseError{File: name, Line: lineNo, Column: col, Msg: fmt.Sprintf(format, args...)}
	}
	for sc.Scan() {
		lineNo++
		line := sc.Text()
		if lineNo == 1 {
			line = strings.TrimPrefix(line, "\ufeff")
		}
		line = strings.TrimSuffix(line, "\r")
		if t := strings.TrimSpace(line); t == "" || t[0] == '#' {
			continue
		}
		fields := strings.Split(line, "\t")
		if ncol == 0 {
			n, err := checkHeader(fields)
			if err != "" {
				return nil, perr("", "%s", err)
			}
			ncol = n
			continue
		}
		if len(fields) > ncol {
			return nil, perr("", "%d columns, the header has %d", len(fields), ncol)
		}
		if len(out) >= MaxRows {
			return nil, perr("", "more than %d rows", MaxRows)
		}
		var col [len(columns)]string
		for i, f := range fields {
			col[i] = strings.TrimSpace(f)
		}
		e, column, msg := parseRow(col)
		if msg != "" {
			return nil, perr(column, "%s", msg)
		}
		k := rowKey(&e)
		if first, dup := seen[k]; dup {
			return nil, perr("host", "duplicate row for section %q and host %q (first on line %d)", e.Section, e.Host, first)
		}
		seen[k] = lineNo
		e.Source = name + ":" + strconv.Itoa(lineNo)
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		lineNo++
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, perr("", "line longer than %d bytes", MaxLineBytes)
		}
		return nil, fmt.Errorf("%s:%d: read: %w", name, lineNo, err)
	}
	if ncol == 0 {
		return nil, &ParseError{File: name, Line: lineNo, Msg: "no header line"}
	}
	return out, nil
}

// checkHeader validates a header line and returns its column count, or a
// message.
func checkHeader(fields []string) (int, string) {
	if len(fields) < 2 || len(fields) > len(columns) {
		return 0, fmt.Sprintf("header: want the tab-separated columns %s", strings.Join(columns[:], ", "))
	}
	for i, f := range fields {
		if !strings.EqualFold(strings.TrimSpace(f), columns[i]) {
			return 0, fmt.Sprintf("header: column %d is %q, want %q", i+1, f, columns[i])
		}
	}
	return len(fields), ""
}

// parseRow converts trimmed cells into an Entry, or returns the failing
// column and a message.
func parseRow(col [len(columns)]string) (e Entry, column, msg string) {
	e.Section = col[0]
	if e.Section == "" {
		return e, "section", "empty"
	}
	if msg := checkHost(col[1]); msg != "" {
		return e, "host", msg
	}
	e.Host = col[1]
	ports, msg := parsePorts(col[2])
	if msg != "" {
		return e, "ports", msg
	}
	e.Ports = ports
	protos, msg := parseProtocols(col[3])
	if msg != "" {
		return e, "protocols", msg
	}
	e.Protocols = protos
	e.OS = col[4]
	e.Description = col[5]
	switch strings.ToLower(col[6]) {
	case "yes":
		e.Proxy = "yes"
	case "no":
		e.Proxy = "no"
	case "", "not stated":
		e.Proxy = ""
	default:
		return e, "proxy", fmt.Sprintf("want yes, no or \"not stated\", got %q", col[6])
	}
	eds, msg := splitList(col[7], MaxEditions)
	if msg != "" {
		return e, "editions", msg
	}
	e.Editions = eds
	e.Note = col[8]
	return e, "", ""
}

// checkHost validates a host pattern: a name, "*.name" or a masked CIDR.
func checkHost(h string) string {
	switch {
	case h == "":
		return "empty"
	case strings.Contains(h, "/"):
		before, _, _ := strings.Cut(h, "/")
		if _, err := netip.ParseAddr(before); err != nil {
			return fmt.Sprintf("bad host %q: a path is not part of a host; put it in the note", h)
		}
		p, err := netip.ParsePrefix(h)
		if err != nil {
			return fmt.Sprintf("bad CIDR %q", h)
		}
		if p != p.Masked() {
			return fmt.Sprintf("CIDR %q has bits set beyond /%d (want %s)", h, p.Bits(), p.Masked())
		}
		return ""
	}
	if _, err := netip.ParseAddr(h); err == nil {
		return fmt.Sprintf("bad host %q: write a single address as a CIDR (/32 or /128)", h)
	}
	name := strings.TrimSuffix(h, ".")
	if rest, ok := strings.CutPrefix(name, "*."); ok {
		name = rest
	}
	if !validName(name) {
		return fmt.Sprintf("bad host %q: want a name, *.name or a CIDR", h)
	}
	return ""
}

func parsePorts(s string) ([]uint16, string) {
	if s == "" {
		return nil, ""
	}
	if n := strings.Count(s, ",") + 1; n > MaxPorts {
		return nil, fmt.Sprintf("more than %d ports", MaxPorts)
	}
	var out []uint16
	for f := range strings.SplitSeq(s, ",") {
		f = strings.TrimSpace(f)
		n, err := strconv.ParseUint(f, 10, 16)
		if err != nil || n == 0 {
			return nil, fmt.Sprintf("bad number %q", f)
		}
		out = append(out, uint16(n))
	}
	return out, ""
}

func parseProtocols(s string) ([]string, string) {
	items, msg := splitList(s, MaxProtocols)
	if msg != "" {
		return nil, msg
	}
	for i, p := range items {
		switch up := strings.ToUpper(p); up {
		case "TCP", "UDP", "SSH":
			items[i] = up
		default:
			return nil, fmt.Sprintf("unknown protocol %q (want TCP, UDP or SSH)", p)
		}
	}
	return items, ""
}

// splitList splits a comma list, trimming items and skipping empty ones.
func splitList(s string, max int) ([]string, string) {
	if s == "" {
		return nil, ""
	}
	if n := strings.Count(s, ",") + 1; n > max {
		return nil, fmt.Sprintf("more than %d items", max)
	}
	var out []string
	for f := range strings.SplitSeq(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out, ""
}
