package analyzer

import (
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"

	"orchard/internal/capgen"
)

// fullTablesEngine returns a two-worker engine whose judge holds
// maxTracked findings, hosts and devices: unique SYNs, each from its own
// client to its own Apple address, through a small flow table that
// evicts (and so judges) them.
func fullTablesEngine(tb testing.TB) *Engine {
	tb.Helper()
	e, err := New(Config{Workers: 2, MaxFlows: 4096})
	if err != nil {
		tb.Fatal(err)
	}
	defer e.run.sync() // every packet judged: the probes measure the report alone
	ts := int64(1_800_000_000) * int64(time.Second)
	mac := [2][6]byte{{2, 0, 0, 0, 0, 1}, {2, 0, 0, 0, 0, 2}}
	var buf []byte
	for i := 1; i <= maxTracked+8192; i++ {
		s := capgen.TCP{
			Src:     netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}),
			Dst:     netip.AddrFrom4([4]byte{17, byte(i >> 16), byte(i >> 8), byte(i)}),
			SrcPort: uint16(1024 + i%60000), DstPort: 443, Flags: capgen.SYN, Seq: uint32(i) * 2654435761, TTL: 64,
		}
		buf = s.Ethernet(mac[0], mac[1])
		ts += int64(time.Microsecond)
		e.FrameNS(layers.LinkTypeEthernet, buf, ts, len(buf))
	}
	return e
}

// lockProbe measures, while it runs, the longest time a goroutine waits
// for the lock the judge needs.
type lockProbe struct {
	mu   *sync.Mutex
	stop atomic.Bool
	done chan struct{}
	max  time.Duration
	n    int
}

func startLockProbe(mu *sync.Mutex) *lockProbe {
	lp := &lockProbe{mu: mu, done: make(chan struct{})}
	go func() {
		defer close(lp.done)
		for !lp.stop.Load() {
			t0 := time.Now()
			lp.mu.Lock()
			d := time.Since(t0)
			lp.mu.Unlock()
			lp.max = max(lp.max, d)
			lp.n++
			time.Sleep(20 * time.Microsecond)
		}
	}()
	return lp
}

// end stops the probe and returns the longest wait.
func (lp *lockProbe) end() time.Duration {
	lp.stop.Store(true)
	<-lp.done
	return lp.max
}

// TestSnapshotFullTables checks that a report of full tables (every one
// at its cap) stops the judge only to copy them: the judge's lock is free
// for most of the time the report takes to build.
func TestSnapshotFullTables(t *testing.T) {
	if testing.Short() {
		t.Skip("fills the judge's tables")
	}
	e := fullTablesEngine(t)
	lp := startLockProbe(&e.par.mu)
	t0 := time.Now()
	r := e.Snapshot()
	build := time.Since(t0)
	hold := lp.end()
	t.Logf("snapshot of %d findings, %d hosts, %d devices: %v; the judge stopped for %v, a probe of its lock waited for at most %v", len(r.Findings), len(r.Hosts), len(r.Devices), build, e.par.held, hold)
	if len(r.Findings) != maxTracked || len(r.Hosts) != maxTracked || len(r.Devices) != maxTracked {
		t.Errorf("%d findings, %d hosts, %d devices: want %d each", len(r.Findings), len(r.Hosts), len(r.Devices), maxTracked)
	}
	if hold > build/2 {
		t.Errorf("the judge's lock was held for %v of the report's %v", hold, build)
	}
	e.Finish()
}

// BenchmarkSnapshotFull times a report of full tables, and the longest
// time a probe waited for the judge's lock meanwhile (probe-ms), and the
// longest the snapshot held it (held-ms).
func BenchmarkSnapshotFull(b *testing.B) {
	e := fullTablesEngine(b)
	var hold, held time.Duration
	b.ReportAllocs()
	cpu := startCPU(b)
	for i := 0; i < b.N; i++ {
		lp := startLockProbe(&e.par.mu)
		e.Snapshot()
		hold = max(hold, lp.end())
		held = max(held, e.par.held)
	}
	cpu.report(b)
	b.ReportMetric(float64(hold.Microseconds())/1000, "probe-ms")
	b.ReportMetric(float64(held.Microseconds())/1000, "held-ms")
	b.StopTimer()
	e.Finish()
}

// BenchmarkSnapshotView times the copy of full tables alone, the judge's
// pause.
func BenchmarkSnapshotView(b *testing.B) {
	e := fullTablesEngine(b)
	n := e.judge.tableSizes()
	b.ReportAllocs()
	var d time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		s := newSlabs(n)
		b.StartTimer()
		t0 := time.Now()
		e.view(s)
		d = max(d, time.Since(t0))
	}
	b.ReportMetric(float64(d.Microseconds())/1000, "max-ms")
	b.StopTimer()
	e.Finish()
}

// TestSnapshotOwnsItsReport reads whole snapshots (as an interval report
// is written) while lanes keep the judge adding to the same findings,
// hosts and devices: under -race, a report that shared the judge's
// records would race with it.
func TestSnapshotOwnsItsReport(t *testing.T) {
	e, err := New(Config{Workers: 2, MaxFlows: 64})
	if err != nil {
		t.Fatal(err)
	}
	lanes := e.Lanes()
	mac := [2][6]byte{{2, 0, 0, 0, 0, 1}, {2, 0, 0, 0, 0, 2}}
	var wg sync.WaitGroup
	var stop atomic.Bool
	for li, l := range lanes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ts := int64(1_800_000_000) * int64(time.Second)
			for i := 0; !stop.Load(); i++ {
				// Eight clients, four servers, two ports: the same
				// findings again and again, each flow evicted soon.
				s := capgen.TCP{
					Src: netip.AddrFrom4([4]byte{10, 0, byte(li), byte(i % 8)}), Dst: netip.AddrFrom4([4]byte{17, 253, 0, byte(i % 4)}),
					SrcPort: uint16(1024 + i%50000), DstPort: []uint16{443, 5223}[i%2], Flags: capgen.SYN, Seq: uint32(i), TTL: 64,
				}
				frame := s.Ethernet(mac[0], mac[1])
				ts += int64(time.Microsecond)
				l.FrameNS(layers.LinkTypeEthernet, frame, ts, len(frame))
				if i%64 == 0 {
					l.Flush()
				}
			}
			l.Flush()
		}()
	}
	for range 20 {
		r := e.Snapshot()
		n := 0
		for _, fd := range r.Findings {
			n += fd.Count + len(fd.Evidence) + len(fd.Last)
		}
		for _, h := range r.Hosts {
			n += h.Flows + len(h.Ports) + len(h.Servers) + len(h.Findings)
		}
		for _, d := range r.Devices {
			n += d.Flows + d.Findings + len(d.Processes) + len(d.Address)
		}
		if n == 0 && len(r.Findings) > 0 {
			t.Fatal("empty report records")
		}
		time.Sleep(time.Millisecond)
	}
	stop.Store(true)
	wg.Wait()
	if r := e.Finish(); len(r.Findings) == 0 || len(r.Hosts) == 0 {
		t.Errorf("%d findings, %d hosts: the lanes made none", len(r.Findings), len(r.Hosts))
	}
}
