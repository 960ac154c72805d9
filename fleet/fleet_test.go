package fleet_test

import (
	"strings"
	"testing"

	"orchard/analyzer"
	"orchard/fleet"
)

func report(sensor, last string, verdicts map[string]string, findings ...*analyzer.Finding) *analyzer.Report {
	r := &analyzer.Report{Capture: analyzer.CaptureInfo{Sensor: sensor, Last: last}, Findings: findings}
	for _, sec := range []string{"Device setup", "Device management", "iCloud"} {
		v := verdicts[sec]
		if v == "" {
			v = "UNSEEN"
		}
		r.Services = append(r.Services, analyzer.ServiceSummary{Section: sec, Verdict: v})
	}
	return r
}

func TestBuild(t *testing.T) {
	push := func(client string) *analyzer.Finding {
		return &analyzer.Finding{Finding: "tcp.syn_unanswered", Severity: "error", Host: "courier.push.apple.com", Client: client, Count: 2,
			First: "2026-01-01T00:00:00Z", Last: "2026-01-01T00:01:00Z"}
	}
	ntp := &analyzer.Finding{Finding: "ntp.bad", Severity: "warn", Host: "time.apple.com", Client: "10.0.0.9", Count: 1}
	sensors := []fleet.Sensor{
		{Name: "b", Source: "b.json", Report: report("b", "2026-01-01T10:00:00Z", map[string]string{"Device management": "BLOCKED"}, push("10.0.0.1"), push("10.0.0.2"))},
		{Name: "a", Source: "a.json", Report: report("a", "2026-01-01T10:00:00Z", map[string]string{"Device management": "OK", "Device setup": "DEGRADED"}, ntp)},
		{Name: "b", Source: "b-old.json", Report: report("b", "2026-01-01T09:00:00Z", nil)},
		{Name: "c", Source: "c.json", Report: report("c", "2026-01-01T10:00:00Z", map[string]string{"Device management": "BLOCKED"}, push("10.0.0.1"))},
	}
	v := fleet.Build(sensors)
	if got := strings.Join(v.Sensors, ","); got != "a,b,c" {
		t.Errorf("sensors %s", got)
	}
	if len(v.Warnings) != 1 || !strings.Contains(v.Warnings[0], "b-old.json") {
		t.Errorf("warnings %v", v.Warnings)
	}
	wantGrid := []struct {
		section, verdicts string
		broken            int
	}{
		{"Device setup", "DEGRADED,UNSEEN,UNSEEN", 1},
		{"Device management", "OK,BLOCKED,BLOCKED", 2},
	}
	if len(v.Grid) != len(wantGrid) {
		t.Fatalf("grid %+v", v.Grid)
	}
	for i, w := range wantGrid {
		g := v.Grid[i]
		if g.Section != w.section || strings.Join(g.Verdicts, ",") != w.verdicts || g.Broken != w.broken {
			t.Errorf("row %d: %+v, want %+v", i, g, w)
		}
	}
	if len(v.Findings) != 2 {
		t.Fatalf("findings %+v", v.Findings)
	}
	f := v.Findings[0]
	if f.Finding != "tcp.syn_unanswered" || strings.Join(f.Sensors, ",") != "b,c" || f.Devices != 3 || f.Count != 6 {
		t.Errorf("top finding %+v", f)
	}
	if len(v.Health) != 3 || v.Health[1].Source != "b.json" || v.Health[1].Findings != 2 {
		t.Errorf("health %+v", v.Health)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{``, "not an orchard JSON report"},
		{`{"capture": `, "not an orchard JSON report"},
		{`[1, 2]`, "not an orchard JSON report"},
		{`{"x": 1}`, "no services or findings"},
		{`{"findings": [null]}`, "null finding"},
		{`{"findings": [{"count": "x"}]}`, "offset"},
	}
	for _, tc := range tests {
		_, err := fleet.Parse(strings.NewReader(tc.in), "r.json")
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "r.json") {
			t.Errorf("%q: %v, want %q", tc.in, err, tc.want)
		}
	}
}

// FuzzParse: any input is a report or one error naming the source, and a
// report always builds a view.
func FuzzParse(f *testing.F) {
	f.Add(`{"capture":{"sensor":"a","last":"x"},"findings":[{"finding":"tcp.reset","severity":"error","host":"h","count":1}],"services":[{"section":"s","verdict":"OK"}]}`)
	f.Add(`{"findings":[]}`)
	f.Add(`{"services":[{"section":"","verdict":""}],"capture":{"outputs":[{"failed":1}],"live":{"dropped_kernel":3}}}`)
	f.Fuzz(func(t *testing.T, in string) {
		r, err := fleet.Parse(strings.NewReader(in), "fuzz.json")
		if err != nil {
			if !strings.Contains(err.Error(), "fuzz.json") {
				t.Fatalf("error %v does not name the source", err)
			}
			return
		}
		v := fleet.Build([]fleet.Sensor{{Name: "a", Report: r}, {Name: "a", Report: r}, {Name: "b", Report: r}})
		if len(v.Sensors) != 2 || len(v.Health) != 2 {
			t.Fatalf("view %+v", v)
		}
	})
}
