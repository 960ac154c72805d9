package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"orchard/analyzer"
)

const usageText = `orchard finds out which Apple services a network breaks, where, and why.

Usage:
  orchard [flags] [-r] CAPTURE...      analyse pcap/pcapng files (gzip'd too; '-' is stdin)
  orchard -i IFACE [flags] [BPF...]    analyse live traffic; Ctrl-C prints the final report
  orchard catalog [HOST|IP]            list Apple's published hosts, or look one up
  orchard version

Examples:
  orchard ipad.pcap                          one capture, one answer
  orchard -r monday.pcapng.gz -r tuesday.pcap several files, one timeline
  orchard --by device span-*.pcap            findings grouped per device
  orchard --format json capture.pcap | jq '.findings[] | select(.severity=="error")'
  orchard --format ndjson capture.pcap > events.ndjson
  orchard --fail-on error capture.pcap || echo "Apple services are broken"
  orchard --write-evidence broken.pcapng capture.pcap
  tcpdump -i en0 -w - | orchard -
  sudo orchard -i eth1 --duration 10m port 443 or port 5223 or port 53 or port 123
  orchard catalog courier.push.apple.com

Exit status: 0 fine, 1 unreadable input (other files are still analysed),
2 bad flags, 3 findings at or above --fail-on.

Flags:
`

type options struct {
	reads      []string
	iface      string
	listIfaces bool
	filter     string
	snaplen    int
	bufferMiB  int
	promisc    bool
	duration   time.Duration
	count      int64
	every      time.Duration
	format     string
	events     string
	output     string
	catalogs   []string
	failOn     string
	evidence   string
	by         string
	allHosts   bool
	noColor    bool
	maxFlows   int
	workers    int
	quiet      bool
	version    bool
	cpuProfile string
	sensorOptions
}

