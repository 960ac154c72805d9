package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gopacket/gopacket/layers"
	"golang.org/x/sys/unix"

	"orchard/analyzer"
	"orchard/internal/afring"
)

// afpacketCapture says whether this build can capture through AF_PACKET.
const afpacketCapture = true

// defaultCapture is the live capture backend when --capture is not given.
const defaultCapture = "afpacket"

// frameFeed is what a socket's goroutine feeds: the engine itself with one
// worker, or its worker's lane.
type frameFeed interface {
	FrameNS(link layers.LinkType, frame []byte, ts int64, wireLen int)
	Flush()
	Idle(now time.Time)
}

// afSocket is one AF_PACKET socket of the fanout group and its counters.
type afSocket struct {
	sock *afring.Socket
	feed frameFeed

	mu                    sync.Mutex // guards the counters below
	st                    afring.Stats
	warnedDrop, warnedFrz uint64
	warnedBad             bool

	packets atomic.Uint64 // frames handed to the engine
	// from: frames stamped before it came in while the group was still
	// forming (a socket takes every packet until it joins), and are
	// skipped: they are on another socket too, or of flows the complete
	// group may place elsewhere.
	from int64
}

// poll reads the socket's counters.
func (s *afSocket) poll() {
	st, err := s.sock.Stats()
	if err != nil {
		return
	}
	s.mu.Lock()
	s.st = st
	s.mu.Unlock()
}

// afGroup is the fanout group: one socket per analysis worker.
type afGroup struct {
	iface    string
	link     layers.LinkType
	socks    []*afSocket
	ifDrop0  uint64
	ifDropOK bool
}

// openAFPacket opens n sockets on o.iface joined in one PACKET_FANOUT
// group in hash mode with defragmentation: the kernel reassembles IPv4
// fragments and puts every packet of a flow, both directions, on the same
// socket (its fanout hash, __skb_get_hash_symmetric, orders the two
// endpoints before hashing).
func openAFPacket(o *options, n int) (*afGroup, error) {
	g := &afGroup{iface: o.iface}
	cfg := afring.Config{BlockTimeout: afBlockTimeout, Promiscuous: o.promisc}
	if o.iface == "any" {
		// All interfaces: cooked sockets give every packet from its IP
		// header, whatever the interface's link layer.
		g.link = layers.LinkTypeRaw
	} else {
		l, err := ifaceLinkType(o.iface)
		if err != nil {
			return nil, err
		}
		g.link = l
		cfg.Interface = o.iface
	}
	block := o.blockKiB << 10
	if block < o.snaplen+4096 {
		// A block must hold the largest packet the snap length lets in.
		block = roundPow2(o.snaplen + 4096)
	}
	cfg.BlockSize = block
	cfg.Blocks = max((o.bufferMiB<<20)/block, 2)
	if o.filter != "" {
		p, err := compileFilter(g.link, o.snaplen, o.filter)
		if err != nil {
			return nil, err
		}
		for _, ins := range p {
			cfg.Filter = append(cfg.Filter, unix.SockFilter{Code: ins.Op, Jt: ins.Jt, Jf: ins.Jf, K: ins.K})
		}
	}
	id := uint16(os.Getpid())
	for i := 0; i < n; i++ {
		sock, err := afring.Open(cfg)
		if err != nil {
			g.close()
			return nil, liveErr(o.iface, err)
		}
		s := &afSocket{sock: sock}
		g.socks = append(g.socks, s)
		if n > 1 {
			if err := sock.JoinFanout(id); err != nil {
				g.close()
				return nil, fmt.Errorf("capture on %s: %w", o.iface, err)
			}
		}
	}
	if n > 1 {
		from := time.Now().UnixNano()
		for _, s := range g.socks {
			s.from = from
		}
	}
	g.ifDrop0, g.ifDropOK = ifaceDrops(o.iface)
	return g, nil
}

// afBlockTimeout is how long the kernel fills a ring block before handing
// it over anyway: it bounds how late a packet on a quiet link is seen.
// Below a block's worth of traffic in that time, every block is a wake-up
// of the process, and each costs it about 0.2 ms of CPU here (the
// runtime's scheduler and sysmon spinning up and down again), as much as
// several hundred packets: 200 ms keeps that at five a second per socket.
const afBlockTimeout = 200 * time.Millisecond

// afWaitTimeout is how long a socket waits for a block before it tells
// its worker that the link is quiet and checks for a stop: longer than
// the block timeout, so a link with any traffic never times out.
const afWaitTimeout = afBlockTimeout + 50*time.Millisecond

func roundPow2(n int) int {
	p := 4096
	for p < n {
		p <<= 1
	}
	return p
}

func (g *afGroup) close() {
	for _, s := range g.socks {
		s.sock.Close()
	}
}

