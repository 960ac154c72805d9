//go:build cgo

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"time"

	"github.com/gopacket/gopacket/pcap"

	"orchard/analyzer"
)

// pcapCapture says whether this build can capture through libpcap.
const pcapCapture = true

// runPcap captures through libpcap on o.iface until ctx is cancelled, --duration passes,
// --count packets were read or the interface fails, feeding the engine as
// packets arrive. It returns nil stats only when the capture could not
// start; a later failure returns the stats so far with the error, so the
// caller can still print the report.
func runPcap(ctx context.Context, eng *analyzer.Engine, o *options, stderr io.Writer) (*analyzer.LiveStats, error) {
	h, err := openLive(o)
	if err != nil {
		return nil, err
	}
	defer h.Close()
	link := fileLinkType(runtime.GOOS, h.LinkType())
	if !o.quiet {
		fmt.Fprintf(stderr, "orchard: capturing on %s (link type %s, snap length %d); Ctrl-C prints the report\n", o.iface, link, o.snaplen)
	}

	c := liveCounters{iface: o.iface}
	c.poll(h)
	start := time.Now()
	deadline, nextReport := o.liveTimes(start)
	nextStats := start.Add(statsEvery)
	nextCheck := start.Add(checkEvery)
	var n int64
	sinceCheck := 0
	for {
		data, ci, rerr := h.ZeroCopyReadPacketData()
		idle := false
		switch {
		case rerr == nil:
			eng.FrameNS(link, data, ci.Timestamp.UnixNano(), ci.Length)
			n++
			if o.count > 0 && n >= o.count {
				return c.final(h), nil
			}
			// Look at the clock only now and then on a busy link: the
			// packet's own time stamp says when it is due.
			if sinceCheck++; sinceCheck < housekeepEvery && ci.Timestamp.Before(nextCheck) {
				continue
			}
		case errors.Is(rerr, pcap.NextErrorTimeoutExpired):
			idle = true
		case errors.Is(rerr, io.EOF):
			return c.final(h), nil
		default:
			// libpcap's own text says what happened ("The interface
			// disappeared"); gopacket's error only says "Read Error".
			if msg := h.Error(); msg != nil && msg.Error() != "" {
				rerr = msg
			}
			return c.final(h), fmt.Errorf("capture on %s stopped after %d packets: %w", o.iface, n, rerr)
		}
		sinceCheck = 0
		if ctx.Err() != nil {
			return c.final(h), nil
		}
		now := time.Now()
		nextCheck = now.Add(checkEvery)
		if !deadline.IsZero() && !now.Before(deadline) {
			return c.final(h), nil
		}
		if idle {
			eng.Idle(now)
		} else {
			eng.Flush()
		}
		if !now.Before(nextStats) {
			nextStats = now.Add(statsEvery)
			c.poll(h)
			o.publish(eng.ConcurrentStats, c.stats(), true)
			if w := c.newDrops(); w != "" && !o.quiet {
				fmt.Fprintf(stderr, "orchard: warning: %s\n", w)
			}
		}
		if !nextReport.IsZero() && !now.Before(nextReport) {
			nextReport = now.Add(o.every)
			c.poll(h)
			writeLiveSnapshot(stderr, eng, c.stats(), o)
		}
	}
}

// openLive opens and configures the capture handle for o.
func openLive(o *options) (*pcap.Handle, error) {
	in, err := pcap.NewInactiveHandle(o.iface)
	if err != nil {
		return nil, liveErr(o.iface, err)
	}
	defer in.CleanUp()
	if err := in.SetSnapLen(o.snaplen); err != nil {
		return nil, liveErr(o.iface, err)
	}
	if err := in.SetPromisc(o.promisc); err != nil {
		return nil, liveErr(o.iface, err)
	}
	if err := in.SetTimeout(liveReadTimeout); err != nil {
		return nil, liveErr(o.iface, err)
	}
	// No immediate mode: on Linux it makes libpcap fall back from
	// TPACKET_V3, which packs packets into the ring, to TPACKET_V2 with
	// fixed frames as large as the snap length or the offload size (64
	// KiB), so a 32 MiB buffer held about a thousand packets and dropped
	// 0.8% at 58,000 packets/s where V3 dropped none. Packets wait at most
	// the read timeout, which no report needs shorter.
	_ = in.SetBufferSize(o.bufferMiB << 20) // best effort
	h, err := in.Activate()
	if err != nil {
		return nil, liveErr(o.iface, err)
	}
	if o.filter != "" {
		if err := h.SetBPFFilter(o.filter); err != nil {
			h.Close()
			return nil, fmt.Errorf("capture filter %q: %w", o.filter, err)
		}
	}
	return h, nil
}

