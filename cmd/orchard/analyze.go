package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"slices"
	"strings"

	"orchard/analyzer"
	"orchard/catalog"
	"orchard/eventjson"
)

// runAnalyze is the analysis command: flags, inputs, outputs, report, exit
// status. Each step is a function of its own.
func runAnalyze(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	var o options
	fs, err := parseFlags(&o, args, stderr)
	if errors.Is(err, errHelp) {
		writeUsage(stdout)
		return exitOK
	}
	if err != nil {
		return exitUsage
	}
	if o.version {
		return runVersion(stdout)
	}
	if o.listIfaces {
		return listInterfaces(stdout, stderr)
	}
	files, err := inputArgs(&o, fs.Args())
	if err == nil && slices.Contains(files, "-") && stdinIsTerminal(stdin) {
		err = errStdinTerminal
	}
	if err != nil {
		fmt.Fprintf(stderr, "orchard: %v\n", err)
		return exitUsage
	}
	if err := o.fleet.check(o.format); err != nil {
		fmt.Fprintf(stderr, "orchard: %v\n", err)
		return exitUsage
	}
	if err := o.checkSensor(); err != nil {
		fmt.Fprintf(stderr, "orchard: %v\n", err)
		return exitUsage
	}
	var narrow *narrowing
	if o.iface == "" {
		if narrow, err = newNarrowing(&o); err != nil {
			fmt.Fprintf(stderr, "orchard: %v\n", err)
			return exitUsage
		}
	}
	var failOn analyzer.Severity
	if o.failOn != "" {
		failOn, _ = analyzer.ParseSeverity(o.failOn)
	}
	if err := checkOutputs(outputNames(&o), append(append(append([]string{}, files...), o.catalogs...), o.shapes...), stdin); err != nil {
		fmt.Fprintf(stderr, "orchard: %v\n", err)
		return exitUsage
	}
	cat, err := loadCatalog(o.catalogs)
	if err != nil {
		fmt.Fprintf(stderr, "orchard: %v\n", err)
		return exitInput
	}

	baseline, err := loadShapes(o.shapes)
	if err != nil {
		fmt.Fprintf(stderr, "orchard: %v\n", err)
		return exitInput
	}
	learn, err := newShapeLearner(&o, files)
	if err != nil {
		fmt.Fprintf(stderr, "orchard: %v\n", err)
		return exitInput
	}
	defer learn.abort()
	outs, err := openOutputs(&o, stdout, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "orchard: %v\n", err)
		return exitInput
	}
	defer outs.abort()
	if err := setMemoryLimit(o.memLimit, o.iface != ""); err != nil {
		fmt.Fprintf(stderr, "orchard: %v\n", err)
		return exitUsage
	}
	cfg := analyzer.Config{Catalog: cat, MaxFlows: o.maxFlows, AllHosts: o.allHosts, Workers: o.workers, ServerShapes: baseline}
	if learn != nil {
		cfg.LearnShapes = learn.b
	}
	if len(outs.sinks) > 0 {
		cfg.Sink = outs.sinks
	}
	cfg.Sink = o.sensorSink(cfg.Sink)
	eng, err := analyzer.New(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "orchard: %v\n", err)
		return exitInput
	}
	if outs.evidence != nil {
		eng.SetRecorder(outs.evidence)
	}
	if narrow != nil {
		eng.SetPacketFilter(narrow)
	}
	if o.cpuProfile != "" {
		stop, err := startProfile(o.cpuProfile)
		if err != nil {
			fmt.Fprintf(stderr, "orchard: %v\n", err)
			return exitInput
		}
		defer stop()
	}

	var res readResult
	if o.iface != "" {
		if res = readLive(ctx, eng, &o, stderr); res.live == nil {
			return exitInput // the capture never started: the error says why
		}
	} else {
		res = readFiles(ctx, eng, &o, files, stdin, stderr)
		if narrow != nil && narrow.err != nil {
			fmt.Fprintf(stderr, "orchard: %v\n", narrow.err)
			res.errs = append(res.errs, narrow.err.Error())
		}
	}
	if o.memProfile != "" {
		if err := writeHeapProfile(o.memProfile); err != nil {
			fmt.Fprintf(stderr, "orchard: %v\n", err)
		}
	}
	rep := eng.Finish()
	rep.Capture.Files = res.names
	rep.Capture.Live = res.live
	if w := lossWarning(res.live, &rep.Capture.Visibility); w != "" {
		res.warnings = append(res.warnings, w)
	}
	rep.Capture.Warnings = append(res.warnings, rep.Capture.Warnings...)
	rep.Capture.Errors = res.errs
	o.finishSensor(rep)
	if res.interrupted != nil {
		fmt.Fprintf(stderr, "orchard: %v: the report covers the packets read so far\n", res.interrupted)
	}

	endFleet(ctx, outs.sinks, rep, &o.fleet, fs.Changed("sensor"), stderr)
	outs.cat = cat
	outErrs := outs.finish(rep, &o, res, stderr)
	if err := learn.finish(&o, stderr); err != nil {
		outErrs = append(outErrs, err)
	}
	for _, e := range outErrs {
		fmt.Fprintf(stderr, "orchard: %v\n", e)
	}
	return exitStatus(rep, res, failOn, len(outErrs) > 0)
}

