package main

import (
	"fmt"
	"time"

	"github.com/spf13/pflag"
)

// sensorOptions are the flags of live capture's backends and of running
// orchard as a long-lived sensor.
type sensorOptions struct {
	capture      string
	blockKiB     int
	metricsAddr  string
	healthStale  time.Duration
	renotify     time.Duration
	eventsSize   int64
	eventsAge    time.Duration
	eventsBackup int

	run *sensorRun // a live run's operations state
}

func addSensorFlags(fs *pflag.FlagSet, o *sensorOptions) {
	fs.StringVar(&o.capture, "capture", defaultCapture, "live capture `BACKEND`: afpacket (Linux: one socket per worker in a fanout group, no libpcap needed) or pcap (libpcap)")
	fs.IntVar(&o.blockKiB, "block-size", 1024, "AF_PACKET ring block in `KiB` (at least the snap length); the ring of each socket is --buffer-size")
	fs.StringVar(&o.metricsAddr, "metrics", "", "serve Prometheus metrics on /metrics and a health check on /healthz at `ADDR` (e.g. :9163)")
	fs.DurationVar(&o.healthStale, "health-stale", 5*time.Minute, "/healthz fails when no packet arrived for this long")
	fs.DurationVar(&o.renotify, "renotify", time.Hour, "live: a finding (name, device, host, port) streams once, then at most this often with its count (0: every time)")
	fs.Int64Var(&o.eventsSize, "events-max-size", 0, "rotate the --events file when it reaches this many `BYTES` (0: never)")
	fs.DurationVar(&o.eventsAge, "events-max-age", 0, "rotate the --events file this often (0: never); SIGHUP reopens it (for logrotate)")
	fs.IntVar(&o.eventsBackup, "events-keep", 7, "rotated --events files to keep")
}

// check validates the sensor flags.
func (o *sensorOptions) check() error {
	switch o.capture {
	case "afpacket", "pcap":
	default:
		return fmt.Errorf("--capture %q: want afpacket or pcap", o.capture)
	}
	if o.blockKiB < 4 || o.blockKiB > 1<<20 {
		return fmt.Errorf("--block-size %d: want 4 to 1048576 KiB", o.blockKiB)
	}
	if o.healthStale <= 0 || o.renotify < 0 || o.eventsSize < 0 || o.eventsAge < 0 || o.eventsBackup < 0 {
		return fmt.Errorf("--health-stale must be positive; --renotify, --events-max-size, --events-max-age and --events-keep not negative")
	}
	return nil
}
