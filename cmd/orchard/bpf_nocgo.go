//go:build !cgo

package main

import (
	"fmt"

	"github.com/gopacket/gopacket/layers"
	"golang.org/x/net/bpf"
)

func compileBPF(_ layers.LinkType, expr string) (bpfProgram, error) {
	return nil, fmt.Errorf("filter %q: this orchard was built without cgo and cannot compile BPF filters: rebuild it with CGO_ENABLED=1 and libpcap, filter first (tcpdump -r in.pcap -w out.pcap '%s'), or narrow with --device, --since, --until", expr, expr)
}

// compileFilter cannot compile filter expressions without libpcap: no
// maintained pure-Go compiler of the pcap filter language exists
// (golang.org/x/net/bpf assembles instructions, it does not parse
// expressions).
func compileFilter(link layers.LinkType, snaplen int, expr string) ([]bpf.RawInstruction, error) {
	return nil, fmt.Errorf("capture filter %q: this orchard was built without cgo, and compiling capture filters needs libpcap: rebuild with CGO_ENABLED=1, drop the filter (orchard ignores what it does not analyse), or filter with tcpdump (tcpdump -i IFACE -w - 'EXPR' | orchard -)", expr)
}
