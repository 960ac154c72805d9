package catalog

import (
	"encoding/binary"
	"net/netip"
	"slices"
	"strings"
)

// BuiltinSource is the Source of every row of the embedded catalog.
const BuiltinSource = "builtin"

// Entry is one catalog row: one host pattern in one section of Apple's article.
type Entry struct {
	Section     string   `json:"section"`
	Host        string   `json:"host"`      // pattern as written: exact, "*.suffix" or CIDR
	Ports       []uint16 `json:"ports"`     // empty: any port
	Protocols   []string `json:"protocols"` // "TCP", "UDP", "SSH"; empty: any
	OS          string   `json:"os"`
	Description string   `json:"description"`
	Proxy       string   `json:"proxy"` // "yes", "no" or "" (not stated)
	Editions    []string `json:"editions"`
	Note        string   `json:"note"`
	Source      string   `json:"source"` // "builtin" or "file.tsv:12"
}

// Kind says what sort of host pattern a row holds, and so how it matched.
type Kind uint8

// The kinds of host pattern.
const (
	KindInvalid  Kind = iota // not a usable pattern
	KindExact                // a plain host name
	KindWildcard             // "*.suffix": any name below suffix
	KindCIDR                 // an address block
)

// String returns "exact", "wildcard", "cidr" or "invalid".
func (k Kind) String() string {
	switch k {
	case KindExact:
		return "exact"
	case KindWildcard:
		return "wildcard"
	case KindCIDR:
		return "cidr"
	}
	return "invalid"
}

// Kind reports the sort of pattern in e.Host, from its syntax alone.
func (e *Entry) Kind() Kind {
	h := e.Host
	switch {
	case h == "":
		return KindInvalid
	case strings.Contains(h, "/"):
		return KindCIDR
	case strings.HasPrefix(h, "*."):
		return KindWildcard
	}
	return KindExact
}