// stats adds up the sockets' counters.
func (g *afGroup) stats() *analyzer.LiveStats {
	ls := &analyzer.LiveStats{Interface: g.iface, Backend: "afpacket"}
	for _, s := range g.socks {
		s.mu.Lock()
		// Received is at least what was read (frames the socket took
		// before the group formed are counted and skipped).
		recv := max(s.st.Packets, s.packets.Load())
		ls.Received += recv
		ls.DroppedKernel += s.st.Drops
		ls.QueueFreezes += s.st.Freezes
		ls.Sockets = append(ls.Sockets, analyzer.SocketStats{Received: recv, Dropped: s.st.Drops, QueueFreezes: s.st.Freezes})
		s.mu.Unlock()
	}
	if g.ifDropOK {
		if d, ok := ifaceDrops(g.iface); ok && d >= g.ifDrop0 {
			ls.DroppedIface = d - g.ifDrop0
		}
	}
	return ls
}

func (g *afGroup) poll() {
	for _, s := range g.socks {
		s.poll()
	}
}

// runAFPacket captures through an AF_PACKET fanout group, one socket per
// worker, each socket's goroutine feeding its worker directly. Its
// contract is runLive's.
func runAFPacket(ctx context.Context, eng *analyzer.Engine, o *options, stderr io.Writer) (*analyzer.LiveStats, error) {
	lanes := eng.Lanes()
	n := max(len(lanes), 1)
	g, err := openAFPacket(o, n)
	if err != nil {
		return nil, err
	}
	defer g.close()
	for i, s := range g.socks {
		if lanes != nil {
			s.feed = lanes[i]
		} else {
			s.feed = eng
		}
	}
	if !o.quiet {
		fmt.Fprintf(stderr, "orchard: capturing on %s through AF_PACKET (%d socket%s in a fanout group, link type %s, snap length %d); Ctrl-C prints the report\n", o.iface, n, plural(n), g.link, o.snaplen)
	}

	var (
		stop    atomic.Bool
		wg      sync.WaitGroup
		counted atomic.Int64
		errMu   sync.Mutex
		capErr  error
	)
	halt := make(chan struct{}, 1)
	signalHalt := func() {
		stop.Store(true)
		select {
		case halt <- struct{}{}:
		default:
		}
	}
	start := time.Now()
	deadline, nextReport := o.liveTimes(start)
	// With one socket and no lanes the engine is not safe to share:
	// its goroutine writes the periodic reports itself.
	inlineReport := lanes == nil
	var reportMu sync.Mutex
	report := func() {
		reportMu.Lock()
		defer reportMu.Unlock()
		g.poll()
		writeLiveSnapshot(stderr, eng, g.stats(), o)
	}
	for _, s := range g.socks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var lastPub time.Time
			err := s.read(o, g.link, &stop, &counted, func() {
				if now := time.Now(); lanes == nil && now.Sub(lastPub) >= statsEvery {
					// This goroutine owns the engine. The counters are
					// gathered (from the sockets and sysfs) once a
					// second, not at every housekeeping.
					lastPub = now
					o.publish(eng.Stats, g.stats(), true)
				}
				if inlineReport && !nextReport.IsZero() && !time.Now().Before(nextReport) {
					nextReport = time.Now().Add(o.every)
					report()
				}
			}, signalHalt)
			if err != nil {
				errMu.Lock()
				if capErr == nil {
					capErr = err
				}
				errMu.Unlock()
				signalHalt()
			}
		}()
	}

	// The loop wakes once a second (and at the deadline): every wake-up
	// of an idle process costs it the runtime's scheduler spinning up.
	tick := time.NewTicker(statsEvery)
	defer tick.Stop()
	var end <-chan time.Time
	if !deadline.IsZero() {
		t := time.NewTimer(time.Until(deadline))
		defer t.Stop()
		end = t.C
	}
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-halt:
			break loop
		case <-end:
			break loop
		case now := <-tick.C:
			g.poll()
			if lanes != nil {
				o.publish(eng.ConcurrentStats, g.stats(), true)
			}
			if w := g.newDrops(); w != "" && !o.quiet {
				fmt.Fprintf(stderr, "orchard: warning: %s\n", w)
			}
			if !inlineReport && !nextReport.IsZero() && !now.Before(nextReport) {
				nextReport = now.Add(o.every)
				report()
			}
		}
	}
	stop.Store(true)
	wg.Wait()
	g.poll()
	ls := g.stats()
	if errors.Is(capErr, afring.ErrInterfaceDown) {
		// The kernel flags the socket when its interface goes down or
		// away; say which.
		if _, err := net.InterfaceByName(o.iface); err != nil {
			capErr = errors.New("the interface disappeared")
		} else {
			capErr = errors.New("the interface went down")
		}
	}
	if capErr != nil {
		return ls, fmt.Errorf("capture on %s stopped after %d packets: %w", o.iface, g.packets(), capErr)
	}
	return ls, nil
}

