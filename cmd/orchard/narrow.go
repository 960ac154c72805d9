package main

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/gopacket/gopacket/layers"

	"orchard/capture"
	"orchard/decode"
)

// narrowing keeps the packets of a file run that the user asked for: a
// BPF filter (-f or trailing arguments), one device (--device), a time
// window (--since, --until) and at most --count packets. It is an
// analyzer.PacketFilter.
type narrowing struct {
	bpf   *bpfSet // nil: no filter
	devIP netip.Addr
	mac   [6]byte
	isMAC bool
	proc  string
	dec   *decode.Decoder
	pkt   decode.Packet

	since, until window
	start        int64 // the first packet's time, for relative windows
	count, kept  int64
	err          error // a filter that could not be applied
}

// window is one end of --since/--until: an absolute time, or an offset from
// the capture's first packet.
type window struct {
	set      bool
	abs      int64
	relative time.Duration
	isRel    bool
}

func (w window) at(start int64) int64 {
	if w.isRel {
		return start + int64(w.relative)
	}
	return w.abs
}

// parseWindow reads RFC 3339 (with or without fractions) or a duration.
func parseWindow(flag, s string) (window, error) {
	if s == "" {
		return window{}, nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		if d < 0 {
			return window{}, fmt.Errorf("%s %q: a duration from the capture's start cannot be negative", flag, s)
		}
		return window{set: true, isRel: true, relative: d}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return window{set: true, abs: t.UnixNano()}, nil
	}
	return window{}, fmt.Errorf("%s %q: want an RFC 3339 time (2026-11-02T08:15:00Z) or a duration from the capture's start (10m, 1h30m)", flag, s)
}

// newNarrowing builds the filter for o, or returns nil when nothing is
// narrowed. Errors are usage errors.
func newNarrowing(o *options) (*narrowing, error) {
	n := &narrowing{count: o.count}
	var err error
	if n.since, err = parseWindow("--since", o.since); err != nil {
		return nil, err
	}
	if n.until, err = parseWindow("--until", o.until); err != nil {
		return nil, err
	}
	if n.since.set && n.until.set && n.since.isRel == n.until.isRel && n.until.at(0) < n.since.at(0) {
		return nil, fmt.Errorf("--until %s is before --since %s", o.until, o.since)
	}
	if o.count < 0 {
		return nil, errors.New("--count cannot be negative")
	}
	if o.device != "" {
		if err := n.setDevice(o.device); err != nil {
			return nil, err
		}
	}
	if o.filter != "" {
		if n.bpf, err = newBPFSet(o.filter); err != nil {
			return nil, err
		}
	}
	if n.bpf == nil && o.device == "" && !n.since.set && !n.until.set && o.count == 0 {
		return nil, nil
	}
	return n, nil
}

// setDevice reads --device: an IP address, a MAC address, or else a
// process name (as PKTAP and tcpdump -k captures carry).
func (n *narrowing) setDevice(s string) error {
	if a, err := netip.ParseAddr(s); err == nil {
		n.devIP = a.Unmap()
	} else if hw, err := net.ParseMAC(s); err == nil && len(hw) == 6 {
		copy(n.mac[:], hw)
		n.isMAC = true
	} else if strings.ContainsAny(s, " /\t") {
		return fmt.Errorf("--device %q: want an IP address, a MAC address or a process name", s)
	} else {
		n.proc = s
	}
	n.dec = decode.NewDecoder()
	return nil
}

// Keep implements analyzer.PacketFilter.
func (n *narrowing) Keep(p *capture.Packet) (keep, stop bool) {
	ts := p.Timestamp.UnixNano()
	if n.start == 0 {
		n.start = ts
	}
	if n.since.set && ts < n.since.at(n.start) {
		return false, false
	}
	if n.until.set && ts > n.until.at(n.start) {
		// A packet out of order may still be in the window: skip, do
		// not stop.
		return false, false
	}
	if n.dec != nil && !n.deviceMatch(p) {
		return false, false
	}
	if n.bpf != nil {
		ok, err := n.bpf.match(p)
		if err != nil {
			n.err = err
			return false, true
		}
		if !ok {
			return false, false
		}
	}
	if n.count > 0 {
		if n.kept >= n.count {
			return false, true
		}
		n.kept++
	}
	return true, false
}

