package fleet

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"orchard/report"
)

// maxReportBytes bounds one report read from a file or a record.
const maxReportBytes = 256 << 20

// Sensor is one sensor's latest report.
type Sensor struct {
	Name   string         `json:"name"`
	Source string         `json:"source"` // the file or topic it came from
	Report *report.Report `json:"-"`
}

// View is the fleet's picture.
type View struct {
	Sensors  []string  `json:"sensors"`
	Grid     []GridRow `json:"grid"`
	Findings []Finding `json:"findings"`
	Health   []Health  `json:"health"`
	Warnings []string  `json:"warnings,omitempty"`
}

// GridRow is one section's verdict on each sensor (Verdicts[i] is for
// Sensors[i]; UNSEEN when the sensor saw none of its traffic).
type GridRow struct {
	Section  string   `json:"section"`
	Verdicts []string `json:"verdicts"`
	// Broken counts the sensors whose verdict is not OK or UNSEEN.
	Broken int `json:"broken"`
}

// Finding is one finding (name and host) across the fleet.
type Finding struct {
	Finding  string   `json:"finding"`
	Severity string   `json:"severity"`
	Host     string   `json:"host"`
	Section  string   `json:"section,omitempty"`
	Sensors  []string `json:"sensors"`
	Devices  int      `json:"devices"` // distinct (sensor, client) pairs
	Count    int      `json:"count"`
	First    string   `json:"first"`
	Last     string   `json:"last"`
	sev      report.Severity
}

// Health is one sensor's capture health.
type Health struct {
	Sensor      string `json:"sensor"`
	Source      string `json:"source"`
	First       string `json:"first,omitempty"`
	Last        string `json:"last,omitempty"`
	Packets     uint64 `json:"packets"`
	Flows       uint64 `json:"flows"`
	AppleFlows  uint64 `json:"apple_flows"`
	Devices     int    `json:"devices"`
	Findings    int    `json:"findings"`
	Malformed   uint64 `json:"malformed"`
	Evicted     uint64 `json:"flows_evicted"`
	Dropped     uint64 `json:"dropped"`     // by the kernel or the interface, live
	Undelivered uint64 `json:"undelivered"` // event records an output could not deliver
	Warnings    int    `json:"warnings"`
	Errors      int    `json:"errors"`
}

// Parse reads one orchard JSON report (--format json).
func Parse(r io.Reader, source string) (*report.Report, error) {
	dec := json.NewDecoder(io.LimitReader(r, maxReportBytes))
	var rep report.Report
	if err := dec.Decode(&rep); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, fmt.Errorf("%s: not an orchard JSON report: %v at offset %d", source, err, se.Offset)
		}
		return nil, fmt.Errorf("%s: not an orchard JSON report: %w (offset %d)", source, err, dec.InputOffset())
	}
	if rep.Services == nil && rep.Findings == nil {
		return nil, fmt.Errorf("%s: not an orchard JSON report (no services or findings)", source)
	}
	for _, f := range rep.Findings {
		if f == nil {
			return nil, fmt.Errorf("%s: null finding", source)
		}
	}
	return &rep, nil
}

// ReadPaths reads reports from files and directories (every *.json in a
// directory, not recursing). A sensor is named by its report's sensor, or
// else by the file's name without .json.
func ReadPaths(paths []string) ([]Sensor, error) {
	var files []string
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if !st.IsDir() {
			files = append(files, p)
			continue
		}
		m, err := filepath.Glob(filepath.Join(p, "*.json"))
		if err != nil {
			return nil, err
		}
		sort.Strings(m)
		files = append(files, m...)
	}
	var out []Sensor
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		rep, err := Parse(f, name)
		f.Close()
		if err != nil {
			return nil, err
		}
		out = append(out, Sensor{Name: sensorName(rep, name), Source: name, Report: rep})
	}
	return out, nil
}

func sensorName(rep *report.Report, file string) string {
	if rep.Capture.Sensor != "" {
		return rep.Capture.Sensor
	}
	return strings.TrimSuffix(filepath.Base(file), ".json")
}

