//go:build cgo

package main

import (
	"fmt"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcap"
	"golang.org/x/net/bpf"
)

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