// deviceMatch reports whether p is to or from the --device.
func (n *narrowing) deviceMatch(p *capture.Packet) bool {
	if n.proc != "" && p.Proc != "" {
		return p.Proc == n.proc
	}
	if err := n.dec.Decode(p.LinkType, p.Data, &n.pkt); err != nil && n.pkt.IPVersion == 0 && !n.pkt.HasMAC {
		return false
	}
	switch {
	case n.isMAC:
		return n.pkt.HasMAC && (n.pkt.SrcMAC == n.mac || n.pkt.DstMAC == n.mac)
	case n.proc != "":
		return n.pkt.Proc() == n.proc
	}
	return n.pkt.Src.Unmap() == n.devIP || n.pkt.Dst.Unmap() == n.devIP ||
		(n.pkt.Inner.Valid && (n.pkt.Inner.Src.Unmap() == n.devIP || n.pkt.Inner.Dst.Unmap() == n.devIP))
}

// bpfSet holds a BPF expression compiled per link type, as pcapng files
// can mix them.
type bpfSet struct {
	expr  string
	progs map[layers.LinkType]bpfProgram
}

// bpfProgram is a compiled filter (libpcap's, in cgo builds).
type bpfProgram interface {
	matches(ts time.Time, data []byte, wireLen int) bool
}

func newBPFSet(expr string) (*bpfSet, error) {
	s := &bpfSet{expr: expr, progs: map[layers.LinkType]bpfProgram{}}
	// Compile once for Ethernet now so that a typo is a usage error
	// before anything is read.
	if _, err := s.prog(layers.LinkTypeEthernet); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *bpfSet) prog(link layers.LinkType) (bpfProgram, error) {
	if p, ok := s.progs[link]; ok {
		return p, nil
	}
	p, err := compileBPF(link, s.expr)
	if err != nil {
		return nil, err
	}
	s.progs[link] = p
	return p, nil
}

func (s *bpfSet) match(p *capture.Packet) (bool, error) {
	link, data, wire := p.LinkType, p.Data, p.WireLen
	if link == linkPKTAP {
		// libpcap cannot filter Apple PKTAP: filter the frame inside it,
		// with its own link type, as tcpdump on macOS does.
		var ok bool
		if link, data, ok = pktapInner(data); !ok {
			return false, nil
		}
		wire -= len(p.Data) - len(data)
	}
	prog, err := s.prog(link)
	if err != nil {
		return false, err
	}
	return prog.matches(p.Timestamp, data, wire), nil
}

// linkPKTAP is Apple's PKTAP link type (DLT_PKTAP), what rvictl captures.
const linkPKTAP = layers.LinkType(258)

// pktapInner returns the link type and frame inside a PKTAP header: its
// length (little-endian, as Apple writes it) at 0, the inner DLT at 8.
func pktapInner(b []byte) (layers.LinkType, []byte, bool) {
	if len(b) < 12 {
		return 0, nil, false
	}
	hl := int(uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24)
	dlt := uint32(b[8]) | uint32(b[9])<<8 | uint32(b[10])<<16 | uint32(b[11])<<24
	if hl < 12 || hl > len(b) || dlt > 0xffff {
		return 0, nil, false
	}
	return layers.LinkType(dlt), b[hl:], true
}

// bpfKeyword reports whether a word starts a BPF expression rather than
// naming a file: orchard x.pcap port 53, orchard -r x.pcap not icmp.
func bpfKeyword(w string) bool {
	if _, err := os.Stat(w); err == nil {
		return false
	}
	switch strings.TrimLeft(w, "!(") {
	case "host", "net", "port", "portrange", "src", "dst", "ether", "ip", "ip6", "arp", "rarp",
		"tcp", "udp", "icmp", "icmp6", "sctp", "igmp", "vlan", "mpls", "not", "less", "greater",
		"proto", "gateway", "broadcast", "multicast", "inbound", "outbound", "pppoed", "pppoes",
		"wlan", "type", "subtype", "len", "":
		return true
	}
	return false
}