// exitStatus applies the documented precedence (see exitStatusText).
func exitStatus(rep *analyzer.Report, res readResult, failOn analyzer.Severity, outputFailed bool) int {
	switch {
	case res.interrupted != nil:
		return res.interrupted.exitCode()
	case len(res.errs) > 0 || outputFailed:
		return exitInput
	}
	if failOn != 0 {
		for _, f := range rep.Findings {
			if f.Sev() >= failOn {
				return exitFindings
			}
		}
	}
	return exitOK
}

// inputArgs returns the capture files of a file run, and checks the flags
// that belong to live capture only.
func inputArgs(o *options, rest []string) ([]string, error) {
	if o.iface != "" {
		if o.snaplen <= 0 || o.bufferMiB <= 0 || o.bufferMiB > 4096 {
			return nil, errors.New("--snaplen must be positive and --buffer-size between 1 and 4096 MiB")
		}
		if len(o.reads) > 0 {
			return nil, errors.New("give either -i or capture files, not both")
		}
		if o.device != "" || o.since != "" || o.until != "" {
			return nil, errors.New("--device, --since and --until narrow capture files; live, use a capture filter (host 10.0.0.2)")
		}
		if len(rest) > 0 {
			if o.filter != "" {
				return nil, errors.New("give the capture filter either with -f or as trailing arguments, not both")
			}
			o.filter = strings.Join(rest, " ")
		}
		return nil, nil
	}
	files := append([]string{}, o.reads...)
	for i, a := range rest {
		if a != "-" && bpfKeyword(a) {
			if o.filter != "" {
				return nil, errors.New("give the filter either with -f or as trailing arguments, not both")
			}
			o.filter = strings.Join(rest[i:], " ")
			break
		}
		files = append(files, a)
	}
	if len(files) == 0 {
		return nil, errors.New("no capture given (try: orchard capture.pcap, or orchard -h)")
	}
	return files, nil
}

// readResult is what reading the inputs gave, besides the engine's state.
type readResult struct {
	names       []string // the inputs, as the report names them
	warnings    []string
	errs        []string
	read        int // inputs read (in part at least)
	live        *analyzer.LiveStats
	interrupted *interrupted
}

// interrupt records that a signal stopped the reading, also as a warning
// of the report, so that JSON readers know it is partial.
func (res *readResult) interrupt(i interrupted) {
	res.interrupted = &i
	res.warnings = append(res.warnings, i.Error()+": the report covers the packets read so far")
}

// add records how reading an input went: its error, or that it was read
// and its warning, if any (printed unless quiet).
func (res *readResult) add(w string, err error, quiet bool, stderr io.Writer) {
	if err != nil {
		res.errs = append(res.errs, err.Error())
		fmt.Fprintf(stderr, "orchard: %v\n", err)
		return
	}
	res.read++
	if w == "" {
		return
	}
	res.warnings = append(res.warnings, w)
	if !quiet {
		fmt.Fprintf(stderr, "orchard: warning: %s\n", w)
	}
}

// readLive runs a live capture. A signal ends it normally.
func readLive(ctx context.Context, eng *analyzer.Engine, o *options, stderr io.Writer) readResult {
	res := readResult{names: []string{o.iface}}
	st, err := runLive(ctx, eng, o, stderr)
	res.live = st
	if err != nil {
		fmt.Fprintf(stderr, "orchard: %v\n", err)
		// A capture that broke off (the interface went away) still gets
		// its report, and exit 1.
		res.errs = append(res.errs, err.Error())
	}
	if st != nil {
		res.read = 1
	}
	return res
}

