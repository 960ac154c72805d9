package analyzer

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"

	"orchard/dissect"
)

// refDNSCache is the cache's specification: a log of the last max
// answers, searched from the newest. The answers are numbered from 0 and
// cut into segments of seg answers, of which a lookup sees only the
// newest dnsChainMax of one client and address.
type refDNSCache struct {
	log      []refAnswer
	max, seg int
	n        int // answers so far
}

type refAnswer struct {
	client, addr [16]byte
	name         dnsName
	n            int
}

func (c *refDNSCache) add(client netip.Addr, m *dissect.DNSMessage, ts int64) {
	if len(m.Questions) == 0 || c.max <= 0 {
		return
	}
	for _, r := range m.Answers {
		if r.Addr.IsValid() {
			c.log = append(c.log, refAnswer{client.As16(), r.Addr.As16(), dnsName{m.Questions[0].Name, ts}, c.n})
			c.n++
		}
	}
	if len(c.log) > c.max {
		c.log = c.log[len(c.log)-c.max:]
	}
}

func (c *refDNSCache) lookup(client, addr netip.Addr, at int64) (dnsName, bool) {
	cl, a := client.As16(), addr.As16()
	var newest, other *refAnswer
	seen := map[int]int{} // the client's answers seen, by segment
	for i := len(c.log) - 1; i >= 0; i-- {
		r := &c.log[i]
		if r.addr != a {
			continue
		}
		if r.client != cl {
			if other == nil {
				other = r
			}
			continue
		}
		if seen[r.n/c.seg]++; seen[r.n/c.seg] > dnsChainMax {
			continue
		}
		if r.name.ts <= at {
			return r.name, true
		}
		if newest == nil {
			newest = r
		}
	}
	switch {
	case newest != nil:
		return newest.name, true
	case other != nil:
		return other.name, true
	}
	return dnsName{}, false
}

// dnsCacheDriver feeds the cache and its specification the same answers
// and compares their lookups.
type dnsCacheDriver struct {
	c   *dnsCache
	ref *refDNSCache
	m   dissect.DNSMessage
}

func newDNSCacheDriver(answers int) *dnsCacheDriver {
	c := newDNSCache(answers)
	return &dnsCacheDriver{c: c, ref: &refDNSCache{max: answers, seg: max(c.segSize, 1)}}
}

func (d *dnsCacheDriver) add(client netip.Addr, name string, addrs []netip.Addr, ts int64) {
	d.m.Questions = append(d.m.Questions[:0], dissect.DNSQuestion{Name: name})
	if name == "" {
		d.m.Questions = d.m.Questions[:0]
	}
	d.m.Answers = d.m.Answers[:0]
	for _, a := range addrs {
		d.m.Answers = append(d.m.Answers, dissect.DNSRecord{Addr: a})
	}
	d.c.add(client, &d.m, ts)
	d.ref.add(client, &d.m, ts)
}

func (d *dnsCacheDriver) check(client, addr netip.Addr, at int64) error {
	got, gok := d.c.lookup(client, addr, at)
	want, wok := d.ref.lookup(client, addr, at)
	if got != want || gok != wok {
		return fmt.Errorf("lookup(%v, %v, %d) = %v %v, want %v %v", client, addr, at, got, gok, want, wok)
	}
	return nil
}

// TestDNSCacheMatchesLog drives the cache and its specification with the
// same answers, through many wraps of the ring, and compares every
// lookup.
func TestDNSCacheMatchesLog(t *testing.T) {
	for _, max := range []int{1, 7, 300, 3000} {
		d := newDNSCacheDriver(max)
		addr := func(i int) netip.Addr { return netip.AddrFrom4([4]byte{17, 0, byte(i >> 8), byte(i)}) }
		cl := func(i int) netip.Addr { return netip.AddrFrom4([4]byte{10, 0, 0, byte(i)}) }
		var addrs []netip.Addr
		for i := 0; i < 5000; i++ {
			addrs = addrs[:0]
			for j := 0; j < 1+i%5; j++ {
				addrs = append(addrs, addr((i*7+j*131)%900))
			}
			d.add(cl(i%11), fmt.Sprintf("h%d.apple.com", i%53), addrs, int64(i))
			for q := 0; q < 4; q++ {
				if err := d.check(cl((i+q)%13), addr((i*3+q*97)%950), int64(i-q*50)); err != nil {
					t.Fatalf("max %d, step %d: %v", max, i, err)
				}
			}
		}
	}
}

