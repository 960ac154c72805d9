package analyzer

import (
	"encoding/binary"
	"math/rand/v2"
	"net/netip"

	"orchard/dissect"
)

// dnsName is what DNS told a client about one address.
type dnsName struct {
	query string // the name the device asked for
	ts    int64
}

// dnsCache remembers the last max answers DNS gave (client, address, the
// name the client asked for, when), and answers which name a client
// resolved to reach an address.
//
// It is a log cut into a ring of segments of segSize answers. An answer is
// appended to the current segment: a record, and an entry in the
// segment's own two small hash tables (dnsTable: by client and address,
// and by address; the newest answer wins the slot, and a record links to
// the one it displaced). Nothing is deleted: when the ring wraps, the
// oldest segment is cleared whole and refilled, so eviction costs
// nothing, and the tables being filled are small enough to stay in the
// CPU's cache (a resolver's traffic is mostly new addresses, and misses
// into one big table were most of its cost). Each segment keeps a Bloom
// filter of its addresses, laid out so that one address's words of eight
// segments are side by side: a lookup reads a few cache lines and probes
// only the segments that may hold the address (every flow's attribution
// looks up, most often for addresses DNS never named). The memory is
// fixed once the ring is full, and nothing is allocated per answer.
type dnsCache struct {
	max     int // answers remembered
	segSize int // answers a segment holds: a power of two
	segs    []dnsSeg
	cur     int    // the segment being filled
	n       uint64 // answers added so far: the next one's sequence number
	// filter holds the segments' Bloom filters, of fwords words each,
	// for groups of eight segments: word w of segment s is
	// filter[s/8][w*8+s%8]. A group's are allocated with its first
	// segment.
	filter [][]uint64
	fwords int
	seed   [6]uint64
}

// dnsSeg is one segment of the log.
type dnsSeg struct {
	base   uint64 // the sequence number of its first record
	recs   []dnsRec
	resps  []dnsResp
	names  []string // per response: kept apart so the rest holds no pointers
	minTS  int64    // bounds of its responses' times (valid with any record)
	maxTS  int64
	byKey  dnsTable // (client, address) → its newest record
	byAddr dnsTable // address → its newest record
}

// dnsRec is one answer: the address, its response in the segment, the
// segment's previous record of the same client and address (plus one; 0:
// none), and how many records that chain holds, this one included.
type dnsRec struct {
	addr  addr128
	resp  uint16
	prev  uint16
	depth uint16
}

// dnsResp is what the answers of one response share.
type dnsResp struct {
	client addr128
	ts     int64
}

// addr128 is an address as 16 bytes (IPv4 mapped into IPv6), held in two
// words: copying and comparing them as bytes cost more than the rest of
// an answer's work.
type addr128 struct{ hi, lo uint64 }

func addrOf(a netip.Addr) addr128 {
	if a.Is4() {
		b := a.As4()
		return addr128{0, 0xffff<<32 | uint64(binary.BigEndian.Uint32(b[:]))}
	}
	b := a.As16()
	return addr128{binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])}
}

const (
	// maxDNSEntries bounds a cache's size.
	maxDNSEntries = 1 << 24
	// dnsSegMax bounds a segment: record numbers, and their successors
	// in prev, are 16 bits.
	dnsSegMax = 1 << 15
	// dnsSegs is the number of segments a cache aims for below dnsSegMax
	// answers each; a small cache has at least dnsSegsMin, and one more
	// than its answers fill, so that the last max answers are always
	// there.
	dnsSegs    = 64
	dnsSegsMin = 8
	// dnsChainMax is the most answers of one client and address a
	// segment keeps linked: a lookup sees only the newest dnsChainMax of
	// them.
	dnsChainMax = 16
	// dnsMaxSegs is the most segments a cache has.
	dnsMaxSegs = maxDNSEntries/dnsSegMax + 1
	// dnsSegDefault is the segment size of a cache of the default size.
	dnsSegDefault = 4096
)

func newDNSCache(answers int) *dnsCache {
	c := &dnsCache{max: min(answers, maxDNSEntries)}
	for i := range c.seed {
		c.seed[i] = rand.Uint64() | 1
	}
	if c.max <= 0 {
		return c
	}
	s := dnsSegDefault
	for s < dnsSegMax && c.max > dnsSegs*s {
		s *= 2
	}
	for s > 1 && c.max < dnsSegsMin*s {
		s /= 2
	}
	c.segSize = s
	c.segs = make([]dnsSeg, (c.max+s-1)/s+1)
	c.filter = make([][]uint64, (len(c.segs)+7)/8)
	c.fwords = max(s/4, 1) // 16 bits an answer
	return c
}

