package analyzer

import (
	"fmt"
	"net/netip"
	"testing"

	"orchard/dissect"
)

// refDNSCache is the cache's specification: maps, and a ring of keys.
type refDNSCache struct {
	m    map[dnsKey]*[2]dnsName
	any  map[[16]byte]dnsKey
	ring []dnsKey
	next int
	max  int
}

func (c *refDNSCache) add(client netip.Addr, m *dissect.DNSMessage, ts int64) {
	q := m.Questions[0].Name
	for _, r := range m.Answers {
		k := dnsKey{client: client.As16(), addr: r.Addr.As16()}
		if s, ok := c.m[k]; ok {
			if s[0].query != q {
				s[1] = s[0]
			}
			s[0] = dnsName{q, ts}
		} else {
			if len(c.ring) < c.max {
				c.ring = append(c.ring, k)
			} else {
				old := c.ring[c.next]
				delete(c.m, old)
				if c.any[old.addr] == old {
					delete(c.any, old.addr)
				}
				c.ring[c.next] = k
				c.next = (c.next + 1) % c.max
			}
			c.m[k] = &[2]dnsName{{q, ts}}
		}
		c.any[k.addr] = k
	}
}

func (c *refDNSCache) lookup(client, addr netip.Addr, at int64) (dnsName, bool) {
	k := dnsKey{client: client.As16(), addr: addr.As16()}
	if s, ok := c.m[k]; ok {
		if s[0].ts <= at || s[1].query == "" {
			return s[0], true
		}
		return s[1], true
	}
	if ak, ok := c.any[k.addr]; ok {
		return c.m[ak][0], true
	}
	return dnsName{}, false
}

// TestDNSCacheMatchesMaps drives the cache and its map-based specification
// with the same answers, through many evictions, and compares every lookup.
func TestDNSCacheMatchesMaps(t *testing.T) {
	for _, max := range []int{1, 7, 300, 3000} { // 3000: the indexes grow
		c := newDNSCache(max)
		ref := &refDNSCache{m: map[dnsKey]*[2]dnsName{}, any: map[[16]byte]dnsKey{}, max: max}
		addr := func(i int) netip.Addr { return netip.AddrFrom4([4]byte{17, 0, byte(i >> 8), byte(i)}) }
		cl := func(i int) netip.Addr { return netip.AddrFrom4([4]byte{10, 0, 0, byte(i)}) }
		for i := 0; i < 5000; i++ {
			m := &dissect.DNSMessage{Questions: []dissect.DNSQuestion{{Name: fmt.Sprintf("h%d.apple.com", i%53)}}}
			for j := 0; j < 1+i%5; j++ {
				m.Answers = append(m.Answers, dissect.DNSRecord{Addr: addr((i*7 + j*131) % 900)})
			}
			c.add(cl(i%11), m, int64(i))
			ref.add(cl(i%11), m, int64(i))
			for q := 0; q < 4; q++ {
				a, b := cl((i+q)%13), addr((i*3+q*97)%950)
				got, gok := c.lookup(a, b, int64(i-q*50))
				want, wok := ref.lookup(a, b, int64(i-q*50))
				if got != want || gok != wok {
					t.Fatalf("max %d, step %d: lookup(%v, %v) = %v %v, want %v %v", max, i, a, b, got, gok, want, wok)
				}
			}
		}
		if len(c.ents) > max {
			t.Errorf("max %d: %d entries", max, len(c.ents))
		}
		if len(c.byKey.slots) < 2*len(c.ents) || len(c.byAddr.slots) != len(c.byKey.slots) {
			t.Errorf("max %d: %d entries in indexes of %d and %d slots", max, len(c.ents), len(c.byKey.slots), len(c.byAddr.slots))
		}
	}
}

// BenchmarkDNSCacheAdd times learning a response of 20 answers (new
// addresses each time, so the full cache replaces entries).
func BenchmarkDNSCacheAdd(b *testing.B) {
	const msgs = 4096
	ms := benchDNSMessages(msgs)
	c := newDNSCache(16384)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c.add(netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}), ms[i%msgs], int64(i))
	}
}

// BenchmarkDNSCacheFull times learning responses of 20 answers into a
// cache of the default size (131072 answers) from 50,000 clients, new
// addresses each time (as orchard-stress -kind dns sends them), so every
// answer evicts the oldest: the memory a resolver's SPAN sweeps through.
func BenchmarkDNSCacheFull(b *testing.B) {
	const msgs = 1 << 14
	ms := benchDNSMessages(msgs)
	c := newDNSCache(131072)
	client := func(i int) netip.Addr { return netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}) }
	for i := 0; i < msgs; i++ { // fill it
		c.add(client(i%50_000), ms[i], int64(i))
	}
	b.ReportAllocs()
	cpu := startCPU(b)
	for i := 0; i < b.N; i++ {
		// Each round of msgs names addresses shifted by a round number,
		// so none is in the cache any more.
		m := ms[i%msgs]
		r := byte(i / msgs)
		for j := range m.Answers {
			a := m.Answers[j].Addr.As4()
			a[0] = 17 + r%64
			m.Answers[j].Addr = netip.AddrFrom4(a)
		}
		c.add(client(i%50_000), m, int64(i))
	}
	cpu.report(b)
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "responses/s")
}

// benchDNSMessages returns n responses of 20 answers, each of its own
// name and addresses.
func benchDNSMessages(n int) []*dissect.DNSMessage {
	ms := make([]*dissect.DNSMessage, n)
	for i := range ms {
		m := &dissect.DNSMessage{Questions: []dissect.DNSQuestion{{Name: fmt.Sprintf("h%d.apple.com", i)}}}
		for j := 0; j < 20; j++ {
			a := uint32(i*20 + j)
			m.Answers = append(m.Answers, dissect.DNSRecord{Addr: netip.AddrFrom4([4]byte{17, byte(a >> 16), byte(a >> 8), byte(a)})})
		}
		ms[i] = m
	}
	return ms
}
