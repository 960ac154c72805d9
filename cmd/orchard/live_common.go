package main

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"orchard/analyzer"
	"orchard/internal/sensor"
)

// Live capture tuning. The read timeout bounds how late Ctrl-C, --duration
// and --report-every act on a quiet link.
const (
	liveReadTimeout = 200 * time.Millisecond
	// Between packets the loop checks for a stop, the deadline and due
	// reports every checkEvery, or after housekeepEvery packets at most
	// when time stamps go backwards.
	checkEvery     = 100 * time.Millisecond
	housekeepEvery = 4096
	// statsEvery is how often the kernel's counters are read: often enough
	// that their 32-bit counters cannot wrap twice between two reads.
	statsEvery = time.Second
)

// liveErr explains the usual reasons live capture cannot start, in one line.
func liveErr(iface string, err error) error {
	s := strings.ToLower(err.Error())
	switch {
	case strings.Contains(s, "permission") || strings.Contains(s, "not permitted"):
		return fmt.Errorf("no permission to capture on %s: %s", iface, grantHint())
	case strings.Contains(s, "no such device") || strings.Contains(s, "doesn't exist"):
		return fmt.Errorf("capture on %s: no such interface (orchard -D lists them)", iface)
	}
	return fmt.Errorf("capture on %s: %w", iface, err)
}

// grantHint says how to get capture permission on this system.
func grantHint() string {
	switch runtime.GOOS {
	case "linux":
		return "run orchard as root, or grant it once with: sudo setcap cap_net_raw,cap_net_admin=eip " + selfPath()
	case "darwin", "freebsd", "openbsd", "netbsd":
		return "run orchard with sudo, or get read access to /dev/bpf* (macOS: Wireshark's ChmodBPF, the access_bpf group)"
	}
	return "run orchard with administrator rights"
}

// selfPath is the running binary's path for the setcap hint.
func selfPath() string {
	p, err := os.Executable()
	if err != nil {
		return "$(command -v orchard)"
	}
	return p
}

// writeLiveSnapshot prints the service table so far (--report-every).
func writeLiveSnapshot(w io.Writer, eng *analyzer.Engine, ls *analyzer.LiveStats, o *options) {
	r := eng.Snapshot()
	r.Capture.Files = []string{o.iface}
	r.Capture.Live = ls
	if d := lossWarning(ls, &r.Capture.Visibility); d != "" {
		r.Capture.Warnings = append(r.Capture.Warnings, d)
	}
	o.publishVisibility(r.Capture.Visibility)
	fmt.Fprintf(w, "\n--- %s: report so far (flows still open are judged when they end) ---\n", time.Now().Format(time.RFC3339))
	writeTable(w, r, tableOptions{by: o.by, color: useColor(w, o.noColor), width: reportWidth(w), snapshot: true})
	o.fleet.snapshot(r)
}

// liveTimes returns when a live capture started at start ends (--duration)
// and is first reported (--report-every); zero times for never.
func (o *options) liveTimes(start time.Time) (deadline, nextReport time.Time) {
	if o.duration > 0 {
		deadline = start.Add(o.duration)
	}
	if o.every > 0 {
		nextReport = start.Add(o.every)
	}
	return deadline, nextReport
}

// lossLimit is the capture loss above which reports warn: beyond it,
// findings that rest on something not being seen (a SYN unanswered, a
// ClientHello without a reply) may be the capture's loss, not the
// network's.
const lossLimit = 0.001

// highLoss reports whether the capture lost more than lossLimit of the
// traffic: packets the kernel and the interface dropped, or, when v
// measured it, bytes the endpoints acknowledged that the capture never saw
// (loss at the SPAN port or the tap, which no socket counts).
func highLoss(l *analyzer.LiveStats, v *analyzer.Visibility) bool {
	return sensor.CaptureLoss(l, v) > lossLimit
}

// lossWarning describes a live capture's loss, packets dropped and bytes
// never seen, or returns "".
func lossWarning(l *analyzer.LiveStats, v *analyzer.Visibility) string {
	if l == nil {
		return ""
	}
	w := dropWarning(l)
	span, ok := sensor.SpanLoss(v)
	if !ok || span <= lossLimit {
		return w
	}
	if w != "" {
		w += "; "
	}
	return w + "the capture missed " + strconv.FormatUint(v.MissedBytes, 10) + " of the " + strconv.FormatUint(v.AckedBytes, 10) +
		" bytes the endpoints acknowledged" + percent(v.MissedBytes, v.AckedBytes) +
		", lost before the capture (at the SPAN port, the tap or its link): findings that rest on something not being seen may be the capture's loss, not the network's"
}
