package htmlreport

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
	"time"

	"orchard/analyzer"
)

// Timeline geometry, in SVG user units (the SVG scales to the page width).
const (
	tlWidth     = 960.0
	tlLeft      = 40.0
	tlRight     = 40.0
	tlTop       = 8.0
	tlBandHead  = 22.0
	tlLane      = 20.0
	tlBandGap   = 8.0
	tlAxis      = 34.0
	tlLabelMax  = 64 // characters of a mark's label
	tlFlipShare = 0.6
	tlMaxMarks  = 80 // findings drawn on one device's timeline
)

// Timeline is one device's findings over the capture's time span: one band
// per Apple section, one lane per finding, the finding drawn as a mark at
// its first time (and a bar to its last time when it lasted).
type Timeline struct {
	ID     string
	Device string
	Title  string
	Desc   string
	Width  string
	Height string
	Axis   Axis
	Bands  []Band
	Marks  []Mark
	// Undrawn counts the device's findings beyond tlMaxMarks (the least
	// severe), which the timeline leaves out.
	Undrawn int
}

// Axis is the time axis at the foot of a timeline.
type Axis struct {
	Y, X1, X2, TitleY string
	TickEnd           string
	Title             string
	Ticks             []Tick
	GridTop           string
}

// Tick is one labelled time on the axis.
type Tick struct {
	X, Label string
}

// Band is the horizontal strip of one section.
type Band struct {
	Y, H, LabelY string
	Label        string
	Shade        bool
}

// Mark is one finding on a timeline.
type Mark struct {
	Href     string
	Class    string
	Shape    string // SVG path data
	X, Y     string
	X2       string // end of the bar when the finding lasted
	Span     bool
	Label    string
	LabelX   string
	LabelY   string
	Anchor   string // "start" or "end"
	Title    string
	Severity string
}

