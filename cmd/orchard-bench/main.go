package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/gopacket/gopacket/layers"
	"github.com/spf13/pflag"
)

type options struct {
	src      string
	packets  int
	runs     int
	dir      string
	keep     bool
	orchard  string
	skip     []string
	only     []string
	slowOnce time.Duration
}

func main() {
	var o options
	fs := pflag.NewFlagSet("orchard-bench", pflag.ContinueOnError)
	fs.StringVar(&o.src, "src", "", "source capture to replicate (default: shared/bench/ndpi-mix.pcap.gz, found by walking up or $ORCHARD_SHARED)")
	fs.IntVar(&o.packets, "packets", 1_000_000, "build a capture of at least this many packets")
	fs.IntVar(&o.runs, "runs", 3, "runs per tool; the fastest wall time is kept")
	fs.StringVar(&o.dir, "dir", "", "work directory (default: a new temporary directory)")
	fs.BoolVar(&o.keep, "keep", false, "keep the work directory")
	fs.StringVar(&o.orchard, "orchard", "", "orchard binary to time (default: go build ./cmd/orchard into the work directory)")
	fs.StringSliceVar(&o.skip, "skip", nil, "tools to skip (tshark, ndpiReader, tcpdump, gzip, stress: the DNS-heavy and SYN-flood rows)")
	fs.StringSliceVar(&o.only, "only", nil, "run only these groups of rows: "+strings.Join(groups, ", ")+" (stress alone needs no bench mix)")
	fs.DurationVar(&o.slowOnce, "slow-once", 20*time.Second, "run a tool only once when its first run takes longer")
	if err := fs.Parse(os.Args[1:]); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return
		}
		os.Exit(2)
	}
	if err := run(context.Background(), &o, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintf(os.Stderr, "orchard-bench: %v\n", err)
		os.Exit(1)
	}
}

// tool is one command line to time.
type tool struct {
	name   string
	argv   []string
	group  string // see groups
	ref    bool   // the reference row for the ratios
	result result
	// Rows on their own capture (stress.go): its packets, the row their
	// ratio is to, and the unit their rate is also given in.
	packets int
	vs      *tool
	unit    string
	per     int     // packets per unit
	target  float64 // units a second the row should reach (0: none)
	err     error
}

type result struct {
	wall   time.Duration // fastest run
	cpu    time.Duration // user+sys of that run
	maxRSS int64         // bytes, largest over the runs
	// The range over the runs: wall and CPU times, slowest and least.
	slowest, minCPU, maxCPU time.Duration
	runs                    int
}

// add counts one run.
func (r *result) add(x result) {
	if r.runs == 0 || x.wall < r.wall {
		r.wall, r.cpu = x.wall, x.cpu
	}
	if r.runs == 0 {
		r.minCPU, r.maxCPU = x.cpu, x.cpu
	}
	r.slowest = max(r.slowest, x.wall)
	r.minCPU, r.maxCPU = min(r.minCPU, x.cpu), max(r.maxCPU, x.cpu)
	r.maxRSS = max(r.maxRSS, x.maxRSS)
	r.runs++
}

// Groups of rows, for --only: the bench mix as pcap (with the read floor
// and the other tools), its gzip, pcapng and zstd copies, and the stress
// captures.
var groups = []string{"pcap", "gzip", "pcapng", "zstd", "stress"}

