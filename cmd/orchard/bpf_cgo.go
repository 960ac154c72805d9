//go:build cgo

package main

import (
	"fmt"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcap"
	"golang.org/x/net/bpf"

	"orchard/capture"
)

// pcapBPF is a filter compiled by libpcap, matched in user space.
type pcapBPF struct{ b *pcap.BPF }

func compileBPF(link layers.LinkType, expr string) (bpfProgram, error) {
	b, err := pcap.NewBPF(link, capture.MaxCaptureLength, expr)
	if err != nil {
		return nil, fmt.Errorf("filter %q (link type %d): %w", expr, int(link), err)
	}
	return pcapBPF{b}, nil
}

func (p pcapBPF) matches(ts time.Time, data []byte, wireLen int) bool {
	return p.b.Matches(gopacket.CaptureInfo{Timestamp: ts, CaptureLength: len(data), Length: wireLen}, data)
}

// compileFilter compiles a capture filter expression with libpcap, for a
// socket that delivers frames of the given link type.
func compileFilter(link layers.LinkType, snaplen int, expr string) ([]bpf.RawInstruction, error) {
	ins, err := pcap.CompileBPFFilter(link, snaplen, expr)
	if err != nil {
		return nil, fmt.Errorf("capture filter %q: %w", expr, err)
	}
	out := make([]bpf.RawInstruction, len(ins))
	for i, in := range ins {
		out[i] = bpf.RawInstruction{Op: in.Code, Jt: in.Jt, Jf: in.Jf, K: in.K}
	}
	return out, nil
}
