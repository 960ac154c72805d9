package analyzer

import (
	"math/rand/v2"
	"net/netip"
	"testing"

	"orchard/dissect"
	"orchard/flow"
)

// sinkholeSpec is isSinkhole as the rule says it, for the fast one to be
// checked against.
func sinkholeSpec(a netip.Addr) bool {
	a = a.Unmap()
	if a.IsUnspecified() || a.IsLoopback() {
		return true
	}
	if a.Is4() {
		b := a.As4()
		return b[0] == 146 && b[1] == 112 && b[2] == 61 && b[3] >= 104 && b[3] <= 110
	}
	return false
}

// TestSinkholeSpec checks isSinkhole against its definition, and that
// maySinkhole rules none of the sinkholes out: every IPv4
// address whose first byte may make it one, in both of its forms, the
// zero Addr, IPv6 addresses near :: and ::1 (with and without a zone)
// and random ones of both families.
func TestSinkholeSpec(t *testing.T) {
	check := func(a netip.Addr) {
		t.Helper()
		want := sinkholeSpec(a)
		if got := isSinkhole(a); got != want {
			t.Fatalf("%v: sinkhole %v, want %v", a, got, want)
		}
		if want && !maySinkhole(a) {
			t.Fatalf("%v: a sinkhole maySinkhole rules out", a)
		}
	}
	check(netip.Addr{})
	for _, first := range []byte{0, 1, 126, 127, 128, 145, 146, 147, 255} {
		for i := 0; i < 1<<16; i++ {
			for _, last := range []byte{0, 1, 103, 104, 107, 110, 111, 255} {
				a := netip.AddrFrom4([4]byte{first, byte(i >> 8), byte(i), last})
				check(a)
				check(netip.AddrFrom16(a.As16()))
			}
		}
	}
	for i := 0; i < 256; i++ {
		for _, b := range []int{0, 11, 12, 15} {
			var x [16]byte
			x[b] = byte(i)
			a := netip.AddrFrom16(x)
			check(a)
			check(a.WithZone("eth0"))
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 1<<16; i++ {
		var x [16]byte
		for j := range x {
			x[j] = byte(r.Uint32())
		}
		check(netip.AddrFrom16(x))
		check(netip.AddrFrom4([4]byte(x[:4])))
	}
}

// BenchmarkDNSResponse times the judge's own work for one response of 20
// answers (a CNAME and 19 addresses) that raises nothing, as most do: for
// an Apple name and for another one. The DNS cache's part is not in it.
func BenchmarkDNSResponse(b *testing.B) {
	for _, name := range []string{"gateway.icloud.com", "www123.example45.com"} {
		b.Run(name, func(b *testing.B) {
			e, err := New(Config{})
			if err != nil {
				b.Fatal(err)
			}
			m := &dissect.DNSMessage{Response: true, Questions: []dissect.DNSQuestion{{Name: name, Type: 1, Class: 1}}}
			m.Answers = append(m.Answers, dissect.DNSRecord{Name: name, Type: 5, Class: 1, Data: "e1.a.cdn-apple.com"})
			for i := 0; i < 19; i++ {
				m.Answers = append(m.Answers, dissect.DNSRecord{Name: "e1.a.cdn-apple.com", Type: 1, Class: 1, Addr: netip.AddrFrom4([4]byte{17, 253, 1, byte(i)})})
			}
			f := udpFlow(ruleDNS, 53, 1, 1)
			a := &flow.Answer{Client: ruleClient, Server: ruleDNS, Port: 53, Msg: m, TS: r0, Proto: "udp"}
			b.ReportAllocs()
			cpu := startCPU(b)
			for i := 0; i < b.N; i++ {
				e.judge.dnsResponse(f, a)
			}
			cpu.report(b)
			if n := len(e.judge.order); n != 0 {
				b.Fatalf("%d findings", n)
			}
		})
	}
}
