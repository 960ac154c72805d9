package dissect

import "hash/maphash"

// dnsNameTable keeps the text of names a DNSMessage decoded recently, so
// that a name seen again costs no new string: a resolver's traffic names
// the same hosts over and over. It is 8-way set-associative, newest
// first in each set, and never grows.
type dnsNameTable struct {
	s    []string
	seed maphash.Seed
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
	m.names = &dnsNameTable{s: make([]string, size), seed: maphash.MakeSeed()}
}

// get returns b as a string, the one kept when the table has it.
func (t *dnsNameTable) get(b []byte) string {
	i := maphash.Bytes(t.seed, b) & uint64(len(t.s)-1) &^ (dnsNameWays - 1)
	set := t.s[i : i+dnsNameWays : i+dnsNameWays]
	for _, s := range set {
		if s == string(b) {
			return s
		}
	}
	s := string(b)
	copy(set[1:], set)
	set[0] = s
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
