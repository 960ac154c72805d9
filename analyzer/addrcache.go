package analyzer

import (
	"encoding/binary"
	"math/rand/v2"
	"net/netip"

	"orchard/catalog"
)

// addrRowsSlots sizes an engine's addrRows cache: a power of two, in
// sets of two (512 KiB).
const addrRowsSlots = 8192

type addrRow struct {
	rows []*catalog.Entry
	text string // addrString of the address
	addr [16]byte
	// push says whether rows name Apple's push service (isPush).
	push bool
}

// addrRows caches, per server address, its catalog rows and its text, so
// that a flood of flows to a few thousand addresses (unanswered SYNs,
// QUIC Initials) looks each up in the catalog and formats it once, not
// once a flow. It is two-way set-associative with a keyed hash, the
// least recently used of a set replaced: a miss only costs a lookup
// again. The catalog never changes under an engine, so an
// entry never goes stale.
type addrRows struct {
	slots []addrRow
	seed  [2]uint64
	odd   addrRow // the row of an address the slots do not hold
}

// init allocates the cache, once, with the engine: its memory is fixed
// from the start.
func (c *addrRows) init() {
	c.slots = make([]addrRow, addrRowsSlots)
	c.seed = [2]uint64{rand.Uint64() | 1, rand.Uint64() | 1}
}

// get returns a's row, looking it up in cat when the cache does not hold
// it. The row is valid until the next get.
func (c *addrRows) get(cat *catalog.Catalog, a netip.Addr) *addrRow {
	if !a.IsValid() || a.Zone() != "" {
		// Rare, and not told apart by the 16 bytes of the key.
		rows := cat.MatchAddr(a)
		c.odd = addrRow{rows: rows, text: addrString(a), push: pushRows(rows)}
		return &c.odd
	}
	if c.slots == nil {
		c.init()
	}
	// a and a.Unmap() share a row: both look up and print alike.
	b := a.Unmap().As16()
	le := binary.LittleEndian
	h := mum(le.Uint64(b[:8])^c.seed[0], le.Uint64(b[8:])^c.seed[1])
	set := c.slots[h&(addrRowsSlots-1)&^1:][:2]
	switch {
	case set[0].addr == b && set[0].text != "":
	case set[1].addr == b && set[1].text != "":
		set[0], set[1] = set[1], set[0]
	default:
		rows := cat.MatchAddr(a)
		set[1] = set[0]
		set[0] = addrRow{addr: b, rows: rows, text: addrString(a), push: pushRows(rows)}
	}
	return &set[0]
}

// pushRows reports whether a row other than a catch-all names Apple's
// push service.
func pushRows(rows []*catalog.Entry) bool {
	for _, e := range rows {
		if containsFold(e.Description, "push") && !e.IsCatchAll() {
			return true
		}
	}
	return false
}

// pushOf is attribution.push for a known answer.
func pushOf(push bool) int8 {
	if push {
		return 1
	}
	return -1
}
