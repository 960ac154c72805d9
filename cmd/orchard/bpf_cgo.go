//go:build cgo

package main

import (
	"fmt"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcap"

	"orchard/analyzer/capture"
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