func run(ctx context.Context, o *options, stdout, stderr io.Writer) error {
	only := map[string]bool{}
	for _, g := range o.only {
		g = strings.ToLower(g)
		if !slices.Contains(groups, g) {
			return fmt.Errorf("--only %s: no such group (%s)", g, strings.Join(groups, ", "))
		}
		only[g] = true
	}
	wanted := func(g string) bool { return len(only) == 0 || only[g] }
	mix := len(only) == 0 || only["pcap"] || only["gzip"] || only["pcapng"] || only["zstd"]
	src := o.src
	if src == "" && mix {
		src = findShared("bench/ndpi-mix.pcap.gz")
		if src == "" {
			return errors.New("bench mix not found: give --src or set ORCHARD_SHARED (or --only stress)")
		}
	}
	dir := o.dir
	if dir == "" {
		d, err := os.MkdirTemp("", "orchard-bench-")
		if err != nil {
			return err
		}
		dir = d
		if !o.keep {
			defer os.RemoveAll(dir)
		}
	}
	bin := o.orchard
	if bin == "" {
		bin = filepath.Join(dir, "orchard")
		fmt.Fprintf(stderr, "building orchard ...\n")
		cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/orchard")
		cmd.Stderr = stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("go build ./cmd/orchard (run from the repository root, or give --orchard): %w", err)
		}
	}
	skip := map[string]bool{}
	for _, s := range o.skip {
		skip[strings.ToLower(s)] = true
	}
	var tools []*tool
	n, plain := 0, ""
	if mix {
		var err error
		tools, plain, n, err = mixTools(src, dir, bin, o.packets, wanted, stderr)
		if err != nil {
			return err
		}
	}
	if wanted("stress") && !skip["stress"] {
		st, err := stressTools(dir, bin)
		if err != nil {
			return err
		}
		tools = append(tools, st...)
	}
	fmt.Fprintf(stderr, "load before: %s", loadavg())
	var live []*tool
	for _, t := range tools {
		if t.err != nil {
			continue // its input could not be built
		}
		base := filepath.Base(t.argv[0])
		if skip[strings.ToLower(base)] || (skip["gzip"] && strings.Contains(t.name, "gzip")) {
			t.err = errors.New("skipped")
			continue
		}
		if _, err := exec.LookPath(t.argv[0]); err != nil {
			t.err = fmt.Errorf("not installed")
			continue
		}
		live = append(live, t)
	}
	// Rounds of one run per tool, so that a slow spell of the machine
	// hits every tool alike; the fastest run of each is kept.
	for i := 0; i < o.runs; i++ {
		for _, t := range live {
			if t.err != nil || (i > 0 && t.result.wall > o.slowOnce) {
				continue
			}
			r, err := timeCmd(ctx, t.argv)
			if err != nil {
				t.err = err
				continue
			}
			t.result.add(r)
		}
	}
	for _, t := range tools {
		if t.err != nil {
			fmt.Fprintf(stderr, "%-40s error: %v\n", t.name, t.err)
		} else {
			fmt.Fprintf(stderr, "%-40s %.3fs\n", t.name, t.result.wall.Seconds())
		}
	}
	fmt.Fprintf(stderr, "load after: %s", loadavg())
	printTable(stdout, tools, n, plain, runtime.NumCPU())
	printTargets(stdout, tools)
	return nil
}

// mixTools builds the bench capture (at least packets packets of the mix
// src) and the copies of it the wanted groups read, and returns their rows,
// the plain capture and its packet count.
func mixTools(src, dir, bin string, packets int, wanted func(string) bool, stderr io.Writer) ([]*tool, string, int, error) {
	fmt.Fprintf(stderr, "building a capture of at least %d packets from %s ...\n", packets, src)
	t0 := time.Now()
	plain, gz, n, err := buildCapture(src, dir, packets)
	if err != nil {
		return nil, "", 0, err
	}
	st, _ := os.Stat(plain)
	gst, _ := os.Stat(gz)
	fmt.Fprintf(stderr, "built %s (%d packets, %d MB; gzip %d MB) in %.1fs\n", plain, n, st.Size()>>20, gst.Size()>>20, time.Since(t0).Seconds())
	ng, zs := plain+"ng", plain+".zst"
	var ngErr, zsErr error
	if wanted("pcapng") {
		ngErr = pcapngFile(plain, ng)
	}
	if wanted("zstd") {
		zsErr = zstdFile(plain, zs)
	}
	all := []*tool{
		{group: "pcap", name: "tcpdump -r (read floor)", argv: []string{"tcpdump", "-r", plain, "-w", "/dev/null"}},
		{group: "pcap", name: "orchard, 1 worker", argv: []string{bin, "--format", "json", "-q", "--workers", "1", plain}, ref: true},
		{group: "pcap", name: "orchard, 2 workers", argv: []string{bin, "--format", "json", "-q", "--workers", "2", plain}},
		{group: "gzip", name: "orchard, 1 worker, gzip", argv: []string{bin, "--format", "json", "-q", "--workers", "1", gz}},
		{group: "gzip", name: "orchard, 2 workers, gzip", argv: []string{bin, "--format", "json", "-q", "--workers", "2", gz}},
		{group: "pcapng", name: "tcpdump -r, pcapng (read floor)", argv: []string{"tcpdump", "-r", ng, "-w", "/dev/null"}, err: ngErr},
		{group: "pcapng", name: "orchard, 1 worker, pcapng", argv: []string{bin, "--format", "json", "-q", "--workers", "1", ng}, err: ngErr},
		{group: "pcapng", name: "orchard, 2 workers, pcapng", argv: []string{bin, "--format", "json", "-q", "--workers", "2", ng}, err: ngErr},
		{group: "zstd", name: "orchard, 1 worker, zstd", argv: []string{bin, "--format", "json", "-q", "--workers", "1", zs}, err: zsErr},
		{group: "zstd", name: "orchard, 2 workers, zstd", argv: []string{bin, "--format", "json", "-q", "--workers", "2", zs}, err: zsErr},
		{group: "zstd", name: "zstd -dc (decompress only)", argv: []string{"zstd", "-q", "-dc", zs}, err: zsErr},
		// What inflating alone costs: the floor for any analysis of gzip input.
		{group: "gzip", name: "gzip -dc (inflate only)", argv: []string{"gzip", "-dc", gz}},
		{group: "gzip", name: "pigz -dc (inflate only)", argv: []string{"pigz", "-dc", gz}},
		{group: "gzip", name: "igzip -dc (inflate only, ISA-L)", argv: []string{"igzip", "-dc", gz}},
		{group: "pcap", name: "ndpiReader -i", argv: []string{"ndpiReader", "-q", "-i", plain}},
		{group: "pcap", name: "tshark -T fields", argv: []string{"tshark", "-r", plain, "-T", "fields",
			"-e", "tls.handshake.extensions_server_name", "-e", "dns.qry.name", "-e", "dns.a", "-e", "ntp.stratum"}},
	}
	var out []*tool
	for _, t := range all {
		if wanted(t.group) {
			out = append(out, t)
		}
	}
	return out, plain, n, nil
}

