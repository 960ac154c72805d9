//go:build !cgo

package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"orchard/analyzer"
)

var errNoLive = errors.New("this orchard was built without cgo and cannot capture live traffic; rebuild with CGO_ENABLED=1 and libpcap, or analyse a capture file")

func runLive(ctx context.Context, eng *analyzer.Engine, o *options, stderr io.Writer) (*analyzer.LiveStats, error) {
	return nil, errNoLive
}

func listInterfaces(stdout, stderr io.Writer) int {
	fmt.Fprintf(stderr, "orchard: %v\n", errNoLive)
	return exitInput
}