// hashAddr and hashClient are keyed: addresses come from the wire.
func (c *dnsCache) hashAddr(a addr128) uint64 { return mum(a.hi^c.seed[0], a.lo^c.seed[1]) }

func (c *dnsCache) hashClient(a addr128) uint64 { return mum(a.hi^c.seed[2], a.lo^c.seed[3]) }

// hashKey combines an address's hash and its client's.
func (c *dnsCache) hashKey(ha, hc uint64) uint64 { return mum(ha^c.seed[4], hc^c.seed[5]) }

// filterBits are the three bits of an address's word in a segment's
// filter, and filterWord that word's number.
func filterBits(ha uint64) uint64 {
	return 1<<(ha>>29&63) | 1<<(ha>>35&63) | 1<<(ha>>41&63)
}

func (c *dnsCache) filterWord(ha uint64) int { return int(ha>>16) & (c.fwords - 1) }

// init allocates a segment's memory the first time it is used.
func (s *dnsSeg) init(size int) {
	s.recs = make([]dnsRec, 0, size)
	s.resps = make([]dnsResp, 0, max(size/8, 1))
	s.names = make([]string, 0, max(size/8, 1))
	s.byKey.init(size)
	s.byAddr.init(size)
}

// next makes the following segment of the ring the current one, empty.
func (c *dnsCache) next() *dnsSeg {
	if len(c.segs[c.cur].recs) > 0 {
		c.cur++
		if c.cur == len(c.segs) {
			c.cur = 0
		}
	}
	s := &c.segs[c.cur]
	if s.recs == nil {
		s.init(c.segSize)
		if c.filter[c.cur/8] == nil {
			c.filter[c.cur/8] = make([]uint64, 8*c.fwords)
		}
	} else {
		s.byKey.clear()
		s.byAddr.clear()
		clear(s.names)
		s.recs, s.resps, s.names = s.recs[:0], s.resps[:0], s.names[:0]
		f := c.filter[c.cur/8]
		for w := c.cur % 8; w < len(f); w += 8 {
			f[w] = 0
		}
	}
	s.base = c.n
	return s
}

// respond starts a response in s: its client, time and name.
func (s *dnsSeg) respond(client addr128, ts int64, q string) uint16 {
	if len(s.resps) == 0 || ts < s.minTS {
		s.minTS = ts
	}
	if len(s.resps) == 0 || ts > s.maxTS {
		s.maxTS = ts
	}
	s.resps = append(s.resps, dnsResp{client: client, ts: ts})
	s.names = append(s.names, q)
	return uint16(len(s.resps) - 1)
}

// add records the addresses of a response, each under the name the client
// asked for (following CNAME chains back to the question).
func (c *dnsCache) add(client netip.Addr, m *dissect.DNSMessage, ts int64) {
	if len(m.Questions) == 0 || len(m.Answers) == 0 || c.max <= 0 {
		return
	}
	q := m.Questions[0].Name
	cl := addrOf(client)
	hc := c.hashClient(cl)
	s := &c.segs[c.cur]
	resp := -1 // the response's number in s, once it has one
	for i := range m.Answers {
		r := &m.Answers[i]
		if !r.Addr.IsValid() {
			continue
		}
		if len(s.recs) == cap(s.recs) {
			s = c.next()
			resp = -1
		}
		if resp < 0 {
			resp = int(s.respond(cl, ts, q))
		}
		a := addrOf(r.Addr)
		ha, e := c.hashAddr(a), len(s.recs)
		// The newest record of (client, address) takes its slot and
		// links to the one before; the address's slot is the newest's.
		hk := c.hashKey(ha, hc)
		j, o := s.findKey(hk, cl, a)
		s.byKey.set(j, ctrlTag(hk), uint16(e))
		depth := uint16(1)
		if o >= 0 {
			depth = s.chain(o)
		}
		s.recs = append(s.recs, dnsRec{addr: a, resp: uint16(resp), prev: uint16(o + 1), depth: depth})
		j, _ = s.findAddr(ha, a)
		s.byAddr.set(j, ctrlTag(ha), uint16(e))
		c.filter[c.cur/8][c.filterWord(ha)*8+c.cur%8] |= filterBits(ha)
		c.n++
	}
}