// timeCmd runs argv with its output discarded and returns its wall time,
// CPU time and peak RSS. The RSS comes from GNU time when installed: the
// rusage of a child started by this (larger) process would report this
// process's peak instead when the child is small.
func timeCmd(ctx context.Context, argv []string) (result, error) {
	var statFile string
	if _, err := os.Stat(gnuTime); err == nil {
		f, err := os.CreateTemp("", "orchard-bench-time-")
		if err != nil {
			return result{}, err
		}
		statFile = f.Name()
		f.Close()
		defer os.Remove(statFile)
		argv = append([]string{gnuTime, "-q", "-f", "%M %U %S", "-o", statFile}, argv...)
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	var errb bytes.Buffer
	cmd.Stderr = &errb
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		return result{}, err
	}
	defer null.Close()
	cmd.Stdout = null
	start := time.Now()
	err = cmd.Run()
	wall := time.Since(start)
	if err != nil {
		msg := strings.TrimSpace(errb.String())
		if len(msg) > 300 {
			msg = msg[:300]
		}
		return result{}, fmt.Errorf("%s: %w: %s", argv[0], err, msg)
	}
	r := result{wall: wall}
	if statFile != "" {
		b, err := os.ReadFile(statFile)
		if err != nil {
			return result{}, err
		}
		var kb int64
		var u, s float64
		if _, err := fmt.Sscanf(strings.TrimSpace(string(b)), "%d %f %f", &kb, &u, &s); err != nil {
			return result{}, fmt.Errorf("%s output %q: %w", gnuTime, b, err)
		}
		r.maxRSS = kb << 10
		r.cpu = time.Duration((u + s) * float64(time.Second))
		// GNU time prints CPU to the hundredth of a second; the wait's
		// rusage counts the same (GNU time's and its waited-for child's)
		// to the microsecond.
		if _, c := sysUsage(cmd.ProcessState); c > 0 {
			r.cpu = c
		}
		return r, nil
	}
	r.maxRSS, r.cpu = sysUsage(cmd.ProcessState)
	return r, nil
}

// gnuTime measures a command's peak RSS.
const gnuTime = "/usr/bin/time"

