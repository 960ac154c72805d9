//go:build !cgo

package main

import (
	"fmt"

	"github.com/gopacket/gopacket/layers"
)

func compileBPF(_ layers.LinkType, expr string) (bpfProgram, error) {
	return nil, fmt.Errorf("filter %q: this orchard was built without cgo and cannot compile BPF filters: rebuild it with CGO_ENABLED=1 and libpcap, filter first (tcpdump -r in.pcap -w out.pcap '%s'), or narrow with --device, --since, --until", expr, expr)
}
