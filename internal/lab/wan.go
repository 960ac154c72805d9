//go:build linux

package lab

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"runtime"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// InNS runs fn on an OS thread moved into the named network namespace.
// Sockets fn creates (listeners, dialled connections) and TUN devices it
// opens stay in that namespace, and can be used from any goroutine after.
// The thread is never handed back to the runtime: it ends with fn.
func InNS(ns string, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread exits with this goroutine
		fd, err := unix.Open("/var/run/netns/"+ns, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			errc <- fmt.Errorf("lab: open namespace %s: %w", ns, err)
			return
		}
		err = unix.Setns(fd, unix.CLONE_NEWNET)
		unix.Close(fd)
		if err != nil {
			errc <- fmt.Errorf("lab: enter namespace %s: %w", ns, err)
			return
		}
		errc <- fn()
	}()
	return <-errc
}

// openTUN creates a TUN device (no packet information header) in the
// calling thread's namespace.
func openTUN(name string) (*os.File, error) {
	fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("lab: open /dev/net/tun: %w", err)
	}
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("lab: tun %s: %w", name, err)
	}
	ifr.SetUint16(unix.IFF_TUN | unix.IFF_NO_PI)
	if err := unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("lab: create tun %s: %w", name, err)
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("lab: tun %s: %w", name, err)
	}
	return os.NewFile(uintptr(fd), name), nil
}

// WAN delays the packets a router forwards between two links, in user
// space (the kernel here has no netem): the router's policy routing sends
// every packet arriving from either link, and every packet it sends itself
// to the server link, into TUN device lab-w0; the WAN holds each packet for
// Delay plus up to Jitter (never reordering) and writes it to TUN device
// lab-w1, from where the router forwards (or delivers) it as usual. Both
// directions are delayed, so the round trip over it is twice the delay
// (for the router's own connections too: see read).
type WAN struct {
	in, out *os.File
	wg      sync.WaitGroup
	mu      sync.Mutex
	delay   time.Duration
	jitter  time.Duration
	packets int
}

// SetDelay changes the one-way delay and jitter of the packets read next.
func (w *WAN) SetDelay(delay, jitter time.Duration) {
	w.mu.Lock()
	w.delay, w.jitter = delay, jitter
	w.mu.Unlock()
}

// WAN TUN device names.
const (
	WANIn  = "lab-w0"
	WANOut = "lab-w1"
)

// StartWAN sets up the delayed path inside the router namespace of r,
// between its client link and its server link, and starts relaying.
// Connections from the client to the router itself (a transparent proxy's
// port) are not delayed. Stop it with Close (or by closing the lab).
func StartWAN(ctx context.Context, r *Routed, delay, jitter time.Duration) (*WAN, error) {
	w := &WAN{delay: delay, jitter: jitter}
	err := InNS(r.Firewall, func() error {
		var err error
		if w.in, err = openTUN(WANIn); err != nil {
			return err
		}
		w.out, err = openTUN(WANOut)
		return err
	})
	if err != nil {
		w.closeFiles()
		return nil, err
	}
	fw := r.Firewall
	steps := [][]string{
		{"link", "set", WANIn, "up"},
		{"link", "set", WANOut, "up"},
		{"route", "add", "default", "dev", WANIn, "src", FwServerAddr, "table", "200"},
		// What leaves the WAN goes where it was going.
		{"rule", "add", "pref", "100", "iif", WANOut, "lookup", "local"},
		{"rule", "add", "pref", "101", "iif", WANOut, "lookup", "main"},
		// The client's packets to the router itself (a proxy) are local.
		{"rule", "add", "pref", "110", "iif", FwClientIf, "lookup", "local"},
		// The kernel does not route packets for its own address into a
		// TUN: the servers' answers to the router itself (a proxy's own
		// upstream connection) are local, and what the router sends them
		// is held twice as long instead (see read).
		{"rule", "add", "pref", "111", "iif", FwServerIf, "to", FwServerAddr, "lookup", "local"},
		// Everything else from either link, and the router's own packets
		// to the servers, crosses the WAN.
		{"rule", "add", "pref", "120", "iif", FwClientIf, "lookup", "200"},
		{"rule", "add", "pref", "121", "iif", FwServerIf, "lookup", "200"},
		{"rule", "add", "pref", "122", "to", ServerBaseAddr + "/24", "lookup", "200"},
		// The local table after those rules, not before them.
		{"rule", "add", "pref", "300", "lookup", "local"},
		{"rule", "del", "pref", "0"},
	}
	for _, s := range steps {
		if err := r.IP(fw, s...); err != nil {
			w.closeFiles()
			return nil, err
		}
	}
	for _, k := range []string{"net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf." + WANOut + ".rp_filter=0", "net.ipv4.conf." + WANOut + ".accept_local=1"} {
		if err := r.Exec(fw, "sysctl", "-q", "-w", k); err != nil {
			w.closeFiles()
			return nil, fmt.Errorf("lab: %s: %w", k, err)
		}
	}
	w.wg.Add(2)
	q := make(chan held, 4096)
	go w.read(q)
	go w.write(ctx, q)
	return w, nil
}

var fwServerIP = net.ParseIP(FwServerAddr)

type held struct {
	at  time.Time
	pkt []byte
}

func (w *WAN) read(q chan<- held) {
	defer w.wg.Done()
	defer close(q)
	var last time.Time
	for {
		b := make([]byte, 65536)
		n, err := w.in.Read(b)
		if err != nil {
			return
		}
		w.mu.Lock()
		delay, jitter := w.delay, w.jitter
		w.mu.Unlock()
		if n >= 20 && b[0]>>4 == 4 && net.IP(b[12:16]).Equal(fwServerIP) {
			delay *= 2 // the router's own: its answer comes back undelayed
		}
		at := time.Now().Add(delay)
		if jitter > 0 {
			at = at.Add(time.Duration(rand.Int64N(int64(jitter))))
		}
		if at.Before(last) {
			at = last // jitter never reorders
		}
		last = at
		select {
		case q <- held{at, b[:n]}:
		default: // a full queue drops, as a congested link does
		}
	}
}

func (w *WAN) write(ctx context.Context, q <-chan held) {
	defer w.wg.Done()
	for h := range q {
		if d := time.Until(h.at); d > 0 {
			select {
			case <-time.After(d):
			case <-ctx.Done():
				return
			}
		}
		if _, err := w.out.Write(h.pkt); err != nil && !errors.Is(err, os.ErrClosed) {
			continue
		}
		w.mu.Lock()
		w.packets++
		w.mu.Unlock()
	}
}

// Packets returns how many packets crossed the WAN.
func (w *WAN) Packets() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.packets
}

func (w *WAN) closeFiles() {
	if w.in != nil {
		w.in.Close()
	}
	if w.out != nil {
		w.out.Close()
	}
}

// Close stops the relay.
func (w *WAN) Close() error {
	w.closeFiles()
	w.wg.Wait()
	return nil
}