func printTable(w io.Writer, tools []*tool, n int, file string, ncpu int) {
	var ref *tool
	for _, t := range tools {
		if t.ref && t.err == nil {
			ref = t
		}
	}
	what := "the stress captures"
	if n > 0 {
		what = fmt.Sprintf("%d packets (%s)", n, filepath.Base(file))
	}
	fmt.Fprintf(w, "\n%s, %d cores, %s; seconds: the fastest run, then the range over the runs; ratio = tool seconds / orchard 1-worker seconds, fastest runs\n\n", what, ncpu, runtime.Version())
	fmt.Fprintln(w, "| tool | seconds | packets/s | vs orchard 1 worker | CPU s | peak RSS MB |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|")
	for _, t := range tools {
		if t.err != nil {
			fmt.Fprintf(w, "| %s | %s | | | | |\n", t.name, t.err)
			continue
		}
		r := &t.result
		s := r.wall.Seconds()
		ratio := ""
		switch {
		case t.vs != nil && t.vs.err == nil:
			ratio = fmt.Sprintf("%.2f× its floor", s/t.vs.result.wall.Seconds())
		case t.packets == 0 && ref != nil:
			ratio = fmt.Sprintf("%.2f×", s/ref.result.wall.Seconds())
		}
		pk := n
		if t.packets > 0 {
			pk = t.packets
		}
		rate := humanRate(float64(pk) / s)
		if t.unit != "" {
			rate += " (" + stressRate(r, pk/t.per, t.unit, t.target) + ")"
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %d |\n", t.name, secondsRange(r.wall, r.slowest, r.runs), rate, ratio,
			secondsRange(r.minCPU, r.maxCPU, r.runs), r.maxRSS>>20)
	}
	fmt.Fprintln(w)
	for _, t := range tools {
		if t.err == nil {
			fmt.Fprintf(w, "    %s\n", strings.Join(shortArgs(t.argv), " "))
		}
	}
}

// secondsRange prints the least of a range of times, then the range
// when there was more than one run: "2.104 (2.104–2.517)".
func secondsRange(least, most time.Duration, runs int) string {
	s := fmt.Sprintf("%.3f", least.Seconds())
	if runs > 1 {
		s += fmt.Sprintf(" (%.3f–%.3f)", least.Seconds(), most.Seconds())
	}
	return s
}

// stressRate gives a stress row's rate in its unit from its fastest run,
// against its target, with the range over the runs and the rate per
// second of CPU time (what a loaded machine disturbs least):
// "2.10 M SYNs/s, meets the 2.00 M target; runs 1.52–2.10 M, 2.31 M per CPU second".
func stressRate(r *result, units int, unit string, target float64) string {
	s := unitRate(float64(units)/r.wall.Seconds(), unit, target)
	if r.runs > 1 {
		s += fmt.Sprintf("; runs %s–%s", humanRate(float64(units)/r.slowest.Seconds()), humanRate(float64(units)/r.wall.Seconds()))
	}
	if r.minCPU > 0 {
		s += fmt.Sprintf(", %s per CPU second", humanRate(float64(units)/r.minCPU.Seconds()))
	}
	return s
}

// shortArgs prints paths by their base names.
func shortArgs(argv []string) []string {
	out := make([]string, len(argv))
	for i, a := range argv {
		if filepath.IsAbs(a) {
			a = filepath.Base(a)
		}
		out[i] = a
	}
	return out
}

func humanRate(r float64) string {
	switch {
	case r >= 1e6:
		return fmt.Sprintf("%.2f M", r/1e6)
	case r >= 1e3:
		return fmt.Sprintf("%.0f k", r/1e3)
	}
	return fmt.Sprintf("%.0f", r)
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown\n"
	}
	return string(b)
}

// findShared finds rel below the shared folder: $ORCHARD_SHARED, or a
// "shared" folder beside the working directory or one of its parents.
func findShared(rel string) string {
	if d := os.Getenv("ORCHARD_SHARED"); d != "" {
		p := filepath.Join(d, rel)
		if _, err := os.Stat(p); err == nil {
			return p
		}
		return ""
	}
	wd, err := os.Getwd()
	if err != nil {
		return ""
	}
	for d := wd; ; d = filepath.Dir(d) {
		for _, c := range []string{filepath.Join(d, "shared", rel), filepath.Join(d, "..", "shared", rel)} {
			if _, err := os.Stat(c); err == nil {
				return filepath.Clean(c)
			}
		}
		if filepath.Dir(d) == d {
			return ""
		}
	}
}

func linkType(l uint16) layers.LinkType { return layers.LinkType(l) }