func newFlags(o *options, stderr io.Writer) *pflag.FlagSet {
	fs := pflag.NewFlagSet("orchard", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.SortFlags = false
	fs.StringArrayVarP(&o.reads, "read", "r", nil, "read a capture `FILE` (repeatable; '-' is stdin)")
	fs.StringVarP(&o.iface, "interface", "i", "", "capture live on `IFACE`")
	fs.BoolVarP(&o.listIfaces, "list-interfaces", "D", false, "list the interfaces live capture can use")
	fs.StringVarP(&o.filter, "filter", "f", "", "BPF filter `EXPR` for live capture (or give it as trailing arguments)")
	fs.IntVar(&o.snaplen, "snaplen", 262144, "live capture snap length in bytes (large enough for TLS certificates)")
	fs.IntVarP(&o.bufferMiB, "buffer-size", "B", 32, "live capture kernel buffer in `MiB`: more absorbs longer bursts, and stays resident")
	fs.BoolVar(&o.promisc, "promisc", true, "put the interface in promiscuous mode (--promisc=false to not)")
	fs.DurationVar(&o.duration, "duration", 0, "stop live capture after this long (e.g. 10m)")
	fs.Int64Var(&o.count, "count", 0, "stop after this many packets")
	fs.DurationVar(&o.every, "report-every", 0, "live: print the service table this often (e.g. 1m)")
	fs.StringVar(&o.format, "format", "table", "report `FORMAT`: table, json, ndjson (events) or csv (findings)")
	fs.StringVarP(&o.output, "output", "o", "", "write the report to `FILE` instead of standard output")
	fs.StringVar(&o.events, "events", "", "also write the NDJSON event stream (flows, dns, findings) to `FILE`")
	fs.StringArrayVar(&o.catalogs, "catalog", nil, "extra or overriding catalog rows from a TSV `FILE` (repeatable)")
	fs.StringVar(&o.failOn, "fail-on", "", "exit 3 when findings at or above `LEVEL` (warn or error) exist")
	fs.StringVar(&o.evidence, "write-evidence", "", "write the packets of flagged flows, and the DNS answers that named them, to `FILE` (pcapng)")
	fs.StringVar(&o.by, "by", "service", "group the report by `GROUP`: service or device")
	fs.BoolVar(&o.allHosts, "all-hosts", false, "report findings for non-Apple hosts too")
	fs.BoolVar(&o.noColor, "no-color", false, "no colours in the terminal report")
	fs.IntVar(&o.maxFlows, "max-flows", 131072, "flow table cap (about 1 KiB a flow); the oldest flow is evicted (and counted) beyond it")
	fs.IntVar(&o.workers, "workers", defaultWorkers(), "analysis workers, one per core (up to 8) by default; reports are identical for any number")
	fs.BoolVarP(&o.quiet, "quiet", "q", false, "no progress bar or warnings on standard error")
	fs.BoolVar(&o.version, "version", false, "print the version and exit")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write a Go CPU profile of the analysis to `FILE` (for developers)")
	_ = fs.MarkHidden("cpuprofile")
	addSensorFlags(fs, &o.sensorOptions)
	fs.Usage = func() {
		fmt.Fprint(stderr, usageText)
		fs.PrintDefaults()
	}
	return fs
}

// defaultWorkers is one analysis worker per core, up to 8: beyond that the
// single reader and judge bound the speed.
func defaultWorkers() int { return min(runtime.NumCPU(), 8) }

func runAnalyze(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	var o options
	fs := newFlags(&o, stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if o.version {
		return runVersion(stdout)
	}
	if o.listIfaces {
		return listInterfaces(stdout, stderr)
	}
	switch o.format {
	case "table", "json", "ndjson", "csv":
	default:
		fmt.Fprintf(stderr, "orchard: --format %q: want table, json, ndjson or csv\n", o.format)
		return exitUsage
	}
	switch o.by {
	case "service", "device":
	default:
		fmt.Fprintf(stderr, "orchard: --by %q: want service or device\n", o.by)
		return exitUsage
	}
	if err := o.checkSensor(); err != nil {
		fmt.Fprintf(stderr, "orchard: %v\n", err)
		return exitUsage
	}
	var failOn analyzer.Severity
	if o.failOn != "" {
		s, ok := analyzer.ParseSeverity(o.failOn)
		if !ok || s == analyzer.SevInfo {
			fmt.Fprintf(stderr, "orchard: --fail-on %q: want warn or error\n", o.failOn)
			return exitUsage
		}
		failOn = s
	}
	files := o.reads
	if o.iface != "" {
		if o.snaplen <= 0 || o.bufferMiB <= 0 || o.bufferMiB > 4096 {
			fmt.Fprintln(stderr, "orchard: --snaplen must be positive and --buffer-size between 1 and 4096 MiB")
			return exitUsage
		}
		if len(files) > 0 {
			fmt.Fprintln(stderr, "orchard: give either -i or capture files, not both")
			return exitUsage
		}
		if fs.NArg() > 0 {
			if o.filter != "" {
				fmt.Fprintln(stderr, "orchard: give the capture filter either with -f or as trailing arguments, not both")
				return exitUsage
			}
			o.filter = strings.Join(fs.Args(), " ")
		}
	} else {
		files = append(files, fs.Args()...)
		if len(files) == 0 {
			fmt.Fprintln(stderr, "orchard: no capture given (try: orchard capture.pcap, or orchard -h)")
			return exitUsage
		}
	}

	cat, err := loadCatalog(o.catalogs)
	if err != nil {
		fmt.Fprintf(stderr, "orchard: %v\n", err)
		return exitInput
	}

	out := stdout
	if o.output != "" {
		f, err := os.Create(o.output)
		if err != nil {
			fmt.Fprintf(stderr, "orchard: %v\n", err)
			return exitInput
		}
		defer f.Close()
		out = f
	}
	bout := bufio.NewWriterSize(out, 64<<10)
	defer bout.Flush()

	live := o.iface != ""
	var sinks multiSink
	if o.format == "ndjson" {
		sinks = append(sinks, newNDJSONSink(bout, live))
	}
	if o.events != "" {
		f, err := o.openEvents()
		if err != nil {
			fmt.Fprintf(stderr, "orchard: %v\n", err)
			return exitInput
		}
		defer f.Close()
		w := bufio.NewWriterSize(f, 64<<10)
		defer w.Flush()
		sinks = append(sinks, newNDJSONSink(w, true))
	}
	if live && o.format == "table" {
		sinks = append(sinks, newLineSink(stderr, useColor(stderr, o.noColor)))
	}
	var ev *evidenceWriter
	if o.evidence != "" {
		ev, err = newEvidenceWriter(o.evidence)
		if err != nil {
			fmt.Fprintf(stderr, "orchard: %v\n", err)
			return exitInput
		}
	}
	if os.Getenv("GOGC") == "" && !live {
		// The heap is small and short-lived per packet: collect less often
		// (peak RSS stays far below the flow table's worth). Not live: a
		// sensor's full flow table would let the heap grow to five times it.
		debug.SetGCPercent(400)
	}
	cfg := analyzer.Config{Catalog: cat, MaxFlows: o.maxFlows, AllHosts: o.allHosts, Workers: o.workers}
	if len(sinks) > 0 {
		cfg.Sink = sinks
	}
	cfg.Sink = o.sensorSink(cfg.Sink)
	eng, err := analyzer.New(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "orchard: %v\n", err)
		return exitInput
	}
	if ev != nil {
		eng.SetRecorder(ev)
	}

	if o.cpuProfile != "" {
		f, err := os.Create(o.cpuProfile)
		if err != nil {
			fmt.Fprintf(stderr, "orchard: %v\n", err)
			return exitInput
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintf(stderr, "orchard: cpu profile: %v\n", err)
			return exitInput
		}
		defer pprof.StopCPUProfile()
	}

	var warnings, errs []string
	var liveStats *analyzer.LiveStats
	if live {
		liveStats, err = runLive(ctx, eng, &o, stderr)
		if err != nil {
			fmt.Fprintf(stderr, "orchard: %v\n", err)
			if liveStats == nil {
				return exitInput
			}
			// The capture broke off (the interface went away): report
			// what was seen, and exit 1.
			errs = append(errs, err.Error())
		}
		if w := dropWarning(liveStats); w != "" {
			warnings = append(warnings, w)
		}
	} else {
		prog := newProgress(stderr, o.quiet)
		for _, name := range files {
			var r io.Reader
			if name == "-" {
				r = stdin
			}
			w, err := eng.ReadFrom(ctx, name, r, prog.update)
			prog.done()
			if err != nil {
				if ctx.Err() != nil {
					warnings = append(warnings, "interrupted: report covers the packets read so far")
					break
				}
				errs = append(errs, err.Error())
				fmt.Fprintf(stderr, "orchard: %v\n", err)
				continue
			}
			if w != "" {
				warnings = append(warnings, w)
				if !o.quiet {
					fmt.Fprintf(stderr, "orchard: warning: %s\n", w)
				}
			}
		}
	}
	rep := eng.Finish()
	rep.Capture.Files = files
	if live {
		rep.Capture.Files = []string{o.iface}
		rep.Capture.Live = liveStats
	}
	rep.Capture.Warnings = append(warnings, rep.Capture.Warnings...)
	rep.Capture.Errors = errs
	o.finishSensor(rep)
	if ev != nil {
		if err := ev.Close(); err != nil {
			fmt.Fprintf(stderr, "orchard: %v\n", err)
		}
	}

	switch o.format {
	case "table":
		writeTable(bout, rep, o.by, useColor(out, o.noColor))
	case "json":
		writeReportJSON(bout, rep)
	case "ndjson":
		for _, s := range sinks {
			if n, ok := s.(*ndjsonSink); ok && !n.streamFindings {
				n.findings(rep.Findings)
			}
		}
	case "csv":
		writeFindingsCSV(bout, rep.Findings)
	}
	// Every event stream ends with the capture's counters.
	for _, s := range sinks {
		if n, ok := s.(*ndjsonSink); ok {
			n.summary(rep.Capture)
		}
	}
	if err := bout.Flush(); err != nil {
		fmt.Fprintf(stderr, "orchard: write report: %v\n", err)
		return exitInput
	}
	if len(errs) > 0 && len(errs) == len(files) {
		return exitInput
	}
	if failOn != 0 {
		for _, f := range rep.Findings {
			if f.Sev() >= failOn {
				return exitFindings
			}
		}
	}
	if len(errs) > 0 {
		return exitInput
	}
	return exitOK
}

func runVersion(w io.Writer) int {
	v := "devel"
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		v = bi.Main.Version
	}
	fmt.Fprintf(w, "orchard %s\n", v)
	return exitOK
}
