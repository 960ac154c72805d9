package shapes

import (
	"bufio"
	_ "embed"
	"fmt"
	"io"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"

	"orchard/dissect"
)

//go:embed servershapes.tsv
var defaultShapesTSV string

// MaxFlight is how many first-flight records a shape keeps.
const MaxFlight = 4

// maxShapeRows caps a baseline's rows (hosts × shapes × flights), so that a
// hostile file or capture cannot grow it without bound.
const maxShapeRows = 1 << 16

// flightSlack is how far (in bytes) a first flight's total may differ from
// a learned one and still match: signatures vary by a few bytes.
const flightSlack = 24

// Baseline is a set of known-good server shapes per host. The zero
// value is not usable; make one with New or Parse.
type Baseline struct {
	hosts map[string]*hostShapes
	all   map[string]bool // every shape of every host
	rows  int
	// Source names what is being learned from (a capture's name), for
	// the rows observed next.
	Source string
}

type hostShapes struct {
	shapes  map[string]int // shape → flows seen
	flights []Flight
	tls13   bool // the host was seen answering TLS 1.3
}

// Flight is a server's first flight as a baseline keeps it: the sizes of
// its first N records after the ServerHello.
type Flight struct {
	Sizes [MaxFlight]uint16
	N     uint8

	shape  string // what the baseline learned it with
	flows  int
	source string
}

// Total is the flight's size in bytes.
func (s *Flight) Total() int {
	t := 0
	for _, v := range s.Sizes[:s.N] {
		t += int(v)
	}
	return t
}

// New returns an empty baseline, for learning.
func New() *Baseline {
	return &Baseline{hosts: map[string]*hostShapes{}, all: map[string]bool{}}
}

// Default returns the embedded baseline of Apple's servers.
func Default() *Baseline {
	b, err := Parse(strings.NewReader(defaultShapesTSV), "servershapes.tsv")
	if err != nil {
		panic(err) // the embedded file is tested
	}
	return b
}

// Hosts returns the number of hosts in the baseline.
func (b *Baseline) Hosts() int { return len(b.hosts) }