// readFiles analyses the capture files: one, or several merged by time.
func readFiles(ctx context.Context, eng *analyzer.Engine, o *options, files []string, stdin io.Reader, stderr io.Writer) readResult {
	if len(files) > 1 {
		return readMerged(ctx, eng, o, files, stdin, stderr)
	}
	res := readResult{names: files}
	prog := newProgress(stderr, o.quiet)
	for _, name := range files {
		w, err := readOne(ctx, eng, name, stdin, prog)
		if i, ok := interruption(ctx); ok {
			res.interrupt(i)
			res.read++
			break
		}
		res.add(w, err, o.quiet, stderr)
		if err == nil && eng.Stopped() {
			break // --count reached, or the filter failed
		}
	}
	return res
}

// readMerged analyses several captures as one timeline, merged by time.
func readMerged(ctx context.Context, eng *analyzer.Engine, o *options, files []string, stdin io.Reader, stderr io.Writer) readResult {
	res := readResult{names: files}
	prog := newProgress(stderr, o.quiet)
	var inputs []analyzer.Input
	var idx []int // inputs[k] is files[idx[k]]
	openErr := make([]error, len(files))
	for i, name := range files {
		r, closer, err := openInput(ctx, name, stdin)
		if err != nil {
			openErr[i] = inputErr(name, err)
			if _, ok := interruption(ctx); ok {
				break
			}
			continue
		}
		if closer != nil {
			defer closer.Close()
		}
		inputs = append(inputs, analyzer.Input{Name: name, R: r})
		idx = append(idx, i)
	}
	var results []analyzer.InputResult
	note := ""
	if _, ok := interruption(ctx); !ok {
		results, note = eng.ReadMerged(ctx, inputs, prog.update)
		prog.done()
	}
	if i, ok := interruption(ctx); ok {
		res.interrupt(i)
	}
	byFile := make([]*analyzer.InputResult, len(files))
	for k := range results {
		byFile[idx[k]] = &results[k]
	}
	for i := range files {
		err := openErr[i]
		w := ""
		if r := byFile[i]; r != nil {
			if r.Warning != nil {
				w = r.Warning.Error()
			}
			if err == nil {
				err = r.Err
			}
		} else if err == nil {
			continue // not opened: interrupted
		}
		res.add(w, err, o.quiet, stderr)
	}
	if note != "" {
		res.warnings = append(res.warnings, note)
		if !o.quiet {
			fmt.Fprintf(stderr, "orchard: note: %s\n", note)
		}
	}
	return res
}

// inputErr names the input in an error about it, once.
func inputErr(name string, err error) error {
	if name == "-" || strings.HasPrefix(err.Error(), name+":") {
		return err
	}
	return fmt.Errorf("%s: %w", name, unwrapPath(err))
}

// readOne analyses one capture argument.
func readOne(ctx context.Context, eng *analyzer.Engine, name string, stdin io.Reader, prog *progress) (string, error) {
	r, closer, err := openInput(ctx, name, stdin)
	if err != nil {
		return "", inputErr(name, err)
	}
	if closer != nil {
		defer closer.Close()
	}
	update := prog.update
	if cr, ok := r.(*ctxReader); ok {
		update = func(name string, _, _ int64) { prog.stream(name, cr.n.Load(), eng) }
	}
	w, err := eng.ReadFrom(ctx, name, r, update)
	prog.done()
	if w != nil {
		return w.Error(), err
	}
	return "", err
}

