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

// addrRow is what the judge knows of one server address: one cache line.
type addrRow struct {
	addr [16]byte
	text string // addrString of the address
	info *addrInfo
	// host is the tally of the host named by text (an Apple address
	// without a name), once hostStat has found it.
	host *hostRec
	// best is bestEntry of the rows for the port and protocol in bestKey
	// (portKey; 0: none yet).
	best    *catalog.Entry
	bestKey uint32
}

// addrInfo is what the judge derives from one set of catalog rows, which
// many addresses share (the rows of a prefix).
type addrInfo struct {
	rows []*catalog.Entry
	// push says whether rows name Apple's push service (isPush).
	push bool
}

// rowsKey tells catalog row sets apart: MatchAddr returns the catalog's
// own slice of a prefix, so two results with the same first element's
// address and length are the same rows.
type rowsKey struct {
	first **catalog.Entry
	n     int
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
	infos map[rowsKey]*addrInfo
	none  addrInfo // the info of no rows
}

// init allocates the cache, once, with the engine: its memory is fixed
// from the start.
func (c *addrRows) init() {
	c.slots = make([]addrRow, addrRowsSlots)
	c.seed = [2]uint64{rand.Uint64() | 1, rand.Uint64() | 1}
	c.infos = make(map[rowsKey]*addrInfo)
}

// infoOf returns the info of rows, made once per set of rows.
func (c *addrRows) infoOf(rows []*catalog.Entry) *addrInfo {
	if len(rows) == 0 {
		return &c.none
	}
	k := rowsKey{&rows[0], len(rows)}
	in := c.infos[k]
	if in == nil {
		in = &addrInfo{rows: rows, push: pushRows(rows)}
		c.infos[k] = in
	}
	return in
}

// get returns a's row, looking it up in cat when the cache does not hold
// it. The row is valid until the next get.
func (c *addrRows) get(cat *catalog.Catalog, a netip.Addr) *addrRow {
	if c.slots == nil {
		c.init()
	}
	if !a.IsValid() || a.Zone() != "" {
		// Rare, and not told apart by the 16 bytes of the key.
		c.odd = addrRow{text: addrString(a), info: c.infoOf(cat.MatchAddr(a))}
		return &c.odd
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
		set[1] = set[0]
		set[0] = addrRow{addr: b, text: addrString(a), info: c.infoOf(cat.MatchAddr(a))}
	}
	return &set[0]
}

// bestFor returns bestEntry of r's rows for port and proto, kept for the
// port and protocol it was last asked for.
func (r *addrRow) bestFor(port uint16, proto uint8) *catalog.Entry {
	if k := portKey(port, proto); r.bestKey != k {
		r.best, r.bestKey = bestEntry(r.info.rows, port, protoName(proto)), k
	}
	return r.best
}

// portKey is a nonzero key of a port and protocol as protoName tells
// protocols apart.
func portKey(port uint16, proto uint8) uint32 {
	switch proto {
	case 1, 6, 17, 58:
	default:
		proto = 0 // "ip"
	}
	return 1<<31 | uint32(proto)<<16 | uint32(port)
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