// TestDNSCacheRandom compares the cache with its specification on random
// answers and lookups: few clients and addresses (so answers repeat and
// collide; in the last cases so few that a client's answers for an
// address fill its chain in a segment), both address families (and IPv4
// mapped into IPv6, the same address), times that mostly advance but
// also repeat and go back, responses larger than a segment, and many
// wraps.
func TestDNSCacheRandom(t *testing.T) {
	for _, c := range []struct{ max, addrs, clients int }{
		{1, 64, 6}, {2, 64, 6}, {5, 65, 6}, {16, 68, 6}, {100, 89, 6}, {1000, 314, 6}, {5000, 1314, 6},
		{1000, 2, 1}, {5000, 3, 2},
	} {
		max := c.max
		for seed := uint64(1); seed <= 3; seed++ {
			r := rand.New(rand.NewPCG(seed, uint64(max)))
			d := newDNSCacheDriver(max)
			addr := func() netip.Addr {
				i := r.IntN(c.addrs)
				v4 := netip.AddrFrom4([4]byte{17, 1, byte(i >> 8), byte(i)})
				switch {
				case i%3 == 2:
					return netip.AddrFrom16([16]byte{0x20, 0x01, 0xd, 0xb8, 15: byte(i), 14: byte(i >> 8)})
				case r.IntN(8) == 0:
					return netip.AddrFrom16(v4.As16()) // the same, mapped into IPv6
				}
				return v4
			}
			client := func() netip.Addr {
				a := netip.AddrFrom4([4]byte{10, 0, 0, byte(r.IntN(c.clients))})
				if r.IntN(8) == 0 {
					return netip.AddrFrom16(a.As16())
				}
				return a
			}
			var ts int64
			var addrs []netip.Addr
			for step := 0; step < 3000; step++ {
				ts += int64(r.IntN(20)) - 3
				addrs = addrs[:0]
				n := 1 + r.IntN(8)
				if r.IntN(50) == 0 {
					n = 1 + r.IntN(3*max+2) // across segments
				}
				for range n {
					if r.IntN(40) == 0 {
						addrs = append(addrs, netip.Addr{}) // a CNAME
						continue
					}
					addrs = append(addrs, addr())
				}
				name := fmt.Sprintf("h%d.apple.com", r.IntN(5))
				if r.IntN(100) == 0 {
					name = "" // no question
				}
				d.add(client(), name, addrs, ts)
				for range 3 {
					if err := d.check(client(), addr(), ts-int64(r.IntN(200))+20); err != nil {
						t.Fatalf("max %d, seed %d, step %d: %v", max, seed, step, err)
					}
				}
			}
		}
	}
}

