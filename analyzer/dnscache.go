package analyzer

import (
	"encoding/binary"
	"math/bits"
	"math/rand/v2"
	"net/netip"

	"orchard/dissect"
)

// dnsName is what DNS told a client about one address.
type dnsName struct {
	query string // the name the device asked for
	ts    int64
}

type dnsKey struct {
	client, addr [16]byte
}

// dnsEntry is one (client, address) the cache knows, with the name the
// client resolved last for it and the one before (a CNAME target moving
// between names).
type dnsEntry struct {
	key       dnsKey
	cur, prev dnsName
}

// dnsCache remembers, per (client, address), the name the client resolved
// to reach it, and per address the last name any client resolved for it.
// It keeps at most max entries in a ring, forgetting the oldest first.
// Its memory is fixed once full: a ring of entries and two open-addressing
// indexes of entry numbers, with no map and nothing allocated per answer
// (a resolver's traffic replaces entries at line rate, and a Go map's
// deletions made that the analysis's bottleneck).
type dnsCache struct {
	ents   []dnsEntry
	next   int // the entry replaced next, once the ring is full
	max    int
	byKey  dnsIndex // (client, address) → entry
	byAddr dnsIndex // address → the entry that learned it last
	seed   [6]uint64
}

// maxDNSEntries bounds a cache's size: index slots keep 32 bits of hash
// above their home bits.
const maxDNSEntries = 1 << 24

func newDNSCache(max int) *dnsCache {
	c := &dnsCache{max: min(max, maxDNSEntries)}
	for i := range c.seed {
		c.seed[i] = rand.Uint64() | 1
	}
	return c
}

// hashAddr and hashKey are keyed: addresses come from the wire.
func (c *dnsCache) hashAddr(a *[16]byte) uint64 {
	le := binary.LittleEndian
	return mum(le.Uint64(a[:8])^c.seed[0], le.Uint64(a[8:])^c.seed[1])
}

func (c *dnsCache) hashKey(k *dnsKey) uint64 {
	le := binary.LittleEndian
	h := mum(le.Uint64(k.client[:8])^c.seed[2], le.Uint64(k.client[8:])^c.seed[3])
	return mum(c.hashAddr(&k.addr)^c.seed[4], h^c.seed[5])
}

// dnsIndex is an open-addressing table of entry numbers with linear
// probing and backward-shift deletion. A slot holds the entry's number
// plus one (0: empty) in its low 32 bits and the top 32 bits of its hash
// in the high ones, so probing compares hashes without reading entries
// and a shifted slot's home needs no rehash. It has at least twice as many
// slots as the cache has entries, so it is never more than half full: it
// starts small and doubles with the entries, up to the cache's size.
type dnsIndex struct {
	slots []uint64
	shift uint // 64 - log2(len(slots)): a hash's home slot is hash >> shift
}

func (x *dnsIndex) init(entries int) {
	n := 1024
	for n < 2*entries {
		n <<= 1
	}
	x.slots = make([]uint64, n)
	x.shift = 64 - uint(bits.TrailingZeros(uint(n)))
}

// grow doubles the index, placing each slot by the hash bits it keeps.
func (x *dnsIndex) grow() {
	old := x.slots
	x.init(len(old))
	mask := uint64(len(x.slots) - 1)
	for _, s := range old {
		if s == 0 {
			continue
		}
		i := s >> x.shift
		for x.slots[i] != 0 {
			i = (i + 1) & mask
		}
		x.slots[i] = s
	}
}

func slotOf(h uint64, e int) uint64 { return h&^(1<<32-1) | uint64(e+1) }

func (x *dnsIndex) entry(i int) int { return int(uint32(x.slots[i])) - 1 }

// remove empties slot i and shifts back the entries after it that probed
// past it.
func (x *dnsIndex) remove(i int) {
	mask := uint64(len(x.slots) - 1)
	hole := uint64(i)
	for j := (hole + 1) & mask; x.slots[j] != 0; j = (j + 1) & mask {
		h := x.slots[j] >> x.shift
		if (j-h)&mask >= (j-hole)&mask {
			x.slots[hole] = x.slots[j]
			hole = j
		}
	}
	x.slots[hole] = 0
}