// liveCounters accumulates libpcap's statistics, whose counters are 32 bits
// wide in C and wrap after about 12 hours at 100,000 packets per second.
type liveCounters struct {
	iface                      string
	ok                         bool
	last                       pcap.Stats
	recv, drop, ifdrop, warned uint64
}

// poll reads the handle's counters and adds what changed since the last
// read, modulo 2^32.
func (c *liveCounters) poll(h *pcap.Handle) {
	s, err := h.Stats()
	if err != nil {
		return
	}
	if c.ok {
		c.recv += uint64(uint32(s.PacketsReceived - c.last.PacketsReceived))
		c.drop += uint64(uint32(s.PacketsDropped - c.last.PacketsDropped))
		c.ifdrop += uint64(uint32(s.PacketsIfDropped - c.last.PacketsIfDropped))
	} else {
		c.recv, c.drop, c.ifdrop = uint64(uint32(s.PacketsReceived)), uint64(uint32(s.PacketsDropped)), uint64(uint32(s.PacketsIfDropped))
	}
	c.last, c.ok = *s, true
}

// newDrops returns a warning when packets were dropped since the last
// warning, at most once per doubling of the total so a long overload does
// not flood the terminal.
func (c *liveCounters) newDrops() string {
	d := c.drop + c.ifdrop
	if d == 0 || d < 2*c.warned {
		return ""
	}
	c.warned = d
	return dropWarning(c.stats())
}

func (c *liveCounters) stats() *analyzer.LiveStats {
	return &analyzer.LiveStats{Interface: c.iface, Backend: "pcap", Received: c.recv, DroppedKernel: c.drop, DroppedIface: c.ifdrop}
}

// final reads the counters one last time.
func (c *liveCounters) final(h *pcap.Handle) *analyzer.LiveStats {
	c.poll(h)
	return c.stats()
}

func listInterfaces(stdout, stderr io.Writer) int {
	devs, err := pcap.FindAllDevs()
	if err != nil {
		fmt.Fprintf(stderr, "orchard: %v\n", liveErr("any interface", err))
		return exitInput
	}
	for i, d := range devs {
		var addrs []string
		for _, a := range d.Addresses {
			addrs = append(addrs, a.IP.String())
		}
		line := fmt.Sprintf("%d.%s", i+1, d.Name)
		if d.Description != "" {
			line += " (" + d.Description + ")"
		}
		if f := ifaceFlags(d.Flags); f != "" {
			line += " [" + f + "]"
		}
		if len(addrs) > 0 {
			line += " " + strings.Join(addrs, ", ")
		}
		fmt.Fprintln(stdout, line)
	}
	return exitOK
}

// ifaceFlags names libpcap's interface flags the way tcpdump -D does.
func ifaceFlags(f uint32) string {
	const (
		loopback  = 0x1
		up        = 0x2
		running   = 0x4
		wireless  = 0x8
		connMask  = 0x30
		connected = 0x10
		disconn   = 0x20
	)
	var s []string
	if f&up != 0 {
		s = append(s, "Up")
	}
	if f&running != 0 {
		s = append(s, "Running")
	}
	if f&wireless != 0 {
		s = append(s, "Wireless")
	}
	if f&loopback != 0 {
		s = append(s, "Loopback")
	}
	switch f & connMask {
	case connected:
		s = append(s, "Connected")
	case disconn:
		s = append(s, "Disconnected")
	}
	return strings.Join(s, ", ")
}