// Latest keeps one report per sensor name: the one whose capture ends
// last (the later one on a tie). It keeps the order of first appearance.
func Latest(sensors []Sensor) ([]Sensor, []string) {
	idx := map[string]int{}
	var out []Sensor
	var warnings []string
	for _, s := range sensors {
		i, ok := idx[s.Name]
		if !ok {
			idx[s.Name] = len(out)
			out = append(out, s)
			continue
		}
		warnings = append(warnings, fmt.Sprintf("sensor %s: several reports (%s, %s): keeping the latest", s.Name, out[i].Source, s.Source))
		if s.Report.Capture.Last >= out[i].Report.Capture.Last {
			out[i] = s
		}
	}
	return out, warnings
}

// Build makes the fleet view of the sensors' reports, sensors in name
// order.
func Build(sensors []Sensor) *View {
	sensors, warnings := Latest(sensors)
	slices.SortStableFunc(sensors, func(a, b Sensor) int { return cmp.Compare(a.Name, b.Name) })
	v := &View{Sensors: []string{}, Grid: []GridRow{}, Findings: []Finding{}, Health: []Health{}, Warnings: warnings}
	// Sections in the order the reports list them (the catalog's).
	var order []string
	verdict := map[string]map[string]string{} // section → sensor → verdict
	type fkey struct{ finding, host string }
	findings := map[fkey]*Finding{}
	var forder []fkey
	devices := map[fkey]map[string]bool{}
	for _, s := range sensors {
		v.Sensors = append(v.Sensors, s.Name)
		r := s.Report
		for _, svc := range r.Services {
			if verdict[svc.Section] == nil {
				verdict[svc.Section] = map[string]string{}
				order = append(order, svc.Section)
			}
			verdict[svc.Section][s.Name] = svc.Verdict
		}
		for _, f := range r.Findings {
			k := fkey{f.Finding, f.Host}
			ff := findings[k]
			if ff == nil {
				ff = &Finding{Finding: f.Finding, Host: f.Host, Section: f.Section, First: f.First, Last: f.Last}
				findings[k] = ff
				devices[k] = map[string]bool{}
				forder = append(forder, k)
			}
			if sev, _ := report.ParseSeverity(f.Severity); sev > ff.sev {
				ff.sev, ff.Severity = sev, f.Severity
			}
			if !slices.Contains(ff.Sensors, s.Name) {
				ff.Sensors = append(ff.Sensors, s.Name)
			}
			devices[k][s.Name+"\x00"+f.Client] = true
			ff.Count += f.Count
			if f.First < ff.First {
				ff.First = f.First
			}
			if f.Last > ff.Last {
				ff.Last = f.Last
			}
		}
		v.Health = append(v.Health, health(s))
	}
	for _, sec := range order {
		row := GridRow{Section: sec}
		seen := false
		for _, name := range v.Sensors {
			vd := verdict[sec][name]
			if vd == "" {
				vd = "UNSEEN"
			}
			if vd != "UNSEEN" {
				seen = true
			}
			if vd != "OK" && vd != "UNSEEN" {
				row.Broken++
			}
			row.Verdicts = append(row.Verdicts, vd)
		}
		if seen {
			v.Grid = append(v.Grid, row)
		}
	}
	for _, k := range forder {
		f := findings[k]
		f.Devices = len(devices[k])
		v.Findings = append(v.Findings, *f)
	}
	slices.SortStableFunc(v.Findings, func(a, b Finding) int {
		return cmp.Or(-cmp.Compare(len(a.Sensors), len(b.Sensors)), -cmp.Compare(a.Devices, b.Devices),
			-cmp.Compare(a.sev, b.sev), -cmp.Compare(a.Count, b.Count), cmp.Compare(a.Finding, b.Finding), cmp.Compare(a.Host, b.Host))
	})
	return v
}

func health(s Sensor) Health {
	c := &s.Report.Capture
	h := Health{Sensor: s.Name, Source: s.Source, First: c.First, Last: c.Last, Packets: c.Packets, Flows: c.Flows,
		AppleFlows: c.AppleFlows, Devices: c.Devices, Findings: len(s.Report.Findings), Malformed: c.Stats.Malformed,
		Evicted: c.Stats.FlowsEvicted, Warnings: len(c.Warnings), Errors: len(c.Errors)}
	if l := c.Live; l != nil {
		h.Dropped = l.DroppedKernel + l.DroppedIface
	}
	for _, o := range c.Outputs {
		h.Undelivered += o.Failed + o.Dropped
	}
	return h
}