// AllowsPort reports whether the row lists port for proto ("tcp" or "udp",
// case-insensitive). SSH counts as TCP; empty Ports allows any port, empty
// Protocols any protocol, and an empty proto checks the port only.
func (e *Entry) AllowsPort(port uint16, proto string) bool {
	if proto != "" && len(e.Protocols) > 0 {
		ok := false
		for _, p := range e.Protocols {
			if strings.EqualFold(p, proto) || (strings.EqualFold(p, "SSH") && strings.EqualFold(proto, "tcp")) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	if len(e.Ports) == 0 {
		return true
	}
	return slices.Contains(e.Ports, port)
}

// IsCatchAll reports whether the row is one of Apple's blanket firewall rules:
// the *.apple.com wildcard or the 17.0.0.0/8 address block.
func (e *Entry) IsCatchAll() bool {
	h := strings.TrimSuffix(e.Host, ".")
	return strings.EqualFold(h, "*.apple.com") || h == "17.0.0.0/8"
}

// Catalog is an immutable, indexed set of rows. It is safe for concurrent
// readers. Slices and entries returned by its methods are shared and must not
// be modified.
type Catalog struct {
	entries []Entry
	exact   map[string][]*Entry    // lower-case name → rows
	wild    map[string][]*Entry    // suffix of "*.suffix" → rows
	pattern map[string][]*Entry    // normalised pattern → rows (Lookup)
	cidr    map[prefixKey][]*Entry // prefix → its rows, then those of enclosing prefixes
	v4Bits  []int                  // distinct IPv4 prefix lengths, longest first
	v6Bits  []int                  // distinct IPv6 prefix lengths, longest first
	// v4First and v6First mark the first octet (IPv4) or first 16 bits
	// (IPv6) any stored prefix can cover: most addresses are rejected by
	// one array lookup before the per-length map probes.
	v4First [256]bool
	v6First [1 << 16]bool
}

// markFirst records the first octet (IPv4) or 16 bits (IPv6) that pfx covers.
func (c *Catalog) markFirst(pfx netip.Prefix) {
	if pfx.Addr().Is4() {
		lo := pfx.Masked().Addr().As4()[0]
		n := 1
		if pfx.Bits() < 8 {
			n = 1 << (8 - pfx.Bits())
		}
		for i := 0; i < n; i++ {
			c.v4First[int(lo)+i] = true
		}
		return
	}
	b := pfx.Masked().Addr().As16()
	lo := int(b[0])<<8 | int(b[1])
	n := 1
	if pfx.Bits() < 16 {
		n = 1 << (16 - pfx.Bits())
	}
	for i := 0; i < n; i++ {
		c.v6First[lo+i] = true
	}
}

// New indexes a copy of entries. Rows whose Host is not a valid pattern stay
// in Entries but match nothing.
func New(entries []Entry) *Catalog {
	c := &Catalog{
		entries: make([]Entry, len(entries)),
		exact:   make(map[string][]*Entry),
		wild:    make(map[string][]*Entry),
		pattern: make(map[string][]*Entry),
		cidr:    make(map[prefixKey][]*Entry),
	}
	for i := range entries {
		c.entries[i] = cloneEntry(entries[i])
	}
	own := make(map[netip.Prefix][]*Entry)
	for i := range c.entries {
		e := &c.entries[i]
		kind, key, pfx, ok := normPattern(e.Host)
		if !ok {
			continue
		}
		c.pattern[key] = append(c.pattern[key], e)
		switch kind {
		case KindExact:
			c.exact[key] = append(c.exact[key], e)
		case KindWildcard:
			suffix := key[2:]
			c.wild[suffix] = append(c.wild[suffix], e)
		case KindCIDR:
			if _, seen := own[pfx]; !seen {
				if pfx.Addr().Is4() {
					c.v4Bits = append(c.v4Bits, pfx.Bits())
				} else {
					c.v6Bits = append(c.v6Bits, pfx.Bits())
				}
			}
			own[pfx] = append(own[pfx], e)
			c.markFirst(pfx)
		}
	}
	c.v4Bits = sortDesc(c.v4Bits)
	c.v6Bits = sortDesc(c.v6Bits)
	// Each stored prefix gets the chain of rows of every stored prefix that
	// contains it, most specific first, so a lookup returns one shared slice.
	for p, rows := range own {
		chain := slices.Clone(rows)
		bits := c.v6Bits
		if p.Addr().Is4() {
			bits = c.v4Bits
		}
		for _, b := range bits {
			if b >= p.Bits() {
				continue
			}
			q, err := p.Addr().Prefix(b)
			if err != nil {
				continue
			}
			chain = append(chain, own[q]...)
		}
		c.cidr[keyOf(p.Addr(), p.Bits())] = chain
	}
	return c
}

// WithExtra returns a catalog holding the rows of base, where a row of extra
// with the same section and host pattern (case-insensitive) replaces the base
// row in place, and the other extra rows are appended in order.
func WithExtra(base *Catalog, extra []Entry) *Catalog {
	var rows []Entry
	if base != nil {
		rows = slices.Clone(base.entries)
	}
	index := make(map[[2]string]int, len(rows)+len(extra))
	for i := range rows {
		index[rowKey(&rows[i])] = i
	}
	for i := range extra {
		k := rowKey(&extra[i])
		if j, ok := index[k]; ok {
			rows[j] = extra[i]
			continue
		}
		index[k] = len(rows)
		rows = append(rows, extra[i])
	}
	return New(rows)
}

// Entries returns a copy of all rows, in file order.
func (c *Catalog) Entries() []Entry {
	out := make([]Entry, len(c.entries))
	for i := range c.entries {
		out[i] = cloneEntry(c.entries[i])
	}
	return out
}

// Len returns the number of rows.
func (c *Catalog) Len() int { return len(c.entries) }

// maxName is the longest host name MatchHost accepts (RFC 1035 text form).
const maxName = 253

// MatchHost returns the rows for host: the exact rows when there are any,
// else the rows of the longest "*.suffix" wildcard that host lies below,
// else those of a "*.host" wildcard (the domain a wildcard covers the
// names of, such as icloud.com for *.icloud.com). It
// ignores case and one trailing dot, and returns nil for no match or a name
// that is not a valid host name. It does not allocate.
func (c *Catalog) MatchHost(host string) []*Entry {
	if n := len(host); n > 0 && host[n-1] == '.' {
		host = host[:n-1]
	}
	if len(host) == 0 || len(host) > maxName {
		return nil
	}
	var buf [maxName]byte
	b := buf[:len(host)]
	label := 0
	for i := 0; i < len(host); i++ {
		ch := host[i]
		switch {
		case ch >= 'a' && ch <= 'z', ch >= '0' && ch <= '9', ch == '-', ch == '_':
			label++
		case ch >= 'A' && ch <= 'Z':
			ch += 'a' - 'A'
			label++
		case ch == '.':
			if label == 0 {
				return nil
			}
			label = 0
			b[i] = ch
			continue
		default:
			return nil
		}
		if label > 63 {
			return nil
		}
		b[i] = ch
	}
	if label == 0 {
		return nil
	}
	if rows, ok := c.exact[string(b)]; ok {
		return rows
	}
	for i := 0; i < len(b); i++ {
		if b[i] != '.' {
			continue
		}
		if rows, ok := c.wild[string(b[i+1:])]; ok {
			return rows
		}
	}
	if rows, ok := c.wild[string(b)]; ok {
		return rows
	}
	return nil
}

// MatchAddr returns the CIDR rows containing a, most specific prefix first
// (an APNs /16 before 17.0.0.0/8). IPv4-mapped IPv6 addresses are unmapped
// and zones ignored. It returns nil when no block contains a, and does not
// allocate.
func (c *Catalog) MatchAddr(a netip.Addr) []*Entry {
	if !a.IsValid() {
		return nil
	}
	a = a.Unmap()
	bits := c.v6Bits
	if a.Is4() {
		if !c.v4First[a.As4()[0]] {
			return nil
		}
		bits = c.v4Bits
	} else if b := a.As16(); !c.v6First[int(b[0])<<8|int(b[1])] {
		return nil
	}
	for _, b := range bits {
		if rows, ok := c.cidr[keyOf(a, b)]; ok {
			return rows
		}
	}
	return nil
}

// prefixKey is a masked prefix as plain integers, which hash faster than
// netip.Prefix. IPv4 addresses sit in lo with is4 set.
type prefixKey struct {
	hi, lo uint64
	bits   uint8
	is4    bool
}

// keyOf masks a (IPv4, or IPv6 without regard to zone) to its first bits bits.
func keyOf(a netip.Addr, bits int) prefixKey {
	if a.Is4() {
		v := a.As4()
		x := uint64(binary.BigEndian.Uint32(v[:]))
		return prefixKey{lo: x & ^(1<<(32-bits) - 1) & 0xffffffff, bits: uint8(bits), is4: true}
	}
	v := a.As16()
	hi, lo := binary.BigEndian.Uint64(v[:8]), binary.BigEndian.Uint64(v[8:])
	switch {
	case bits <= 0:
		hi, lo = 0, 0
	case bits < 64:
		hi &= ^(1<<(64-bits) - 1)
		lo = 0
	case bits < 128:
		lo &= ^(1<<(128-bits) - 1)
	}
	return prefixKey{hi: hi, lo: lo, bits: uint8(bits)}
}

// Match looks up an IP address (optionally in brackets) with MatchAddr and
// anything else with MatchHost.
func (c *Catalog) Match(hostOrIP string) []*Entry {
	if a, ok := parseAddr(hostOrIP); ok {
		return c.MatchAddr(a)
	}
	return c.MatchHost(hostOrIP)
}

// IsAppleAddr reports whether a lies inside any CIDR row: Apple's
// 17.0.0.0/8 block, the APNs IPv6 blocks and any other listed range.
func (c *Catalog) IsAppleAddr(a netip.Addr) bool {
	return len(c.MatchAddr(a)) > 0
}

// Lookup returns the rows whose host pattern is exactly pattern ("gs.apple.com",
// "*.push.apple.com", "17.0.0.0/8"), ignoring case, a trailing dot and
// unmasked CIDR bits; nil when there is none.
func (c *Catalog) Lookup(pattern string) []*Entry {
	if _, key, _, ok := normPattern(pattern); ok {
		return c.pattern[key]
	}
	return nil
}

// parseAddr parses an IP address, also in brackets, without trying (and
// allocating an error for) strings that cannot be one.
func parseAddr(s string) (netip.Addr, bool) {
	if len(s) > 2 && s[0] == '[' && s[len(s)-1] == ']' {
		s = s[1 : len(s)-1]
	}
	colon, letter := false, false
	for i := 0; i < len(s); i++ {
		switch ch := s[i]; {
		case ch == ':':
			colon = true
		case ch >= '0' && ch <= '9', ch == '.':
		default:
			letter = true
		}
	}
	if !colon && letter {
		return netip.Addr{}, false
	}
	a, err := netip.ParseAddr(s)
	return a, err == nil
}

// normPattern classifies a host pattern and returns its index key: the
// lower-case name without trailing dot, "*.suffix", or the masked prefix.
func normPattern(h string) (kind Kind, key string, pfx netip.Prefix, ok bool) {
	h = strings.TrimSpace(h)
	if strings.Contains(h, "/") {
		p, err := netip.ParsePrefix(h)
		if err != nil {
			return KindInvalid, "", netip.Prefix{}, false
		}
		p = unmapPrefix(p.Masked())
		return KindCIDR, p.String(), p, true
	}
	h = strings.ToLower(strings.TrimSuffix(h, "."))
	if rest, isWild := strings.CutPrefix(h, "*."); isWild {
		if !validName(rest) {
			return KindInvalid, "", netip.Prefix{}, false
		}
		return KindWildcard, h, netip.Prefix{}, true
	}
	if !validName(h) {
		return KindInvalid, "", netip.Prefix{}, false
	}
	return KindExact, h, netip.Prefix{}, true
}

// unmapPrefix turns an IPv4-mapped IPv6 prefix (::ffff:17.0.0.0/104) into
// its IPv4 form, so that unmapped lookups find it.
func unmapPrefix(p netip.Prefix) netip.Prefix {
	if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
		return netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	return p
}

// validName reports whether s is a host name: 1–253 bytes of letters,
// digits, '-' and '_' in non-empty labels of at most 63 bytes.
func validName(s string) bool {
	if len(s) == 0 || len(s) > maxName {
		return false
	}
	label := 0
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case ch >= 'a' && ch <= 'z', ch >= 'A' && ch <= 'Z', ch >= '0' && ch <= '9', ch == '-', ch == '_':
			label++
			if label > 63 {
				return false
			}
		case ch == '.':
			if label == 0 {
				return false
			}
			label = 0
		default:
			return false
		}
	}
	return label > 0
}

func rowKey(e *Entry) [2]string {
	host := strings.ToLower(strings.TrimSpace(e.Host))
	if _, key, _, ok := normPattern(e.Host); ok {
		host = key
	}
	return [2]string{strings.ToLower(strings.TrimSpace(e.Section)), host}
}

func cloneEntry(e Entry) Entry {
	e.Ports = slices.Clone(e.Ports)
	e.Protocols = slices.Clone(e.Protocols)
	e.Editions = slices.Clone(e.Editions)
	return e
}

func sortDesc(v []int) []int {
	slices.Sort(v)
	slices.Reverse(v)
	return slices.Compact(v)
}