// findKey returns the byKey slot holding k's entry, or the empty slot
// where it would go, and k's hash.
func (c *dnsCache) findKey(k *dnsKey) (slot int, h uint64, found bool) {
	x := &c.byKey
	h = c.hashKey(k)
	tag := h &^ (1<<32 - 1)
	mask := uint64(len(x.slots) - 1)
	for i := h >> x.shift; ; i = (i + 1) & mask {
		s := x.slots[i]
		if s == 0 {
			return int(i), h, false
		}
		if s&^(1<<32-1) == tag && c.ents[uint32(s)-1].key == *k {
			return int(i), h, true
		}
	}
}

// findAddr is findKey for the byAddr index.
func (c *dnsCache) findAddr(a *[16]byte) (slot int, h uint64, found bool) {
	x := &c.byAddr
	h = c.hashAddr(a)
	tag := h &^ (1<<32 - 1)
	mask := uint64(len(x.slots) - 1)
	for i := h >> x.shift; ; i = (i + 1) & mask {
		s := x.slots[i]
		if s == 0 {
			return int(i), h, false
		}
		if s&^(1<<32-1) == tag && c.ents[uint32(s)-1].key.addr == *a {
			return int(i), h, true
		}
	}
}

// add records the addresses of a response, each under the name the client
// asked for (following CNAME chains back to the question).
func (c *dnsCache) add(client netip.Addr, m *dissect.DNSMessage, ts int64) {
	if len(m.Questions) == 0 || len(m.Answers) == 0 || c.max <= 0 {
		return
	}
	if c.byKey.slots == nil {
		c.byKey.init(0)
		c.byAddr.init(0)
	}
	q := m.Questions[0].Name
	cl := client.Unmap().As16()
	for _, r := range m.Answers {
		if !r.Addr.IsValid() {
			continue
		}
		n := dnsName{query: q, ts: ts}
		k := dnsKey{client: cl, addr: r.Addr.Unmap().As16()}
		var e int
		if s, _, ok := c.findKey(&k); ok {
			e = c.byKey.entry(s)
			d := &c.ents[e]
			if d.cur.query != q {
				d.prev = d.cur
			}
			d.cur = n
		} else {
			e = c.insert(&k, n)
		}
		s, h, _ := c.findAddr(&k.addr)
		c.byAddr.slots[s] = slotOf(h, e)
	}
}

// insert adds an entry for k, in place of the oldest when the ring is
// full, and returns its index.
func (c *dnsCache) insert(k *dnsKey, n dnsName) int {
	var e int
	if len(c.ents) < c.max {
		c.ents = append(c.ents, dnsEntry{})
		e = len(c.ents) - 1
		if 2*len(c.ents) > len(c.byKey.slots) {
			c.byKey.grow()
			c.byAddr.grow()
		}
	} else {
		e = c.next
		c.next = (c.next + 1) % c.max
		old := &c.ents[e]
		if s, _, ok := c.findKey(&old.key); ok {
			c.byKey.remove(s)
		}
		if s, _, ok := c.findAddr(&old.key.addr); ok && c.byAddr.entry(s) == e {
			c.byAddr.remove(s)
		}
	}
	c.ents[e] = dnsEntry{key: *k, cur: n}
	s, h, _ := c.findKey(k)
	c.byKey.slots[s] = slotOf(h, e)
	return e
}

// lookup returns the name a client resolved for addr most recently before
// (or at) time at, falling back to any client's answer.
func (c *dnsCache) lookup(client, addr netip.Addr, at int64) (dnsName, bool) {
	if c.byKey.slots == nil {
		return dnsName{}, false
	}
	k := dnsKey{client: client.Unmap().As16(), addr: addr.Unmap().As16()}
	if s, _, ok := c.findKey(&k); ok {
		d := &c.ents[c.byKey.entry(s)]
		if d.cur.ts <= at || d.prev.query == "" {
			return d.cur, true
		}
		return d.prev, true
	}
	if s, _, ok := c.findAddr(&k.addr); ok {
		return c.ents[c.byAddr.entry(s)].cur, true
	}
	return dnsName{}, false
}
