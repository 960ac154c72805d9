package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/olekukonko/tablewriter"
	"github.com/spf13/pflag"

	"orchard/fleet"
)

const fleetUsage = `orchard fleet joins many sensors' reports into one picture: each sensor's
verdict for each Apple service section, the findings on the most sensors and
devices, and each sensor's capture health.

Usage:
  orchard fleet [flags] REPORT.json|DIR...        reports written with --format json
  orchard fleet --kafka-brokers HOST:PORT [flags]  the reports sensors sent to Kafka

Examples:
  orchard fleet reports/
  orchard fleet --format json site-*.json
  orchard fleet --kafka-brokers kafka:9092 --since 24h

Flags:
`

type fleetCmdOptions struct {
	format  string
	top     int
	noColor bool
	since   time.Duration
	idle    time.Duration
	kafka   kafkaOptions
}

func runFleet(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var o fleetCmdOptions
	fs := pflag.NewFlagSet("orchard fleet", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.SortFlags = false
	fs.StringVar(&o.format, "format", "table", "`FORMAT`: table, json or csv (the grid, one row per sensor and section)")
	fs.IntVar(&o.top, "top", 20, "findings to list in the table, those on the most sensors first (0: all)")
	fs.BoolVar(&o.noColor, "no-color", false, "no colours in the terminal table")
	addKafkaConnFlags(fs, &o.kafka, "read the reports from Kafka: seed brokers `HOST:PORT,...`")
	fs.DurationVar(&o.since, "since", 24*time.Hour, "Kafka: the reports produced in this window before now")
	fs.DurationVar(&o.idle, "kafka-wait", 3*time.Second, "Kafka: stop reading once no report came for this long")
	fs.Usage = func() {
		fmt.Fprint(stderr, fleetUsage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	switch o.format {
	case "table", "json", "csv":
	default:
		fmt.Fprintf(stderr, "orchard fleet: --format %q: want table, json or csv\n", o.format)
		return exitUsage
	}
	if o.top < 0 || o.since <= 0 || o.idle <= 0 {
		fmt.Fprintln(stderr, "orchard fleet: --top must not be negative, --since and --kafka-wait must be positive")
		return exitUsage
	}
	var sensors []fleet.Sensor
	switch {
	case len(o.kafka.brokers) > 0 && fs.NArg() > 0:
		fmt.Fprintln(stderr, "orchard fleet: give either report files or --kafka-brokers, not both")
		return exitUsage
	case len(o.kafka.brokers) > 0:
		topic := o.kafka.reports()
		if topic == "" {
			fmt.Fprintln(stderr, "orchard fleet: --kafka-reports-topic '-' leaves nothing to read")
			return exitUsage
		}
		c, err := o.kafka.config()
		if err != nil {
			fmt.Fprintf(stderr, "orchard fleet: %v\n", err)
			return exitUsage
		}
		opts, err := c.Options()
		if err != nil {
			fmt.Fprintf(stderr, "orchard fleet: %v\n", err)
			return exitUsage
		}
		sensors, err = fleet.ReadKafka(ctx, opts, topic, time.Now().Add(-o.since), o.idle)
		if err != nil {
			fmt.Fprintf(stderr, "orchard fleet: %v\n", err)
			return exitInput
		}
	case fs.NArg() == 0:
		fmt.Fprintln(stderr, "orchard fleet: no reports given (try: orchard fleet reports/, or orchard fleet -h)")
		return exitUsage
	default:
		var err error
		sensors, err = fleet.ReadPaths(fs.Args())
		if err != nil {
			fmt.Fprintf(stderr, "orchard fleet: %v\n", err)
			return exitInput
		}
	}
	if len(sensors) == 0 {
		fmt.Fprintln(stderr, "orchard fleet: no reports found")
		return exitInput
	}
	v := fleet.Build(sensors)
	w := bufio.NewWriter(stdout)
	defer w.Flush()
	switch o.format {
	case "table":
		writeFleetTable(w, v, o.top, useColor(stdout, o.noColor))
	case "json":
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		_ = enc.Encode(v)
	case "csv":
		writeFleetCSV(w, v)
	}
	if err := w.Flush(); err != nil {
		fmt.Fprintf(stderr, "orchard fleet: %v\n", err)
		return exitInput
	}
	return exitOK
}

// writeFleetTable renders the fleet view for a terminal.
func writeFleetTable(w io.Writer, v *fleet.View, top int, color bool) {
	fmt.Fprintf(w, "orchard fleet: %d sensor%s\n", len(v.Sensors), plural(len(v.Sensors)))
	for _, s := range v.Warnings {
		fmt.Fprintf(w, "  warning: %s\n", s)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Apple services by sensor")
	if len(v.Grid) == 0 {
		fmt.Fprintln(w, "No sensor saw traffic to Apple.")
	} else {
		t := newReportTable(w, tablewriter.WithRowMaxWidth(60))
		head := []any{"SECTION"}
		for _, s := range v.Sensors {
			head = append(head, s)
		}
		t.Header(append(head, "BROKEN ON")...)
		for _, r := range v.Grid {
			row := []any{r.Section}
			for _, vd := range r.Verdicts {
				row = append(row, paint(color, vd, vd))
			}
			_ = t.Append(append(row, strconv.Itoa(r.Broken)+"/"+strconv.Itoa(len(v.Sensors)))...)
		}
		_ = t.Render()
	}
	fmt.Fprintln(w)
	fs := v.Findings
	if top > 0 && len(fs) > top {
		fs = fs[:top]
	}
	if len(fs) == 0 {
		fmt.Fprintln(w, "No findings on any sensor.")
	} else {
		fmt.Fprintf(w, "Findings on the most sensors (%d of %d)\n", len(fs), len(v.Findings))
		t := newReportTable(w, tablewriter.WithRowMaxWidth(60))
		t.Header("SEVERITY", "FINDING", "HOST", "SECTION", "SENSORS", "DEVICES", "COUNT")
		for _, f := range fs {
			_ = t.Append(paint(color, f.Severity, f.Severity), f.Finding, f.Host, f.Section,
				strconv.Itoa(len(f.Sensors))+": "+hostList(f.Sensors, 40), strconv.Itoa(f.Devices), strconv.Itoa(f.Count))
		}
		_ = t.Render()
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Capture health")
	t := newReportTable(w, tablewriter.WithRowMaxWidth(60))
	t.Header("SENSOR", "FROM", "TO", "PACKETS", "FLOWS", "APPLE FLOWS", "DEVICES", "FINDINGS", "HEALTH")
	for _, h := range v.Health {
		_ = t.Append(h.Sensor, h.First, h.Last, u64(h.Packets), u64(h.Flows), u64(h.AppleFlows), strconv.Itoa(h.Devices),
			strconv.Itoa(h.Findings), paint(color, healthLevel(h), healthText(h)))
	}
	_ = t.Render()
}

func u64(n uint64) string { return strconv.FormatUint(n, 10) }

// healthText lists what a sensor lost or was warned about, or "ok".
func healthText(h fleet.Health) string {
	var parts []string
	add := func(n uint64, what string) {
		if n > 0 {
			parts = append(parts, u64(n)+" "+what)
		}
	}
	add(uint64(h.Errors), "input errors")
	add(h.Dropped, "packets dropped")
	add(h.Undelivered, "events undelivered")
	add(h.Evicted, "flows evicted")
	add(h.Malformed, "malformed")
	add(uint64(h.Warnings), "warnings")
	if len(parts) == 0 {
		return "ok"
	}
	return strings.Join(parts, ", ")
}

func healthLevel(h fleet.Health) string {
	switch {
	case h.Errors > 0 || h.Dropped > 0 || h.Undelivered > 0:
		return "error"
	case h.Evicted > 0 || h.Malformed > 0 || h.Warnings > 0:
		return "warn"
	}
	return "OK"
}

// writeFleetCSV writes the grid, one row per sensor and section.
func writeFleetCSV(w io.Writer, v *fleet.View) {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"sensor", "section", "verdict"})
	for _, r := range v.Grid {
		for i, s := range v.Sensors {
			_ = cw.Write([]string{s, r.Section, r.Verdicts[i]})
		}
	}
	cw.Flush()
}