func f1(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

// shape returns path data for a severity's mark centred on (x, y): a diamond
// for errors, a triangle for warnings, a circle for the rest, so the marks
// differ by shape as well as colour.
func shape(class string, x, y float64) string {
	switch class {
	case "error":
		return "M" + f1(x) + " " + f1(y-7) + "L" + f1(x+7) + " " + f1(y) + "L" + f1(x) + " " + f1(y+7) + "L" + f1(x-7) + " " + f1(y) + "Z"
	case "warn":
		return "M" + f1(x) + " " + f1(y-7) + "L" + f1(x+7) + " " + f1(y+5.5) + "L" + f1(x-7) + " " + f1(y+5.5) + "Z"
	}
	const r = 5.5
	return "M" + f1(x-r) + " " + f1(y) + "a" + f1(r) + " " + f1(r) + " 0 1 0 " + f1(2*r) + " 0a" + f1(r) + " " + f1(r) + " 0 1 0 " + f1(-2*r) + " 0Z"
}

// buildTimelines makes one timeline per device with findings, at most
// maxTimelines, and returns how many devices were left without one.
func buildTimelines(c analyzer.CaptureInfo, devs []Device, fs []Finding) ([]*Timeline, int) {
	start, ok1 := parseTime(c.First)
	end, ok2 := parseTime(c.Last)
	if !ok1 || !ok2 || len(fs) == 0 {
		return nil, 0
	}
	// Findings stamped outside the capture's span widen it.
	for _, f := range fs {
		for _, t := range []time.Time{f.first, f.last} {
			if t.IsZero() {
				continue
			}
			if t.Before(start) {
				start = t
			}
			if t.After(end) {
				end = t
			}
		}
	}
	if !end.After(start) {
		end = start.Add(time.Second)
	}
	byDev := map[string][]Finding{}
	for _, f := range fs {
		byDev[f.Client] = append(byDev[f.Client], f)
	}
	var out []*Timeline
	left := 0
	for _, d := range devs {
		mine := byDev[d.Address]
		if len(mine) == 0 {
			continue
		}
		if len(out) >= maxTimelines {
			left++
			continue
		}
		undrawn := max(0, len(mine)-tlMaxMarks)
		tl := timeline("tl-"+strconv.Itoa(len(out)+1), d.Address, mine[:len(mine)-undrawn], start, end)
		tl.Undrawn = undrawn
		out = append(out, tl)
	}
	return out, left
}

func timeline(id, device string, fs []Finding, start, end time.Time) *Timeline {
	span := end.Sub(start)
	plotW := tlWidth - tlLeft - tlRight
	xOf := func(t time.Time) float64 {
		v := float64(t.Sub(start)) / float64(span)
		return tlLeft + plotW*min(1, max(0, v))
	}
	t := &Timeline{ID: id, Device: device, Width: f1(tlWidth)}
	t.Title = "Timeline of device " + device + ": when each Apple service failed"

	// Bands by section, in order of each section's first finding.
	var order []string
	bySec := map[string][]Finding{}
	for _, f := range fs {
		sec := cmp.Or(f.Section, "Not in Apple's catalog")
		if _, ok := bySec[sec]; !ok {
			order = append(order, sec)
		}
		bySec[sec] = append(bySec[sec], f)
	}
	y := tlTop
	var desc strings.Builder
	desc.WriteString(strconv.Itoa(len(fs)) + " findings between " + start.UTC().Format("15:04:05") + " and " + end.UTC().Format("15:04:05") + " UTC. ")
	for bi, sec := range order {
		lanes := bySec[sec]
		slices.SortStableFunc(lanes, func(a, b Finding) int { return a.first.Compare(b.first) })
		h := tlBandHead + tlLane*float64(len(lanes))
		t.Bands = append(t.Bands, Band{Y: f1(y), H: f1(h), LabelY: f1(y + 15), Label: sec, Shade: bi%2 == 0})
		desc.WriteString(sec + ": ")
		for li, f := range lanes {
			cy := y + tlBandHead + tlLane*float64(li) + tlLane/2 - 2
			ft, lt := f.first, f.last
			if ft.IsZero() {
				ft = start
			}
			if lt.Before(ft) {
				lt = ft
			}
			x, x2 := xOf(ft), xOf(lt)
			m := Mark{
				Href: "#" + f.ID, Class: f.Severity, Shape: shape(f.Severity, x, cy),
				X: f1(x), Y: f1(cy), X2: f1(x2), Span: x2-x >= 2, LabelY: f1(cy + 4),
				Severity: f.SevLabel,
			}
			label := "#" + strconv.Itoa(f.Num) + " " + f.Name + " " + f.Host
			if r := []rune(label); len(r) > tlLabelMax {
				label = string(r[:tlLabelMax-1]) + "…"
			}
			m.Label = label
			if x2 < tlLeft+plotW*tlFlipShare {
				m.LabelX, m.Anchor = f1(x2+11), "start"
			} else {
				m.LabelX, m.Anchor = f1(x-11), "end"
			}
			when := ft.UTC().Format("15:04:05.000")
			if lt.After(ft) {
				when += "–" + lt.UTC().Format("15:04:05.000")
			}
			m.Title = "#" + strconv.Itoa(f.Num) + " " + f.SevLabel + " " + f.Name + " " + f.Host + " at " + when + " UTC: " + f.Evidence
			t.Marks = append(t.Marks, m)
			if li > 0 {
				desc.WriteString("; ")
			}
			desc.WriteString(when + " " + f.SevLabel + " " + f.Name + " " + f.Host)
		}
		desc.WriteString(". ")
		y += h + tlBandGap
	}
	t.Desc = strings.TrimSpace(desc.String())

	// Axis with round ticks.
	ay := y + 2
	t.Axis = Axis{Y: f1(ay), X1: f1(tlLeft), X2: f1(tlLeft + plotW), TitleY: f1(ay + 30), TickEnd: f1(ay + 5), GridTop: f1(tlTop)}
	t.Axis.Title = "time (UTC, " + start.UTC().Format("2006-01-02") + "); marks: ◆ error, ▲ warning, ● info"
	step := tickStep(span)
	first := start.Truncate(step)
	if first.Before(start) {
		first = first.Add(step)
	}
	layout := "15:04:05"
	if step >= time.Minute {
		layout = "15:04"
	}
	if span > 36*time.Hour {
		layout = "01-02 15:04"
	}
	for tk := first; !tk.After(end); tk = tk.Add(step) {
		t.Axis.Ticks = append(t.Axis.Ticks, Tick{X: f1(xOf(tk)), Label: tk.UTC().Format(layout)})
	}
	t.Height = f1(ay + tlAxis + 8)
	return t
}

// tickStep picks a round interval giving about six ticks over span.
func tickStep(span time.Duration) time.Duration {
	steps := []time.Duration{
		time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second, 15 * time.Second, 30 * time.Second,
		time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute, 30 * time.Minute,
		time.Hour, 2 * time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour, 24 * time.Hour,
	}
	for _, s := range steps {
		if span/s <= 8 {
			return s
		}
	}
	days := span / (24 * time.Hour) / 8
	return (days + 1) * 24 * time.Hour
}