func startProfile(name string) (func(), error) {
	f, err := os.Create(name)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

// outputs are the report's destination and the extra output files.
type outputs struct {
	report   *outFile // nil: standard output
	stdout   io.Writer
	bout     *bufio.Writer
	events   *outFile       // --events written whole, renamed into place
	rotating io.WriteCloser // --events as a live stream, rotated (sensor)
	ebuf     *bufio.Writer
	evidence *evidenceWriter
	sinks    multiSink
	cat      *catalog.Catalog // for the catalog rows the HTML report shows
	done     bool
}

func outputNames(o *options) []namedOutput {
	out := []namedOutput{{"--events", o.events}, {"--write-evidence", o.evidence}, {"--cpuprofile", o.cpuProfile}, {"--learn-shapes", o.learnShapes}}
	if o.output != "-" {
		out = append([]namedOutput{{"-o", o.output}}, out...)
	}
	return out
}

// openOutputs creates the output files and the event sinks that write them.
func openOutputs(o *options, stdout, stderr io.Writer) (*outputs, error) {
	outs := &outputs{stdout: stdout}
	var w io.Writer = stdout
	if o.output != "" && o.output != "-" {
		f, err := createOutput("-o", o.output)
		if err != nil {
			return nil, err
		}
		outs.report, w = f, f
	}
	outs.bout = bufio.NewWriterSize(w, 64<<10)
	live := o.iface != ""
	if o.format == "ndjson" {
		outs.sinks = append(outs.sinks, newNDJSONSink(outs.bout, live))
	}
	fleetSinks, err := o.fleet.fleetSinks(o.format, outs.bout, live)
	if err != nil {
		return nil, err
	}
	outs.sinks = append(outs.sinks, fleetSinks...)
	if o.events != "" {
		var ew io.Writer
		if o.rotatesEvents() {
			r, err := o.openEvents()
			if err != nil {
				outs.abort()
				return nil, err
			}
			outs.rotating, ew = r, r
		} else {
			f, err := createOutput("--events", o.events)
			if err != nil {
				outs.abort()
				return nil, err
			}
			outs.events, ew = f, f
		}
		outs.ebuf = bufio.NewWriterSize(ew, 64<<10)
		outs.sinks = append(outs.sinks, o.fleet.eventsSink(outs.ebuf, live))
	}
	if live && o.format == "table" {
		outs.sinks = append(outs.sinks, newLineSink(stderr, useColor(stderr, o.noColor)))
	}
	if o.evidence != "" {
		ev, err := newEvidenceWriter(o.evidence)
		if err != nil {
			outs.abort()
			return nil, err
		}
		outs.evidence = ev
	}
	return outs, nil
}

// abort removes the temporary files of outputs not finished.
func (outs *outputs) abort() {
	if outs.done {
		return
	}
	outs.done = true
	if outs.report != nil {
		outs.report.Abort()
	}
	if outs.events != nil {
		outs.events.Abort()
	}
	if outs.evidence != nil {
		outs.evidence.Abort()
	}
}

// finish writes the report and closes every output, returning each error.
func (outs *outputs) finish(rep *analyzer.Report, o *options, res readResult, stderr io.Writer) []error {
	var errs []error
	if outs.evidence != nil {
		note, err := outs.evidence.Close()
		if err != nil {
			errs = append(errs, err)
		} else if note != "" && !o.quiet && res.read > 0 {
			fmt.Fprintf(stderr, "orchard: %s\n", note)
		}
	}
	width := reportWidth(nil) // a file: COLUMNS, or the piped layout
	if outs.report == nil {
		width = reportWidth(outs.stdout)
	}
	reportErr := func(err error) error {
		if outs.report != nil {
			return outs.report.writeErr(err)
		}
		return fmt.Errorf("write report to standard output: %w", err)
	}
	werr := writeReport(outs.bout, rep, o, res, useColor(outs.stdout, o.noColor || outs.report != nil), width, outs.cat)
	if werr != nil {
		errs = append(errs, reportErr(werr))
	}
	// Every event stream ends with the capture's counters.
	for _, s := range outs.sinks {
		if n, ok := s.(*ndjsonSink); ok {
			n.summary(rep)
		}
	}
	// A write error stays with the buffer: it is reported once.
	if err := outs.bout.Flush(); err != nil && (werr == nil || !errors.Is(werr, err)) {
		errs = append(errs, reportErr(err))
	}
	if outs.ebuf != nil {
		if err := outs.ebuf.Flush(); err != nil {
			if outs.events != nil {
				errs = append(errs, outs.events.writeErr(err))
			} else {
				errs = append(errs, fmt.Errorf("--events %s: %w", o.events, err))
			}
		}
	}
	if outs.rotating != nil {
		if err := outs.rotating.Close(); err != nil {
			errs = append(errs, fmt.Errorf("--events %s: %w", o.events, err))
		}
	}
	failed := len(errs) > 0
	for _, f := range []*outFile{outs.report, outs.events} {
		if f == nil {
			continue
		}
		if failed {
			f.Abort()
		} else if err := f.Commit(); err != nil {
			errs = append(errs, err)
		}
	}
	outs.done = true
	return errs
}

// writeReport writes the report in the chosen format.
func writeReport(w io.Writer, rep *analyzer.Report, o *options, res readResult, color bool, width int, cat *catalog.Catalog) error {
	switch o.format {
	case "table":
		writeTable(w, rep, tableOptions{by: o.by, color: color, width: width, nothingRead: res.read == 0,
			narrowed: o.filter != "" || o.device != "" || o.since != "" || o.until != ""})
	case "json":
		return eventjson.WriteReport(w, rep)
	case "ndjson":
		// Findings with their final counts, after the flows and answers
		// streamed while reading (see ndjsonSink).
	case "csv":
		return writeFindingsCSV(w, rep.Findings)
	case "html":
		return writeReportHTML(w, rep, cat)
	}
	return nil
}