// read is one socket's loop: frames to its feed, a ring block at a time,
// until stop is set (then the blocks the kernel still fills are read for
// one more block timeout: what arrived before the stop is analysed), the
// --count is reached (then halt) or the socket fails.
func (s *afSocket) read(o *options, link layers.LinkType, stop *atomic.Bool, counted *atomic.Int64, housekeep func(), halt func()) error {
	defer s.feed.Flush() // the lane's last frames and counters
	nextCheck := time.Now().Add(checkEvery)
	var drainUntil time.Time
	var p afring.Packet
	for {
		now := time.Now()
		wait := now.Add(afWaitTimeout)
		if !drainUntil.IsZero() {
			wait = drainUntil
		}
		w, err := s.sock.Next(wait)
		idle := false
		switch {
		case err == nil:
			n := uint64(0)
			for w.Next(&p) {
				if p.TS < s.from {
					continue
				}
				if o.count > 0 {
					if c := counted.Add(1); c >= o.count {
						if c == o.count {
							s.feed.FrameNS(link, p.Data, p.TS, p.WireLen)
							n++
						}
						s.packets.Add(n)
						halt()
						return nil
					}
				}
				s.feed.FrameNS(link, p.Data, p.TS, p.WireLen)
				n++
			}
			s.packets.Add(n)
			if now = time.Now(); now.Before(nextCheck) && drainUntil.IsZero() && !stop.Load() {
				continue
			}
		case errors.Is(err, afring.ErrTimeout):
			if !drainUntil.IsZero() {
				return nil
			}
			idle = true
			now = time.Now()
		default:
			return err
		}
		if stop.Load() {
			if drainUntil.IsZero() {
				drainUntil = now.Add(afBlockTimeout + afBlockTimeout/4)
			}
			if !now.Before(drainUntil) {
				return nil
			}
			continue
		}
		nextCheck = now.Add(checkEvery)
		if idle {
			s.feed.Idle(now)
		} else {
			s.feed.Flush()
		}
		housekeep()
	}
}

func (g *afGroup) packets() uint64 {
	var n uint64
	for _, s := range g.socks {
		n += s.packets.Load()
	}
	return n
}

// newDrops returns a warning when a socket dropped packets or froze its
// queue since the last warning, at most once per doubling of its totals.
func (g *afGroup) newDrops() string {
	var parts []string
	for i, s := range g.socks {
		s.mu.Lock()
		if s.st.Drops > 0 && s.st.Drops >= 2*s.warnedDrop {
			s.warnedDrop = s.st.Drops
			parts = append(parts, fmt.Sprintf("socket %d dropped %d of %d packets%s", i, s.st.Drops, s.st.Packets, percent(s.st.Drops, s.st.Packets)))
		}
		if s.st.Freezes > 0 && s.st.Freezes >= 2*s.warnedFrz {
			s.warnedFrz = s.st.Freezes
			parts = append(parts, fmt.Sprintf("socket %d's ring froze %d times (the analysis fell behind)", i, s.st.Freezes))
		}
		if s.st.BadBlocks > 0 && !s.warnedBad {
			s.warnedBad = true
			parts = append(parts, fmt.Sprintf("socket %d: %d ring blocks were cut short (%s)", i, s.st.BadBlocks, s.st.BadBlock))
		}
		s.mu.Unlock()
	}
	if len(parts) == 0 {
		return ""
	}
	return strings.Join(parts, "; ") + " (a larger --buffer-size absorbs longer bursts)"
}

// ifaceLinkType maps an interface's ARP hardware type to the link type of
// its raw AF_PACKET frames.
func ifaceLinkType(name string) (layers.LinkType, error) {
	b, err := os.ReadFile("/sys/class/net/" + name + "/type")
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return 0, fmt.Errorf("capture on %s: no such interface (orchard -D lists them)", name)
		}
		return 0, fmt.Errorf("capture on %s: %w", name, err)
	}
	t, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0, fmt.Errorf("capture on %s: interface type %q: %w", name, b, err)
	}
	switch t {
	case syscall.ARPHRD_ETHER, syscall.ARPHRD_LOOPBACK:
		return layers.LinkTypeEthernet, nil
	case syscall.ARPHRD_NONE: // tun, wireguard: IP packets
		return layers.LinkTypeRaw, nil
	}
	return 0, fmt.Errorf("capture on %s: interface type %d is not Ethernet or IP; try --capture pcap", name, t)
}

// ifaceDrops reads what the interface lost before any socket saw it: the
// NIC's missed and FIFO overruns, as libpcap counts them. Not rx_dropped:
// the kernel adds to it packets no protocol wanted, which the capture
// sockets saw (a veth with no addresses counts most of what it receives).
// "any" has none.
func ifaceDrops(name string) (uint64, bool) {
	if name == "any" {
		return 0, false
	}
	var sum uint64
	for _, stat := range []string{"rx_missed_errors", "rx_fifo_errors"} {
		b, err := os.ReadFile("/sys/class/net/" + name + "/statistics/" + stat)
		if err != nil {
			return 0, false
		}
		v, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
		if err != nil {
			return 0, false
		}
		sum += v
	}
	return sum, true
}
