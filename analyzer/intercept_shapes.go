package analyzer

import (
	"bufio"
	_ "embed"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"orchard/dissect"
)

// A server shape is orchard's own fingerprint of a TLS server's answer: the
// negotiated version, the cipher suite, the key-share group, the
// ServerHello's extension types in the order sent and the ALPN chosen, as
//
//	13:1301:001d:002b-0033:h2
//
// (hex, "-" for an absent group, ALPN or extension list). Beside it the
// server's first flight is kept as the sizes of its first records after
// the ServerHello (change-cipher-spec records left out): in TLS 1.3 they
// are the encrypted EncryptedExtensions, Certificate, CertificateVerify
// and Finished, whose sizes follow the certificate chain's.
//
// The baseline (servershapes.tsv) lists, per Apple host, the shapes and
// flights its real servers were seen to answer with. It is learned from
// captures trusted to be free of inspection: the shared public captures
// (go test ./analyzer -run ServerShapes -update-shapes), or an admin's own
// (Config.LearnShapes).

//go:embed servershapes.tsv
var defaultShapesTSV string

// maxShapeFlight is how many first-flight records a shape keeps.
const maxShapeFlight = 4

// maxShapeRows caps a baseline's rows (hosts × shapes × flights), so that a
// hostile file or capture cannot grow it without bound.
const maxShapeRows = 1 << 16

// flightSlack is how far (in bytes) a first flight's total may differ from
// a learned one and still match: signatures vary by a few bytes.
const flightSlack = 24

// ShapeBaseline is a set of known-good server shapes per host. The zero
// value is not usable; make one with NewShapeBaseline or ParseShapeBaseline.
type ShapeBaseline struct {
	hosts map[string]*hostShapes
	all   map[string]bool // every shape of every host
	rows  int
	// Source names what is being learned from (a capture's name), for
	// the rows observed next.
	Source string
}

type hostShapes struct {
	shapes  map[string]int // shape → flows seen
	flights []shapeFlight
	tls13   bool // the host was seen answering TLS 1.3
}

type shapeFlight struct {
	shape  string
	sizes  [maxShapeFlight]uint16
	n      uint8
	flows  int
	source string
}

func (s *shapeFlight) total() int {
	t := 0
	for _, v := range s.sizes[:s.n] {
		t += int(v)
	}
	return t
}

// NewShapeBaseline returns an empty baseline, for learning.
func NewShapeBaseline() *ShapeBaseline {
	return &ShapeBaseline{hosts: map[string]*hostShapes{}, all: map[string]bool{}}
}

// DefaultShapeBaseline returns the embedded baseline of Apple's servers.
func DefaultShapeBaseline() *ShapeBaseline {
	b, err := ParseShapeBaseline(strings.NewReader(defaultShapesTSV), "servershapes.tsv")
	if err != nil {
		panic(err) // the embedded file is tested
	}
	return b
}

// Hosts returns the number of hosts in the baseline.
func (b *ShapeBaseline) Hosts() int { return len(b.hosts) }

// observe adds one flow's shape and flight, seen in source.
func (b *ShapeBaseline) observe(host, shape string, fl *shapeFlight, source string) {
	if host == "" || shape == "" {
		return
	}
	if source == "" {
		source = b.Source
	}
	source = strings.Map(func(r rune) rune {
		if r == '\t' || r == '\n' || r == '\r' || r == ' ' {
			return '_'
		}
		return r
	}, source)
	if source == "" {
		source = "-"
	}
	h := b.hosts[host]
	if h == nil {
		if b.rows >= maxShapeRows {
			return
		}
		h = &hostShapes{shapes: map[string]int{}}
		b.hosts[host] = h
	}
	if _, ok := h.shapes[shape]; !ok {
		b.rows++
	}
	h.shapes[shape]++
	b.all[shape] = true
	h.tls13 = h.tls13 || strings.HasPrefix(shape, "13:")
	if fl == nil || fl.n == 0 {
		return
	}
	for i := range h.flights {
		g := &h.flights[i]
		if g.shape == shape && g.n == fl.n && g.sizes == fl.sizes {
			g.flows++
			return
		}
	}
	if b.rows >= maxShapeRows {
		return
	}
	b.rows++
	nf := *fl
	nf.shape, nf.flows, nf.source = shape, 1, source
	h.flights = append(h.flights, nf)
}

// shapeCheck is what the baseline says of one server answer.
type shapeCheck struct {
	known     bool // the host is in the baseline
	tls13     bool // the host was seen answering TLS 1.3
	shapeOK   bool // the shape is one the host (or, unknown, any Apple host) answered with
	flightOK  bool // the flight matches a learned one (true when nothing to compare)
	wantTotal int  // the nearest learned flight total, when flightOK is false
}

