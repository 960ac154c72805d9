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
	// Zoomed is set when the timeline spans the device's findings only,
	// because they fill a small part of the capture's time.
	Zoomed bool
}

// deviceSpan is the time a device's timeline shows: the capture's span,
// or, when the device's findings cover less than a tenth of it (a device
// seen in one of several captures days apart), their own span with a
// margin, at least a minute.
func deviceSpan(fs []Finding, start, end time.Time) (from, to time.Time, zoomed bool) {
	var lo, hi time.Time
	for _, f := range fs {
		for _, t := range []time.Time{f.first, f.last} {
			if t.IsZero() {
				continue
			}
			if lo.IsZero() || t.Before(lo) {
				lo = t
			}
			if t.After(hi) {
				hi = t
			}
		}
	}
	if lo.IsZero() || hi.Sub(lo)*10 >= end.Sub(start) {
		return start, end, false
	}
	margin := max(hi.Sub(lo)/10, 30*time.Second)
	from, to = lo.Add(-margin), hi.Add(margin)
	if from.Before(start) {
		from = start
	}
	if to.After(end) {
		to = end
	}
	if to.Sub(from) >= end.Sub(start)/2 {
		return start, end, false
	}
	return from, to, true
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
		mine = mine[:len(mine)-undrawn]
		from, to, zoomed := deviceSpan(mine, start, end)
		tl := timeline("tl-"+strconv.Itoa(len(out)+1), d.Address, mine, from, to)
		tl.Undrawn, tl.Zoomed = undrawn, zoomed
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
	if span > 36*time.Hour {
		t.Axis.Title = "time (UTC); marks: ◆ error, ▲ warning, ● info"
	}
	for _, tk := range ticks(start, end) {
		t.Axis.Ticks = append(t.Axis.Ticks, Tick{X: f1(xOf(tk.at)), Label: tk.label})
	}
	t.Height = f1(ay + tlAxis + 8)
	return t
}

type tick struct {
	at    time.Time
	label string
}

// ticks picks round times between start and end, about four to eight of
// them: clock times for spans up to a day and a half, dates up to a year,
// months up to four years, then years.
func ticks(start, end time.Time) []tick {
	start, end = start.UTC(), end.UTC()
	span := end.Sub(start)
	var out []tick
	if span <= 36*time.Hour {
		step := tickStep(span)
		layout := "15:04:05"
		if step >= time.Minute {
			layout = "15:04"
		}
		first := start.Truncate(step)
		if first.Before(start) {
			first = first.Add(step)
		}
		for tk := first; !tk.After(end); tk = tk.Add(step) {
			out = append(out, tick{tk, tk.Format(layout)})
		}
		return out
	}
	days := int(span / (24 * time.Hour))
	var months, years int
	switch {
	case days <= 10:
		// one tick a day
	case days <= 60:
		days = 7
	case days <= 366:
		months = 1 + days/(30*8)
	case days <= 4*366:
		months = 3 * (1 + days/(90*8))
	default:
		years = 1 + days/(365*8)
		for _, y := range []int{1, 2, 5, 10, 20, 50, 100} {
			if y >= years {
				years = y
				break
			}
		}
	}
	y, m, d := start.Date()
	var next func(time.Time) time.Time
	var layout string
	var tk time.Time
	switch {
	case years > 0:
		tk = time.Date(y-y%years, 1, 1, 0, 0, 0, 0, time.UTC)
		next = func(t time.Time) time.Time { return t.AddDate(years, 0, 0) }
		layout = "2006"
	case months > 0:
		tk = time.Date(y, m-time.Month((int(m)-1)%months), 1, 0, 0, 0, 0, time.UTC)
		next = func(t time.Time) time.Time { return t.AddDate(0, months, 0) }
		layout = "2006-01"
	default:
		step := 1
		if days == 7 {
			step = 7
		}
		tk = time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
		next = func(t time.Time) time.Time { return t.AddDate(0, 0, step) }
		layout = "2006-01-02"
	}
	for ; !tk.After(end) && len(out) < 64; tk = next(tk) {
		if !tk.Before(start) {
			out = append(out, tick{tk, tk.Format(layout)})
		}
	}
	return out
}

// tickStep picks a round interval giving at most eight ticks over span
// (up to a day and a half).
func tickStep(span time.Duration) time.Duration {
	steps := []time.Duration{
		time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second, 15 * time.Second, 30 * time.Second,
		time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute, 30 * time.Minute,
		time.Hour, 2 * time.Hour, 3 * time.Hour, 6 * time.Hour,
	}
	for _, s := range steps {
		if span/s <= 8 {
			return s
		}
	}
	return 6 * time.Hour
}