// TestDNSCacheLookup shows what a lookup answers.
func TestDNSCacheLookup(t *testing.T) {
	dev, other := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")
	srv := netip.MustParseAddr("17.1.1.1")
	type answer struct {
		client netip.Addr
		name   string
		ts     int64
	}
	for _, c := range []struct {
		what    string
		max     int
		answers []answer
		at      int64
		want    string // "" for none
	}{
		{"nothing", 64, nil, 10, ""},
		{"the device's answer", 64, []answer{{dev, "a", 5}}, 10, "a"},
		{"the newest before the flow", 64, []answer{{dev, "a", 5}, {dev, "b", 8}, {dev, "c", 12}}, 10, "b"},
		{"at the flow's start", 64, []answer{{dev, "a", 5}, {dev, "b", 10}}, 10, "b"},
		{"only later answers: the newest", 64, []answer{{dev, "a", 12}, {dev, "b", 15}}, 10, "b"},
		{"another device's, with none of its own", 64, []answer{{other, "a", 5}, {other, "b", 20}}, 10, "b"},
		{"its own before another's", 64, []answer{{dev, "a", 5}, {other, "b", 8}}, 10, "a"},
		{"the oldest forgotten", 2, []answer{{dev, "a", 1}, {other, "b", 2}, {other, "c", 3}}, 10, "c"},
		{"all forgotten but another's", 1, []answer{{dev, "a", 1}, {other, "b", 2}}, 10, "b"},
	} {
		t.Run(c.what, func(t *testing.T) {
			d := newDNSCacheDriver(c.max)
			for _, a := range c.answers {
				d.add(a.client, a.name, []netip.Addr{srv}, a.ts)
			}
			n, ok := d.c.lookup(dev, srv, c.at)
			if n.query != c.want || ok != (c.want != "") {
				t.Errorf("lookup = %q %v, want %q", n.query, ok, c.want)
			}
			if err := d.check(dev, srv, c.at); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestDNSCacheChainBound feeds one client's answers for one address with
// times going back and forth, so every segment holds answers before and
// after any lookup's time, and checks that no segment links more than
// dnsChainMax of them for a lookup to walk.
func TestDNSCacheChainBound(t *testing.T) {
	d := newDNSCacheDriver(4096)
	dev, srv := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("17.1.1.1")
	for i := range 20_000 {
		d.add(dev, fmt.Sprintf("h%d.apple.com", i%3), []netip.Addr{srv}, int64(i%2*1000+i))
	}
	if err := d.check(dev, srv, 500); err != nil {
		t.Fatal(err)
	}
	hk := d.c.hashKey(d.c.hashAddr(addrOf(srv)), d.c.hashClient(addrOf(dev)))
	for i := range d.c.segs {
		s := &d.c.segs[i]
		_, e := s.findKey(hk, addrOf(dev), addrOf(srv))
		n := 0
		for ; e >= 0; e = int(s.recs[e].prev) - 1 {
			n++
		}
		if n > dnsChainMax || len(s.recs) > dnsChainMax && n != dnsChainMax {
			t.Errorf("segment %d of %d records: a chain of %d", i, len(s.recs), n)
		}
	}
}

// TestDNSCacheSizes checks how caches of several sizes are cut into
// segments: powers of two, at most dnsSegMax answers, enough of them to
// hold the last max answers, and the default size as measured.
func TestDNSCacheSizes(t *testing.T) {
	for _, max := range []int{1, 2, 7, 8, 300, 2048, 131072, 1 << 20, maxDNSEntries, 2 * maxDNSEntries} {
		c := newDNSCache(max)
		s, n := c.segSize, len(c.segs)
		if s&(s-1) != 0 || s > dnsSegMax || (n-1)*s < c.max || n < 2 || n > dnsMaxSegs || c.fwords&(c.fwords-1) != 0 {
			t.Errorf("max %d: %d segments of %d answers, %d filter words", max, n, s, c.fwords)
		}
	}
	if c := newDNSCache(131072); c.segSize != dnsSegDefault {
		t.Errorf("default cache: segments of %d answers, want %d", c.segSize, dnsSegDefault)
	}
}

// TestDNSCacheFixedMemory checks that a full cache allocates nothing: the
// ring is reused.
func TestDNSCacheFixedMemory(t *testing.T) {
	ms := benchDNSMessages(64)
	c := newDNSCache(1000)
	client := netip.MustParseAddr("10.0.0.1")
	i := 0
	feed := func() {
		for range 200 {
			c.add(client, ms[i%len(ms)], int64(i))
			c.lookup(client, ms[i%len(ms)].Answers[3].Addr, int64(i))
			i++
		}
	}
	feed()
	if a := testing.AllocsPerRun(5, feed); a != 0 {
		t.Errorf("%.1f allocations a round, want 0", a)
	}
}

// FuzzDNSCache drives the cache and its specification with answers and
// lookups made of the input's bytes.
func FuzzDNSCache(f *testing.F) {
	f.Add(uint8(3), []byte("\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c"))
	f.Add(uint8(1), []byte("\x00\x00\x00\x00\xff\xff\xff\xff\x10\x20\x30\x40\x50"))
	f.Add(uint8(40), []byte("\x07\x11\x07\x11\x07\x11\x80\x90\x07\x11\x07\x11\x07\x11\x07\x11\x00\x01"))
	f.Fuzz(func(t *testing.T, max uint8, ops []byte) {
		d := newDNSCacheDriver(int(max))
		addr := func(b byte) netip.Addr {
			if b&0x80 != 0 {
				return netip.AddrFrom16([16]byte{0x20, 0x01, 15: b & 0x1f})
			}
			return netip.AddrFrom4([4]byte{17, 0, 0, b & 0x1f})
		}
		client := func(b byte) netip.Addr { return netip.AddrFrom4([4]byte{10, 0, 0, b & 3}) }
		var ts int64
		var addrs []netip.Addr
		for len(ops) >= 3 {
			op, x, y := ops[0], ops[1], ops[2]
			ops = ops[3:]
			if op&1 == 0 { // a lookup
				if err := d.check(client(op>>1), addr(x), ts-int64(y)+16); err != nil {
					t.Fatal(err)
				}
				continue
			}
			ts += int64(int8(y)) // times may go back
			addrs = addrs[:0]
			for i := range 1 + int(op>>4) {
				addrs = append(addrs, addr(x+byte(i)*byte(y|1)))
			}
			d.add(client(op>>1), fmt.Sprintf("h%d", op>>3&1), addrs, ts)
		}
	})
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

// BenchmarkDNSCacheResolver times what a resolver's response costs the
// cache of the default size: learning its 20 new answers, then the
// lookup of its flow (to the resolver, an address DNS never named). The
// response is rewritten in place each time, so it is in the CPU's cache,
// as a freshly decoded one is.
func BenchmarkDNSCacheResolver(b *testing.B) {
	c := newDNSCache(131072)
	m := benchDNSMessages(1)[0]
	resolver := netip.MustParseAddr("10.255.0.53")
	client := func(i int) netip.Addr { return netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}) }
	var n uint32
	round := func(i int) {
		for j := range m.Answers {
			n++
			m.Answers[j].Addr = netip.AddrFrom4([4]byte{17 + byte(n>>24)%64, byte(n >> 16), byte(n >> 8), byte(n)})
		}
		cl := client(i % 50_000)
		c.add(cl, m, int64(i))
		c.lookup(cl, resolver, int64(i))
	}
	for i := 0; i < 131072/20; i++ { // fill it
		round(i)
	}
	b.ReportAllocs()
	cpu := startCPU(b)
	for i := 0; i < b.N; i++ {
		round(i)
	}
	cpu.report(b)
}
