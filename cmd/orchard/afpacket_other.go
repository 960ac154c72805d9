//go:build !linux

package main

import (
	"context"
	"errors"
	"io"

	"orchard/analyzer"
)

// afpacketCapture says whether this build can capture through AF_PACKET.
const afpacketCapture = false

// defaultCapture is the live capture backend when --capture is not given.
const defaultCapture = "pcap"

func runAFPacket(ctx context.Context, eng *analyzer.Engine, o *options, stderr io.Writer) (*analyzer.LiveStats, error) {
	return nil, errors.New("--capture afpacket: AF_PACKET is Linux only; use --capture pcap")
}
