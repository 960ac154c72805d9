//go:build !cgo

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"

	"orchard/analyzer"
)

// pcapCapture says whether this build can capture through libpcap.
const pcapCapture = false

var errNoPcap = errors.New("this orchard was built without cgo and cannot capture through libpcap: on Linux use --capture afpacket (the default there), or rebuild it with CGO_ENABLED=1 and libpcap, or capture with tcpdump and analyse the file (tcpdump -i IFACE -w - | orchard -)")

func runPcap(ctx context.Context, eng *analyzer.Engine, o *options, stderr io.Writer) (*analyzer.LiveStats, error) {
	return nil, fmt.Errorf("-i %s: %w", o.iface, errNoPcap)
}

// listInterfaces lists the system's interfaces as tcpdump -D does, from
// the standard library (no libpcap here).
func listInterfaces(stdout, stderr io.Writer) int {
	ifs, err := net.Interfaces()
	if err != nil {
		fmt.Fprintf(stderr, "orchard: -D: %v\n", err)
		return exitInput
	}
	for i, in := range ifs {
		var f []string
		if in.Flags&net.FlagUp != 0 {
			f = append(f, "Up")
		}
		if in.Flags&net.FlagRunning != 0 {
			f = append(f, "Running")
		}
		if in.Flags&net.FlagLoopback != 0 {
			f = append(f, "Loopback")
		}
		line := fmt.Sprintf("%d.%s", i+1, in.Name)
		if len(f) > 0 {
			line += " [" + strings.Join(f, ", ") + "]"
		}
		if addrs, err := in.Addrs(); err == nil && len(addrs) > 0 {
			var s []string
			for _, a := range addrs {
				if n, ok := a.(*net.IPNet); ok {
					s = append(s, n.IP.String())
				}
			}
			line += " " + strings.Join(s, ", ")
		}
		fmt.Fprintln(stdout, line)
	}
	return exitOK
}
