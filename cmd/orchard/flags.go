package main

import (
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"orchard/analyzer"
)

const usageHead = `orchard finds out which Apple services a network breaks, where, and why.

Usage:
  orchard [flags] [-r] CAPTURE... [BPF...]  analyse pcap/pcapng files (gzip, zstd, lz4 too; '-' is stdin)
  orchard -i IFACE [flags] [BPF...]         analyse live traffic; Ctrl-C prints the final report
  orchard catalog [HOST|IP]                 list Apple's published hosts, or look one up
  orchard help [TOPIC]                      this text, or a topic: ` + helpTopicList + `
  orchard completion bash|zsh|fish          a shell completion script
  orchard version

Examples:
  orchard ipad.pcap                          one capture, one answer
  orchard -r monday.pcapng.gz -r tuesday.pcap several files, one timeline (merged by time)
  orchard --by device span-*.pcap            findings grouped per device
  orchard span.pcap port 53 or port 443      only the packets a BPF filter keeps
  orchard --device 10.20.30.41 span.pcap     one device (an address, a MAC or a process)
  orchard --since 10m --until 15m x.pcap     minutes 10 to 15 of the capture
  orchard --format json capture.pcap | jq '.findings[] | select(.severity=="error")'
  orchard --format ndjson capture.pcap > events.ndjson
  orchard --fail-on error capture.pcap || echo "Apple services are broken"
  orchard --write-evidence broken.pcapng capture.pcap
  tcpdump -i en0 -w - | orchard -
  sudo orchard -i eth1 --duration 10m port 443 or port 5223 or port 53 or port 123
  orchard catalog courier.push.apple.com

`

const exitStatusText = `Exit status:
  0    fine: every input read, no finding at or above --fail-on
  1    an input could not be read (the others are still analysed), or an
       output could not be written
  2    bad flags or arguments (nothing was read)
  3    findings at or above --fail-on (only when every input was read)
  70   internal error (a bug: orchard crashed; please report it)
  130  interrupted by SIGINT (Ctrl-C), 143 by SIGTERM: the report printed
       covers the packets read so far. A second signal exits at once.
       Live capture (-i) ends normally on the first signal.
When several apply, the first in this order wins: 2, 70, 130/143, 1, 3, 0.
`

// options are the analysis command's flags.
type options struct {
	reads       []string
	iface       string
	listIfaces  bool
	filter      string
	snaplen     int
	bufferMiB   int
	promisc     bool
	duration    time.Duration
	count       int64
	device      string
	since       string
	until       string
	every       time.Duration
	format      string
	events      string
	output      string
	catalogs    []string
	shapes      []string
	learnShapes string
	failOn      string
	evidence    string
	by          string
	allHosts    bool
	noColor     bool
	maxFlows    int
	workers     int
	quiet       bool
	version     bool
	cpuProfile  string
	memProfile  string
	memLimit    string
	fleet       fleetOptions
	sensorOptions
}

