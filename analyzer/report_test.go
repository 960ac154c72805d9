package analyzer

import (
	"cmp"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"

	"orchard/report"
)

// TestSortReport: sortReport gives the order sortFindings (a stable sort)
// gives, ties included.
func TestSortReport(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{0, 1, 2, 3, 17, 1000, 70000} {
		fs := make([]*Finding, n)
		for i := range fs {
			fs[i] = &Finding{
				Finding: []string{"tcp.reset", "dns.failure", "tcp.syn_unanswered"}[rng.IntN(3)],
				Host:    "h" + strconv.Itoa(rng.IntN(1+n/8)),
				Tally:   report.FindingTally{Sev: Severity(1 + rng.IntN(3))},
				Count:   i, // tells findings alike apart
			}
		}
		want := slices.Clone(fs)
		sortFindings(want)
		sortReport(fs)
		for i := range fs {
			if fs[i] != want[i] {
				t.Fatalf("%d findings: position %d holds finding %d, want %d", n, i, fs[i].Count, want[i].Count)
			}
		}
	}
}

// oldDeviceList is deviceList as it was, the reference for its results:
// an index of the devices rebuilt and every finding's client parsed.
func oldDeviceList(devs []*DeviceSummary, findings []*Finding) []*DeviceSummary {
	var idx devIndex
	for _, d := range devs {
		d.Findings = 0
		fillStrings(d)
		_, h := idx.find(d.Tally.Addr)
		idx.add(d, h, false)
	}
	for _, fd := range findings {
		if a, err := netip.ParseAddr(fd.Client); err == nil {
			if d, _ := idx.find(a); d != nil {
				d.Findings++
			} else if d, _ := idx.find(a.Unmap()); d != nil {
				d.Findings++
			}
		}
	}
	out := slices.Clone(devs)
	slices.SortFunc(out, func(a, b *DeviceSummary) int {
		if a.AppleFlows != b.AppleFlows {
			return cmp.Compare(b.AppleFlows, a.AppleFlows)
		}
		return strings.Compare(a.Address, b.Address)
	})
	return out
}

// TestDeviceListAsBefore: deviceList counts and orders devices as the
// reference does, for clients written in any form a report may hold:
// canonical, IPv4-mapped, upper case, unknown, not an address.
func TestDeviceListAsBefore(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{0, 1, 5, 300, 5000} {
		var addrs []netip.Addr
		for i := range n {
			var a netip.Addr
			switch i % 4 {
			case 0, 1:
				a = netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
			case 2:
				a = netip.AddrFrom16([16]byte{0xfe, 0x80, 14: byte(i >> 8), 15: byte(i)})
			case 3:
				a = netip.AddrFrom16(netip.AddrFrom4([4]byte{10, 9, byte(i >> 8), byte(i)}).As16()) // 4in6
			}
			addrs = append(addrs, a)
		}
		mk := func() []*DeviceSummary {
			ds := make([]*DeviceSummary, n)
			for i := range ds {
				ds[i] = &DeviceSummary{AppleFlows: i % 7, Tally: report.DeviceTally{Addr: addrs[i]}}
			}
			return ds
		}
		var fs []*Finding
		for range 4 * n {
			var c string
			if n > 0 {
				a := addrs[rng.IntN(n)]
				switch rng.IntN(6) {
				case 0:
					c = a.String()
				case 1:
					c = addrString(a)
				case 2:
					c = strings.ToUpper(a.String())
				case 3:
					c = netip.AddrFrom16(a.As16()).String()
				case 4:
					c = "10.255.255." + strconv.Itoa(rng.IntN(256))
				case 5:
					c = []string{"", "not an address", "10.0.0.256"}[rng.IntN(3)]
				}
			}
			for range 1 + rng.IntN(3) { // runs of one client
				fs = append(fs, &Finding{Client: c})
			}
		}
		want := oldDeviceList(mk(), fs)
		got := deviceList(mk(), fs, false)
		if len(got) != len(want) {
			t.Fatalf("%d devices: %d listed, want %d", n, len(got), len(want))
		}
		for i := range got {
			g, w := got[i], want[i]
			if g.Address != w.Address || g.Findings != w.Findings || g.Tally.Addr != w.Tally.Addr {
				t.Fatalf("%d devices: row %d is %s (%v) with %d findings, want %s (%v) with %d", n, i, g.Address, g.Tally.Addr, g.Findings, w.Address, w.Tally.Addr, w.Findings)
			}
		}
	}
}

// BenchmarkReportFull times the final report of full tables (65,536
// findings, hosts and devices): sorting, rolling up and listing.
func BenchmarkReportFull(b *testing.B) {
	e := fullTablesEngine(b)
	b.ReportAllocs()
	cpu := startCPU(b)
	for i := 0; i < b.N; i++ {
		e.report(e.view(nil))
	}
	cpu.report(b)
	b.StopTimer()
	e.Finish()
}

// BenchmarkReportParts times deviceList and sortReport on full tables
// against the reference (old) and sortFindings.
func BenchmarkReportParts(b *testing.B) {
	e := fullTablesEngine(b)
	defer e.Finish()
	v := e.view(nil)
	sortFindings(v.findings)
	fs := slices.Clone(v.findings)
	for _, c := range []struct {
		name string
		do   func()
	}{
		{"devices-old", func() { oldDeviceList(v.devs, v.findings) }},
		{"devices-new", func() { deviceList(v.devs, v.findings, false) }},
		{"sort-old", func() {
			copy(fs, v.findings)
			rand.Shuffle(len(fs), func(i, j int) { fs[i], fs[j] = fs[j], fs[i] })
			sortFindings(fs)
		}},
		{"sort-new", func() {
			copy(fs, v.findings)
			rand.Shuffle(len(fs), func(i, j int) { fs[i], fs[j] = fs[j], fs[i] })
			sortReport(fs)
		}},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			cpu := startCPU(b)
			for i := 0; i < b.N; i++ {
				c.do()
			}
			cpu.report(b)
		})
	}
}
