package dissect

import "hash/maphash"

// dnsNameTable keeps the text of names a DNSMessage decoded recently, so
// that a name seen again costs no new string: a resolver's traffic names
// the same hosts over and over. It is 8-way set-associative, newest
// first in each set, and never grows. Each entry keeps 32 bits of its
// name's hash beside it, so a lookup compares the text of a name only
// when its tag matches: the text lives elsewhere in the heap, and reading
// it for every same-length name of a set cost a cache miss each.
type dnsNameTable struct {
	sets []dnsNameSet
	seed maphash.Seed
}

// dnsNameSet is one set of a dnsNameTable: the tags first, on one cache
// line, then the names.
type dnsNameSet struct {
	tag [dnsNameWays]uint32
	s   [dnsNameWays]string
}

// InternNames makes Decode reuse the text of names it decoded before, from
// a table of about n names (rounded up to a power of two; at most 1<<20).
// A message used for a stream of Decode calls saves an allocation per
// name it has seen; copies made by CopyTo do not share the table.
func (m *DNSMessage) InternNames(n int) {
	size := dnsNameWays
	for size < n && size < 1<<20 {
		size <<= 1
	}
	m.names = &dnsNameTable{sets: make([]dnsNameSet, size/dnsNameWays), seed: maphash.MakeSeed()}
}

// get returns b as a string, the one kept when the table has it.
func (t *dnsNameTable) get(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	h := maphash.Bytes(t.seed, b)
	set := &t.sets[h&uint64(len(t.sets)-1)]
	tag := uint32(h >> 32)
	for i := range set.tag {
		if set.tag[i] == tag && set.s[i] == string(b) {
			return set.s[i]
		}
	}
	s := string(b)
	copy(set.tag[1:], set.tag[:])
	copy(set.s[1:], set.s[:])
	set.tag[0], set.s[0] = tag, s
	return s
}

// dnsNameWays is the associativity of a dnsNameTable.
const dnsNameWays = 8

// str returns b as a string, through the message's name table if any.
func (d *dnsDecoder) str(b []byte) string {
	if d.names != nil {
		return d.names.get(b)
	}
	return string(b)
}
