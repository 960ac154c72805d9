//go:build !cgo

package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"orchard/analyzer"
)

// liveCapture says whether this build can capture from interfaces.
const liveCapture = false

var errNoLive = errors.New("this orchard was built without cgo and cannot capture live traffic: rebuild it with CGO_ENABLED=1 and libpcap, or capture with tcpdump and analyse the file (tcpdump -i IFACE -w - | orchard -)")

func runLive(ctx context.Context, eng *analyzer.Engine, o *options, stderr io.Writer) (*analyzer.LiveStats, error) {
	return nil, fmt.Errorf("-i %s: %w", o.iface, errNoLive)
}

func listInterfaces(stdout, stderr io.Writer) int {
	fmt.Fprintf(stderr, "orchard: -D: %v\n", errNoLive)
	return exitInput
}