// Observe adds one flow's shape and its first flight (nil when unseen),
// seen in source (the baseline's Source when empty).
func (b *Baseline) Observe(host, shape string, fl *Flight, source string) {
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
	h := b.host(host)
	if h == nil {
		return
	}
	if _, ok := h.shapes[shape]; !ok {
		b.rows++
	}
	h.shapes[shape]++
	b.all[shape] = true
	h.tls13 = h.tls13 || strings.HasPrefix(shape, "13:")
	if fl == nil || fl.N == 0 {
		return
	}
	for i := range h.flights {
		g := &h.flights[i]
		if g.shape == shape && g.N == fl.N && g.Sizes == fl.Sizes {
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

// Result is what the baseline says of one server answer.
type Result struct {
	Known     bool // the host is in the baseline
	TLS13     bool // the host was seen answering TLS 1.3
	ShapeOK   bool // the shape is one the host (or, unknown, any Apple host) answered with
	FlightOK  bool // the flight matches a learned one (true when nothing to compare)
	WantTotal int  // the nearest learned flight total, when FlightOK is false
}

// Check compares a server's answer to host, its shape and first flight
// (nil when unseen), with the baseline.
func (b *Baseline) Check(host, shape string, fl *Flight) Result {
	h := b.hosts[host]
	if h == nil {
		return Result{ShapeOK: b.all[shape], FlightOK: true}
	}
	c := Result{Known: true, TLS13: h.tls13, ShapeOK: h.shapes[shape] > 0, FlightOK: true}
	if fl == nil || fl.N == 0 || !c.ShapeOK {
		return c
	}
	got, best, compared := fl.Total(), -1, false
	for i := range h.flights {
		g := &h.flights[i]
		if g.shape != shape {
			continue
		}
		compared = true
		d := g.Total() - got
		if d < 0 {
			d = -d
		}
		if d <= flightSlack {
			return c
		}
		if best < 0 || d < abs(best-got) {
			best = g.Total()
		}
	}
	if compared {
		c.FlightOK, c.WantTotal = false, best
	}
	return c
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// Of returns the shape of a ServerHello ("" for nil).
func Of(sh *dissect.ServerHello) string {
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

// Parse reads a baseline in the TSV format WriteTSV writes:
// host, shape, first-flight record sizes (comma-separated, or "-"), flows,
// source; "#" starts a comment line. Errors name the file and the line.
func Parse(r io.Reader, name string) (*Baseline, error) {
	b := New()
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
		var fl Flight
		if col[2] != "-" {
			parts := strings.Split(col[2], ",")
			if len(parts) > MaxFlight {
				return nil, fmt.Errorf("%s:%d: more than %d flight sizes", name, line, MaxFlight)
			}
			for i, p := range parts {
				v, err := strconv.ParseUint(p, 10, 16)
				if err != nil {
					return nil, fmt.Errorf("%s:%d: flight size %q: %w", name, line, p, err)
				}
				fl.Sizes[i] = uint16(v)
			}
			fl.N = uint8(len(parts))
		}
		flows, err := strconv.Atoi(col[3])
		if err != nil || flows < 1 {
			return nil, fmt.Errorf("%s:%d: bad flow count %q", name, line, col[3])
		}
		if b.rows >= maxShapeRows {
			return nil, fmt.Errorf("%s:%d: more than %d rows", name, line, maxShapeRows)
		}
		b.Observe(host, shape, &fl, col[4])
		h := b.hosts[host]
		h.shapes[shape] += flows - 1
		for i := range h.flights {
			if g := &h.flights[i]; g.shape == shape && g.Sizes == fl.Sizes && g.N == fl.N {
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

// WriteTSV writes the baseline, sorted, in the format Parse reads.
func (b *Baseline) WriteTSV(w io.Writer) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintln(bw, "# orchard server shapes: host, shape (version:cipher:group:extensions:alpn), first-flight record sizes, flows, source")
	for _, host := range slices.Sorted(maps.Keys(b.hosts)) {
		h := b.hosts[host]
		for _, s := range slices.Sorted(maps.Keys(h.shapes)) {
			var rows []string
			left := h.shapes[s]
			for i := range h.flights {
				g := &h.flights[i]
				if g.shape != s {
					continue
				}
				left -= g.flows
				sizes := make([]string, g.N)
				for k := range sizes {
					sizes[k] = strconv.Itoa(int(g.Sizes[k]))
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

// Merge adds o's shapes and first flights, with their flow counts, to b:
// an admin's own baseline beside the embedded one. Hosts are taken in
// order, so what the row cap keeps out does not depend on map order.
func (b *Baseline) Merge(o *Baseline) {
	for _, host := range slices.Sorted(maps.Keys(o.hosts)) {
		oh := o.hosts[host]
		h := b.host(host)
		if h == nil {
			return
		}
		for _, s := range slices.Sorted(maps.Keys(oh.shapes)) {
			if _, ok := h.shapes[s]; !ok {
				if b.rows >= maxShapeRows {
					continue
				}
				b.rows++
			}
			h.shapes[s] += oh.shapes[s]
			b.all[s] = true
		}
		h.tls13 = h.tls13 || oh.tls13
	next:
		for _, of := range oh.flights {
			if _, ok := h.shapes[of.shape]; !ok {
				continue // its shape did not fit under the cap
			}
			for i := range h.flights {
				if g := &h.flights[i]; g.shape == of.shape && g.N == of.N && g.Sizes == of.Sizes {
					g.flows += of.flows
					continue next
				}
			}
			if b.rows >= maxShapeRows {
				continue
			}
			b.rows++
			h.flights = append(h.flights, of)
		}
	}
}

// host returns the host's shapes, added when new; nil when a new host
// would pass the row cap.
func (b *Baseline) host(name string) *hostShapes {
	h := b.hosts[name]
	if h == nil {
		if b.rows >= maxShapeRows {
			return nil
		}
		h = &hostShapes{shapes: map[string]int{}}
		b.hosts[name] = h
	}
	return h
}
