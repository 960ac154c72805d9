//go:build cgo

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/gopacket/gopacket/pcap"

	"orchard/analyzer"
)

// runLive captures on o.iface until ctx is cancelled, --duration passes or
// --count packets were read, feeding the engine as packets arrive.
func runLive(ctx context.Context, eng *analyzer.Engine, o *options, stderr io.Writer) (*analyzer.LiveStats, error) {
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
	// A short read timeout lets Ctrl-C, --duration and --report-every act
	// promptly on a quiet link.
	if err := in.SetTimeout(200 * time.Millisecond); err != nil {
		return nil, liveErr(o.iface, err)
	}
	_ = in.SetImmediateMode(true)
	h, err := in.Activate()
	if err != nil {
		return nil, liveErr(o.iface, err)
	}
	defer h.Close()
	if o.filter != "" {
		if err := h.SetBPFFilter(o.filter); err != nil {
			return nil, fmt.Errorf("capture filter %q: %w", o.filter, err)
		}
	}
	if o.duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.duration)
		defer cancel()
	}
	if !o.quiet {
		fmt.Fprintf(stderr, "orchard: capturing on %s (link type %s); Ctrl-C prints the report\n", o.iface, h.LinkType())
	}
	link := h.LinkType()
	var tick <-chan time.Time
	if o.every > 0 {
		t := time.NewTicker(o.every)
		defer t.Stop()
		tick = t.C
	}
	var n int64
	var lastDrop int
	for ctx.Err() == nil {
		select {
		case <-tick:
			writeTable(stderr, eng.Snapshot(), "service", useColor(stderr, o.noColor))
		default:
		}
		data, ci, err := h.ZeroCopyReadPacketData()
		if err != nil {
			if errors.Is(err, pcap.NextErrorTimeoutExpired) {
				eng.Idle(time.Now())
				continue
			}
			if errors.Is(err, io.EOF) {
				break
			}
			return stats(h, o.iface), fmt.Errorf("capture on %s: %w", o.iface, err)
		}
		eng.FrameNS(link, data, ci.Timestamp.UnixNano(), ci.Length)
		n++
		if o.count > 0 && n >= o.count {
			break
		}
		if n&0xffff == 0 && !o.quiet {
			if s, err := h.Stats(); err == nil && s.PacketsDropped > lastDrop {
				fmt.Fprintf(stderr, "orchard: warning: the kernel dropped %d packets so far: findings may be incomplete\n", s.PacketsDropped)
				lastDrop = s.PacketsDropped
			}
		}
	}
	return stats(h, o.iface), nil
}

func stats(h *pcap.Handle, iface string) *analyzer.LiveStats {
	ls := &analyzer.LiveStats{Interface: iface}
	if s, err := h.Stats(); err == nil {
		ls.Received = uint64(s.PacketsReceived)
		ls.DroppedKernel = uint64(s.PacketsDropped)
		ls.DroppedIface = uint64(s.PacketsIfDropped)
	}
	return ls
}

// liveErr explains the usual reason live capture fails: permission.
func liveErr(iface string, err error) error {
	s := err.Error()
	if strings.Contains(s, "ermission") || strings.Contains(s, "not permitted") {
		return fmt.Errorf("capture on %s: %v\n  orchard needs capture permission: run it as root, or grant it once with\n    sudo setcap cap_net_raw,cap_net_admin=eip $(command -v orchard)   (Linux)\n  or join the access_bpf group (macOS, e.g. via Wireshark's ChmodBPF)", iface, err)
	}
	if strings.Contains(s, "No such device") || strings.Contains(s, "doesn't exist") {
		return fmt.Errorf("capture on %s: no such interface (orchard -D lists them)", iface)
	}
	return fmt.Errorf("capture on %s: %w", iface, err)
}

func listInterfaces(stdout, stderr io.Writer) int {
	devs, err := pcap.FindAllDevs()
	if err != nil {
		fmt.Fprintf(stderr, "orchard: %v\n", liveErr("any", err))
		return exitInput
	}
	for i, d := range devs {
		var addrs []string
		for _, a := range d.Addresses {
			addrs = append(addrs, a.IP.String())
		}
		desc := d.Description
		if len(addrs) > 0 {
			if desc != "" {
				desc += " "
			}
			desc += "(" + strings.Join(addrs, ", ") + ")"
		}
		fmt.Fprintf(stdout, "%d.%s %s\n", i+1, d.Name, desc)
	}
	return exitOK
}
