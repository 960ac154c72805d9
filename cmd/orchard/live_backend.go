package main

import (
	"context"
	"fmt"
	"io"

	"orchard/analyzer"
)

// liveCapture says whether this build can capture from interfaces at all.
const liveCapture = pcapCapture || afpacketCapture

// runLive captures on o.iface through the backend --capture names until
// ctx is cancelled, --duration passes, --count packets were read or the
// interface fails, feeding the engine as packets arrive. It returns nil
// stats only when the capture could not start; a later failure returns
// the stats so far with the error, so the caller can still print the
// report.
func runLive(ctx context.Context, eng *analyzer.Engine, o *options, stderr io.Writer) (*analyzer.LiveStats, error) {
	if err := o.startMetrics(stderr); err != nil {
		return nil, err
	}
	switch o.capture {
	case "afpacket":
		return runAFPacket(ctx, eng, o, stderr)
	case "pcap":
		return runPcap(ctx, eng, o, stderr)
	}
	return nil, fmt.Errorf("--capture %q: want afpacket or pcap", o.capture)
}