// chain returns the depth of a record that follows record o in its chain,
// which it keeps at dnsChainMax records by cutting off the oldest: a
// lookup walks a chain, and a capture whose times go back and forth
// could otherwise make every lookup walk the whole segment.
func (s *dnsSeg) chain(o int) uint16 {
	d := s.recs[o].depth + 1
	if d <= dnsChainMax {
		return d
	}
	for range dnsChainMax - 2 {
		o = int(s.recs[o].prev) - 1
	}
	s.recs[o].prev = 0
	return dnsChainMax
}

// findKey returns the slot of s's newest record for (client, address),
// or the empty slot where it would go, and that record, or -1.
func (s *dnsSeg) findKey(hk uint64, client, addr addr128) (slot, rec int) {
	t, tag := &s.byKey, ctrlTag(hk)
	for g := t.home(hk); ; g = t.next(g) {
		match, empty := t.match(g, tag)
		for ; match != 0; match &= match - 1 {
			i := slotIn(g, match)
			if r := &s.recs[t.slots[i]]; r.addr == addr && s.resps[r.resp].client == client {
				return i, int(t.slots[i])
			}
		}
		if empty != 0 {
			return slotIn(g, empty), -1
		}
	}
}

// findAddr is findKey for the address alone.
func (s *dnsSeg) findAddr(ha uint64, addr addr128) (slot, rec int) {
	t, tag := &s.byAddr, ctrlTag(ha)
	for g := t.home(ha); ; g = t.next(g) {
		match, empty := t.match(g, tag)
		for ; match != 0; match &= match - 1 {
			if i := slotIn(g, match); s.recs[t.slots[i]].addr == addr {
				return i, int(t.slots[i])
			}
		}
		if empty != 0 {
			return slotIn(g, empty), -1
		}
	}
}

// candidates marks the segments whose filters may hold the address of
// hash ha, and reports whether there is one.
func (c *dnsCache) candidates(ha uint64, cand *[(dnsMaxSegs + 63) / 64]uint64) bool {
	need, fw := filterBits(ha), 8*c.filterWord(ha)
	found := false
	for g, f := range c.filter {
		if f == nil {
			break // groups are allocated in order
		}
		for j, w := range f[fw : fw+8] {
			if w&need == need {
				i := 8*g + j
				cand[i/64] |= 1 << (i % 64)
				found = true
			}
		}
	}
	return found
}

// name is what record e of s says.
func (s *dnsSeg) name(e int) dnsName {
	r := s.recs[e].resp
	return dnsName{query: s.names[r], ts: s.resps[r].ts}
}

// lookup returns the name a client resolved for addr: of the answers the
// cache holds for the client and the address (the newest dnsChainMax of
// them in each segment), the newest at or before time at, else the
// newest; with none, the newest answer for the address to any client.
func (c *dnsCache) lookup(client, addr netip.Addr, at int64) (dnsName, bool) {
	if c.n == 0 {
		return dnsName{}, false
	}
	cl, a := addrOf(client), addrOf(addr)
	ha := c.hashAddr(a)
	hk := c.hashKey(ha, c.hashClient(cl))
	var cand [(dnsMaxSegs + 63) / 64]uint64
	if !c.candidates(ha, &cand) {
		return dnsName{}, false
	}
	nseg := len(c.segs)
	var low uint64 // the oldest record still remembered
	if c.n > uint64(c.max) {
		low = c.n - uint64(c.max)
	}
	var later, other dnsName
	var haveLater, haveOther bool
	for k, i := 0, c.cur; k < nseg; k, i = k+1, i-1 {
		if i < 0 {
			i = nseg - 1
		}
		if cand[i/64]&(1<<(i%64)) == 0 {
			continue
		}
		s := &c.segs[i]
		if _, e := s.findKey(hk, cl, a); e >= 0 && s.base+uint64(e) >= low {
			if !haveLater {
				later, haveLater = s.name(e), true
			}
			switch {
			case s.maxTS <= at:
				return s.name(e), true
			case s.minTS <= at:
				for ; e >= 0 && s.base+uint64(e) >= low; e = int(s.recs[e].prev) - 1 {
					if s.resps[s.recs[e].resp].ts <= at {
						return s.name(e), true
					}
				}
			}
		}
		if !haveOther {
			if _, e := s.findAddr(ha, a); e >= 0 && s.base+uint64(e) >= low {
				other, haveOther = s.name(e), true
			}
		}
	}
	if haveLater {
		return later, true
	}
	return other, haveOther
}