// newFlags is the one flag set of the analysis command: help, the man page
// and the shell completions are all generated from it.
func newFlags(o *options) *pflag.FlagSet {
	fs := pflag.NewFlagSet("orchard", pflag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are printed by parseFlags, in one line
	fs.Usage = func() {}
	fs.SortFlags = false
	fs.StringArrayVarP(&o.reads, "read", "r", nil, "read a capture `FILE` (repeatable; '-' is stdin)")
	fs.StringVarP(&o.iface, "interface", "i", "", "capture live on `IFACE`")
	fs.BoolVarP(&o.listIfaces, "list-interfaces", "D", false, "list the interfaces live capture can use")
	fs.StringVarP(&o.filter, "filter", "f", "", "BPF filter `EXPR` for live capture and files (or give it as trailing arguments)")
	fs.StringVar(&o.device, "device", "", "keep only the traffic of one device: an `IP`, a MAC or a process name")
	fs.StringVar(&o.since, "since", "", "skip packets before `TIME`: RFC 3339, or a duration from the capture's start (10m)")
	fs.StringVar(&o.until, "until", "", "skip packets after `TIME`: RFC 3339, or a duration from the capture's start")
	fs.Int64Var(&o.count, "count", 0, "stop after this many packets (after filtering)")
	fs.IntVar(&o.snaplen, "snaplen", 262144, "live capture snap length in bytes (large enough for TLS certificates)")
	fs.IntVarP(&o.bufferMiB, "buffer-size", "B", 32, "live capture kernel buffer in `MiB`: more absorbs longer bursts, and stays resident")
	fs.BoolVar(&o.promisc, "promisc", true, "put the interface in promiscuous mode (--promisc=false to not)")
	fs.DurationVar(&o.duration, "duration", 0, "stop live capture after this long (e.g. 10m)")
	fs.DurationVar(&o.every, "report-every", 0, "live: print the service table this often (e.g. 1m)")
	fs.StringVar(&o.format, "format", "table", "report `FORMAT`: table, json, ndjson (events), csv (findings), ecs (events in Elastic Common Schema) or html (a page to forward)")
	fs.StringVarP(&o.output, "output", "o", "", "write the report to `FILE` instead of standard output")
	fs.StringVar(&o.events, "events", "", "also write the NDJSON event stream (flows, dns, findings) to `FILE`")
	fs.StringArrayVar(&o.catalogs, "catalog", nil, "extra or overriding catalog rows from a TSV `FILE` (repeatable)")
	fs.StringArrayVar(&o.shapes, "shapes", nil, "add the TLS server shapes of a TSV `FILE` written by --learn-shapes to the embedded baseline of Apple's servers (repeatable)")
	fs.StringVar(&o.learnShapes, "learn-shapes", "", "write the TLS server shapes of the Apple hosts seen to `FILE`, for --shapes: learn from a capture of a network known to have no TLS inspection")
	fs.StringVar(&o.failOn, "fail-on", "", "exit 3 when findings at or above `LEVEL` (warn or error) exist")
	fs.StringVar(&o.evidence, "write-evidence", "", "write the packets of flagged flows, and the DNS answers that named them, to `FILE` (pcapng)")
	fs.StringVar(&o.by, "by", "service", "group the report by `GROUP`: service or device")
	fs.BoolVar(&o.allHosts, "all-hosts", false, "report findings for non-Apple hosts too")
	fs.BoolVar(&o.noColor, "no-color", false, "no colours in the terminal report")
	fs.IntVar(&o.maxFlows, "max-flows", analyzer.DefaultMaxFlows, "flow table cap (512 bytes a flow, plus its dissectors' state); the oldest flow is evicted (and counted) beyond it")
	fs.IntVar(&o.workers, "workers", defaultWorkers(), "analysis workers, one per core (up to 8) by default; reports are identical for any number")
	fs.BoolVarP(&o.quiet, "quiet", "q", false, "no progress line or warnings on standard error")
	fs.BoolVar(&o.version, "version", false, "print the version and exit")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write a Go CPU profile of the analysis to `FILE` (for developers)")
	_ = fs.MarkHidden("cpuprofile")
	fs.StringVar(&o.memProfile, "memprofile", "", "write a Go heap profile, taken when the input is read, to `FILE` (for developers)")
	_ = fs.MarkHidden("memprofile")
	addFleetFlags(fs, &o.fleet)
	addSensorFlags(fs, &o.sensorOptions)
	fs.StringVar(&o.memLimit, "memory-limit", "", "the Go runtime's soft memory `LIMIT` (e.g. 512MiB; off for none; default GOMEMLIMIT, else 192MiB)")
	return fs
}

// enumValues are the accepted values of the flags that take one of a few
// words, for checks and completions.
var enumValues = map[string][]string{
	"format":  {"table", "json", "ndjson", "csv", "ecs", "html"},
	"by":      {"service", "device"},
	"fail-on": {"warn", "error"},
}

// defaultWorkers is one analysis worker per core, up to 8: beyond that the
// single reader and judge bound the speed.
func defaultWorkers() int { return min(runtime.NumCPU(), 8) }

// writeUsage prints the full help of the analysis command.
func writeUsage(w io.Writer) {
	var o options
	fs := newFlags(&o)
	fmt.Fprint(w, usageHead)
	fmt.Fprint(w, exitStatusText)
	fmt.Fprint(w, "\nFlags:\n")
	fs.SetOutput(w)
	fs.PrintDefaults()
}

// errHelp is returned by parseFlags for -h/--help, which prints the usage
// on standard output.
var errHelp = errors.New("help requested")

// parseFlags parses args into o. A bad flag gives one line naming it and a
// hint, on stderr.
func parseFlags(o *options, args []string, stderr io.Writer) (*pflag.FlagSet, error) {
	fs := newFlags(o)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return fs, errHelp
		}
		fmt.Fprintf(stderr, "orchard: %s (see orchard -h)\n", flagErrorText(err))
		return fs, err
	}
	for name, vals := range enumValues {
		fl := fs.Lookup(name)
		v := strings.ToLower(fl.Value.String())
		if v == "" && !fl.Changed {
			continue
		}
		if name == "fail-on" && v == "warning" {
			v = "warn"
		}
		ok := false
		for _, a := range vals {
			ok = ok || a == v
		}
		if !ok {
			err := fmt.Errorf("--%s %q: want %s", name, fl.Value.String(), orList(vals))
			fmt.Fprintf(stderr, "orchard: %v (see orchard -h)\n", err)
			return fs, err
		}
		_ = fl.Value.Set(v)
	}
	return fs, nil
}

// flagErrorText rewrites pflag's error messages into orchard's one-line
// style: "unknown flag --bogus", "flag -r needs an argument",
// "--workers: invalid value "abc"".
func flagErrorText(err error) string {
	s := err.Error()
	switch {
	case strings.HasPrefix(s, "unknown flag: "):
		return "unknown flag " + strings.TrimPrefix(s, "unknown flag: ")
	case strings.HasPrefix(s, "unknown shorthand flag: "):
		// unknown shorthand flag: 'x' in -x
		if i := strings.LastIndex(s, " in "); i >= 0 {
			return "unknown flag " + s[i+4:]
		}
	case strings.HasPrefix(s, "flag needs an argument: "):
		rest := strings.TrimPrefix(s, "flag needs an argument: ")
		if i := strings.LastIndex(rest, " in "); i >= 0 {
			rest = rest[i+4:]
		}
		return "flag " + rest + " needs a value"
	case strings.HasPrefix(s, "invalid argument "):
		// invalid argument "abc" for "-w, --workers" flag: strconv...
		var val, name string
		if _, e := fmt.Sscanf(s, "invalid argument %q for %q flag:", &val, &name); e == nil {
			if i := strings.LastIndex(name, " "); i >= 0 {
				name = name[i+1:]
			}
			return fmt.Sprintf("%s: invalid value %q", name, val)
		}
	case strings.HasPrefix(s, "bad flag syntax: "):
		return "bad flag syntax " + strings.TrimPrefix(s, "bad flag syntax: ")
	}
	return s
}

func orList(v []string) string {
	if len(v) < 2 {
		return strings.Join(v, "")
	}
	return strings.Join(v[:len(v)-1], ", ") + " or " + v[len(v)-1]
}
