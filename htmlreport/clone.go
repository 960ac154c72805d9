package htmlreport

import (
	"math"
	"strconv"
	"unicode/utf8"

	"orchard/analyzer"
	"orchard/flow"
)

// The page is built from a copy of the report as its JSON says it, so a
// report made here and the same report read back from its JSON file give
// the same page, and no invalid UTF-8 from the wire reaches the page.
// cloneReport makes that copy directly, field by field, instead of
// marshalling the report and reading it back (which cost most of the
// page's time and hundreds of MB on a report at the tables' caps). It does
// what the round trip does, and a test holds it to that on every field:
//
//   - invalid UTF-8 is replaced byte by byte with U+FFFD, as encoding/json
//     writes it;
//   - fields tagged `json:"-"` (the tallies, flow.Stats' clock) are zero;
//   - a nil slice stays nil, an empty one stays empty unless its field is
//     omitempty (omitted, so nil when read back); a nil pointer stays nil;
//   - a NaN or infinite number is the error json.Marshal gives.
//
// Strings that are valid UTF-8 are shared with the report, not copied:
// strings are immutable.

// unsupportedFloat is the error encoding/json gives for a NaN or an
// infinity (json.UnsupportedValueError's text).
type unsupportedFloat float64

func (f unsupportedFloat) Error() string {
	return "json: unsupported value: " + strconv.FormatFloat(float64(f), 'g', -1, 64)
}

// cloner copies one report; err is the first number JSON cannot hold.
type cloner struct {
	err error
}

// cloneReport copies r as a JSON round trip would.
func cloneReport(r *analyzer.Report) (*analyzer.Report, error) {
	var c cloner
	out := &analyzer.Report{
		Capture:  c.capture(&r.Capture),
		Findings: each(r.Findings, finding),
		Services: services(r.Services),
		Hosts:    each(r.Hosts, host),
		Devices:  each(r.Devices, device),
	}
	if c.err != nil {
		return nil, c.err
	}
	return out, nil
}

// str is s with every byte that is not part of valid UTF-8 replaced by
// U+FFFD, as encoding/json writes it.
func str(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	b := make([]byte, 0, len(s)+8)
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			b = utf8.AppendRune(b, utf8.RuneError)
		} else {
			b = append(b, s[i:i+n]...)
		}
		i += n
	}
	return string(b)
}

// strs copies a slice of strings; omitEmpty says the field is omitempty.
func strs(in []string, omitEmpty bool) []string {
	if in == nil || (omitEmpty && len(in) == 0) {
		return nil
	}
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = str(s)
	}
	return out
}

// num is f, noting the error JSON gives for a number it cannot hold.
func (c *cloner) num(f float64) float64 {
	if (math.IsNaN(f) || math.IsInf(f, 0)) && c.err == nil {
		c.err = unsupportedFloat(f)
	}
	return f
}

func (c *cloner) capture(in *analyzer.CaptureInfo) analyzer.CaptureInfo {
	out := *in
	out.Files = strs(in.Files, false)
	out.First, out.Last = str(in.First), str(in.Last)
	out.Duration = c.num(in.Duration)
	out.Stats = stats(in.Stats)
	out.Visibility = c.visibility(in.Visibility)
	out.Warnings = strs(in.Warnings, true)
	out.Errors = strs(in.Errors, true)
	out.Live = live(in.Live)
	out.Sensor = str(in.Sensor)
	out.Outputs = nil
	if len(in.Outputs) > 0 {
		out.Outputs = make([]analyzer.OutputStats, len(in.Outputs))
		for i, o := range in.Outputs {
			o.Output, o.Target = str(o.Output), str(o.Target)
			out.Outputs[i] = o
		}
	}
	return out
}

// stats copies the counters JSON holds; the clock and the open-flow gauge
// are not in it.
func stats(in flow.Stats) flow.Stats {
	in.First, in.Last, in.OpenFlows = 0, 0, 0
	return in
}

func (c *cloner) visibility(v analyzer.Visibility) analyzer.Visibility {
	v.Missing = str(v.Missing)
	v.Loss = c.num(v.Loss)
	v.Statement = str(v.Statement)
	return v
}

func live(in *analyzer.LiveStats) *analyzer.LiveStats {
	if in == nil {
		return nil
	}
	out := *in
	out.Interface, out.Backend = str(in.Interface), str(in.Backend)
	out.Sockets = nil
	if len(in.Sockets) > 0 {
		out.Sockets = append([]analyzer.SocketStats(nil), in.Sockets...)
	}
	return &out
}

// each copies a slice of pointers into one array, with copy; nil entries
// stay nil, as JSON's null reads back.
func each[T any](in []*T, copy func(*T) T) []*T {
	if in == nil {
		return nil
	}
	out := make([]*T, len(in))
	store := make([]T, len(in))
	for i, v := range in {
		if v != nil {
			store[i] = copy(v)
			out[i] = &store[i]
		}
	}
	return out
}

func finding(f *analyzer.Finding) analyzer.Finding {
	return analyzer.Finding{
		Type: str(f.Type), Finding: str(f.Finding), Severity: str(f.Severity),
		Host: str(f.Host), NameSource: str(f.NameSource),
		Service: str(f.Service), Section: str(f.Section),
		Client: str(f.Client), ClientMAC: str(f.ClientMAC), Process: str(f.Process),
		Server: str(f.Server), Port: f.Port, Proto: str(f.Proto),
		Proxy: str(f.Proxy), Target: str(f.Target), CommunityID: str(f.CommunityID),
		Count: f.Count, First: str(f.First), Last: str(f.Last),
		Evidence: str(f.Evidence), Advice: str(f.Advice), Undecided: str(f.Undecided),
	}
}

func host(h *analyzer.HostSummary) analyzer.HostSummary {
	return analyzer.HostSummary{
		Host: str(h.Host), NameSource: str(h.NameSource),
		Service: str(h.Service), Section: str(h.Section),
		Ports: strs(h.Ports, false), Servers: strs(h.Servers, false),
		Flows: h.Flows, OK: h.OK, Failed: h.Failed, Undecided: h.Undecided,
		Findings: strs(h.Findings, true),
	}
}

func device(d *analyzer.DeviceSummary) analyzer.DeviceSummary {
	return analyzer.DeviceSummary{
		Address: str(d.Address), MAC: str(d.MAC),
		Processes: strs(d.Processes, true),
		Flows:     d.Flows, AppleFlows: d.AppleFlows, Failed: d.Failed, Findings: d.Findings,
	}
}

func services(in []analyzer.ServiceSummary) []analyzer.ServiceSummary {
	if in == nil {
		return nil
	}
	out := make([]analyzer.ServiceSummary, len(in))
	for i, s := range in {
		s.Section = str(s.Section)
		s.Hosts = strs(s.Hosts, false)
		s.Verdict = str(s.Verdict)
		out[i] = s
	}
	return out
}
