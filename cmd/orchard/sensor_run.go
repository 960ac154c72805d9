package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"orchard/analyzer"
	"orchard/internal/sensor"
)

// sensorRun is the state of a live run's operations surface: the metrics
// server, the suppressor in front of the streaming sinks, the events file.
type sensorRun struct {
	metrics *sensor.Metrics
	srv     *http.Server
	supp    *sensor.Suppressor
	events  *sensor.RotatingFile
	hup     chan os.Signal

	mu      sync.Mutex // guards lastPub
	lastPub time.Time
}

// checkSensor validates the sensor flags, and rejects those that need live
// capture without it.
func (o *options) checkSensor() error {
	if err := o.check(); err != nil {
		return err
	}
	if o.iface == "" && o.metricsAddr != "" {
		return errors.New("--metrics needs live capture (-i)")
	}
	return nil
}

// rotatesEvents reports whether --events is a rotated stream (live, or
// with a size or age limit) rather than a file written whole.
func (o *options) rotatesEvents() bool {
	return o.iface != "" || o.eventsSize > 0 || o.eventsAge > 0
}

// openEvents opens the --events stream: appending, rotated
// by --events-max-size and --events-max-age and, live, reopened on SIGHUP.
func (o *options) openEvents() (io.WriteCloser, error) {
	r, err := sensor.OpenRotating(o.events, o.eventsSize, o.eventsAge, o.eventsBackup)
	if err != nil {
		return nil, err
	}
	s := o.sensorState()
	s.events = r
	if o.iface != "" {
		s.hup = make(chan os.Signal, 1)
		signal.Notify(s.hup, syscall.SIGHUP)
		go func() {
			for range s.hup {
				r.Reopen()
			}
		}()
	}
	return r, nil
}

func (o *options) sensorState() *sensorRun {
	if o.run == nil {
		o.run = &sensorRun{}
	}
	return o.run
}

// sensorSink puts the suppressor and the findings counter in front of a
// live run's streaming sinks.
func (o *options) sensorSink(next analyzer.Sink) analyzer.Sink {
	if o.iface == "" {
		return next
	}
	if next == nil {
		next = multiSink(nil)
	}
	s := o.sensorState()
	s.supp = &sensor.Suppressor{Next: next, Interval: o.renotify}
	if o.metricsAddr != "" {
		s.metrics = sensor.NewMetrics(o.healthStale)
		s.supp.Occurred = s.metrics.Finding
	}
	return s.supp
}

// startMetrics serves --metrics, failing at once when the address is
// taken.
func (o *options) startMetrics(stderr io.Writer) error {
	s := o.run
	if s == nil || s.metrics == nil {
		return nil
	}
	ln, err := net.Listen("tcp", o.metricsAddr)
	if err != nil {
		return fmt.Errorf("--metrics: %w", err)
	}
	s.srv = &http.Server{Handler: s.metrics.Handler(), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = s.srv.Serve(ln) }()
	if !o.quiet {
		fmt.Fprintf(stderr, "orchard: metrics on http://%s/metrics, health on /healthz\n", ln.Addr())
	}
	return nil
}

// publish hands the metrics the counters so far, at most once a second
// unless forced. The caller must be allowed to read the engine's
// counters (see analyzer.Engine.ConcurrentStats).
func (o *options) publish(stats func() analyzer.Stats, live *analyzer.LiveStats, force bool) {
	s := o.run
	if s == nil || s.metrics == nil {
		return
	}
	now := time.Now()
	s.mu.Lock()
	if !force && now.Sub(s.lastPub) < statsEvery {
		s.mu.Unlock()
		return
	}
	s.lastPub = now
	s.mu.Unlock()
	s.metrics.Publish(sensor.Status{Stats: stats(), Live: live, Outputs: o.fleet.outputStats()})
}

// publishVisibility hands the metrics the visibility of a report just
// assembled, for the SPAN loss estimate.
func (o *options) publishVisibility(v analyzer.Visibility) {
	if s := o.run; s != nil && s.metrics != nil {
		s.metrics.PublishVisibility(v)
	}
}

// finishSensor ends a run's operations: the suppressed findings' last
// counts go out (after the engine finished, before the summary), the
// metrics get the final counters and stop, SIGHUP is let go.
func (o *options) finishSensor(rep *analyzer.Report) {
	s := o.run
	if s == nil {
		return
	}
	if s.supp != nil {
		s.supp.Close()
	}
	if s.metrics != nil && rep != nil {
		s.metrics.Publish(sensor.Status{Stats: rep.Capture.Stats, Live: rep.Capture.Live})
		s.metrics.PublishVisibility(rep.Capture.Visibility)
	}
	if s.srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_ = s.srv.Shutdown(ctx)
		cancel()
	}
	if s.hup != nil {
		signal.Stop(s.hup)
		close(s.hup)
	}
}