func (b *ShapeBaseline) check(host, shape string, fl *shapeFlight) shapeCheck {
	h := b.hosts[host]
	if h == nil {
		return shapeCheck{shapeOK: b.all[shape], flightOK: true}
	}
	c := shapeCheck{known: true, tls13: h.tls13, shapeOK: h.shapes[shape] > 0, flightOK: true}
	if fl == nil || fl.n == 0 || !c.shapeOK {
		return c
	}
	got, best, compared := fl.total(), -1, false
	for i := range h.flights {
		g := &h.flights[i]
		if g.shape != shape {
			continue
		}
		compared = true
		d := g.total() - got
		if d < 0 {
			d = -d
		}
		if d <= flightSlack {
			return c
		}
		if best < 0 || d < abs(best-got) {
			best = g.total()
		}
	}
	if compared {
		c.flightOK, c.wantTotal = false, best
	}
	return c
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// serverShape returns the shape of a ServerHello ("" for nil).
func serverShape(sh *dissect.ServerHello) string {
	if sh == nil {
		return ""
	}
	const hexd = "0123456789abcdef"
	var b strings.Builder
	switch sh.Version {
	case 0x0304:
		b.WriteString("13")
	case 0x0303:
		b.WriteString("12")
	case 0x0302:
		b.WriteString("11")
	case 0x0301:
		b.WriteString("10")
	default:
		b.WriteString("xx")
	}
	hex4 := func(v uint16) {
		b.WriteByte(hexd[v>>12])
		b.WriteByte(hexd[v>>8&15])
		b.WriteByte(hexd[v>>4&15])
		b.WriteByte(hexd[v&15])
	}
	b.WriteByte(':')
	hex4(sh.CipherSuite)
	b.WriteByte(':')
	if sh.Group == 0 {
		b.WriteByte('-')
	} else {
		hex4(sh.Group)
	}
	b.WriteByte(':')
	if len(sh.Extensions) == 0 {
		b.WriteByte('-')
	}
	for i, e := range sh.Extensions {
		if i > 0 {
			b.WriteByte('-')
		}
		hex4(e)
	}
	b.WriteByte(':')
	alpn := sh.ALPN
	if alpn == "" || strings.ContainsAny(alpn, ":\t\n\r ") {
		alpn = "-"
	}
	b.WriteString(alpn)
	return b.String()
}

// ParseShapeBaseline reads a baseline in the TSV format WriteTSV writes:
// host, shape, first-flight record sizes (comma-separated, or "-"), flows,
// source; "#" starts a comment line. Errors name the file and the line.
func ParseShapeBaseline(r io.Reader, name string) (*ShapeBaseline, error) {
	b := NewShapeBaseline()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 64<<10)
	line := 0
	for sc.Scan() {
		line++
		t := strings.TrimRight(sc.Text(), "\r")
		if t == "" || t[0] == '#' {
			continue
		}
		col := strings.Split(t, "\t")
		if len(col) != 5 {
			return nil, fmt.Errorf("%s:%d: want 5 tab-separated columns, got %d", name, line, len(col))
		}
		host, shape := strings.ToLower(col[0]), col[1]
		if host == "" || !validShape(shape) {
			return nil, fmt.Errorf("%s:%d: bad host or shape %q", name, line, shape)
		}
		var fl shapeFlight
		if col[2] != "-" {
			parts := strings.Split(col[2], ",")
			if len(parts) > maxShapeFlight {
				return nil, fmt.Errorf("%s:%d: more than %d flight sizes", name, line, maxShapeFlight)
			}
			for i, p := range parts {
				v, err := strconv.ParseUint(p, 10, 16)
				if err != nil {
					return nil, fmt.Errorf("%s:%d: flight size %q: %w", name, line, p, err)
				}
				fl.sizes[i] = uint16(v)
			}
			fl.n = uint8(len(parts))
		}
		flows, err := strconv.Atoi(col[3])
		if err != nil || flows < 1 {
			return nil, fmt.Errorf("%s:%d: bad flow count %q", name, line, col[3])
		}
		if b.rows >= maxShapeRows {
			return nil, fmt.Errorf("%s:%d: more than %d rows", name, line, maxShapeRows)
		}
		b.observe(host, shape, &fl, col[4])
		h := b.hosts[host]
		h.shapes[shape] += flows - 1
		for i := range h.flights {
			if g := &h.flights[i]; g.shape == shape && g.sizes == fl.sizes && g.n == fl.n {
				g.flows += flows - 1
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s:%d: %w", name, line+1, err)
	}
	return b, nil
}

// validShape checks a shape's syntax: five colon-separated fields.
func validShape(s string) bool {
	if len(s) > 512 {
		return false
	}
	f := strings.Split(s, ":")
	if len(f) != 5 || len(f[0]) != 2 || len(f[1]) != 4 {
		return false
	}
	return !strings.ContainsAny(s, "\t\n\r ")
}

// WriteTSV writes the baseline, sorted, in the format ParseShapeBaseline reads.
func (b *ShapeBaseline) WriteTSV(w io.Writer) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintln(bw, "# orchard server shapes: host, shape (version:cipher:group:extensions:alpn), first-flight record sizes, flows, source")
	hosts := make([]string, 0, len(b.hosts))
	for h := range b.hosts {
		hosts = append(hosts, h)
	}
	sort.Strings(hosts)
	for _, host := range hosts {
		h := b.hosts[host]
		shapes := make([]string, 0, len(h.shapes))
		for s := range h.shapes {
			shapes = append(shapes, s)
		}
		sort.Strings(shapes)
		for _, s := range shapes {
			var rows []string
			left := h.shapes[s]
			for i := range h.flights {
				g := &h.flights[i]
				if g.shape != s {
					continue
				}
				left -= g.flows
				sizes := make([]string, g.n)
				for k := range sizes {
					sizes[k] = strconv.Itoa(int(g.sizes[k]))
				}
				rows = append(rows, fmt.Sprintf("%s\t%s\t%s\t%d\t%s", host, s, strings.Join(sizes, ","), g.flows, g.source))
			}
			if left > 0 || len(rows) == 0 {
				rows = append(rows, fmt.Sprintf("%s\t%s\t-\t%d\t%s", host, s, max(left, 1), "-"))
			}
			sort.Strings(rows)
			for _, r := range rows {
				fmt.Fprintln(bw, r)
			}
		}
	}
	return bw.Flush()
}
