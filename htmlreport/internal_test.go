package htmlreport

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"orchard/analyzer"
	"orchard/catalog"
)

func TestActionOf(t *testing.T) {
	tests := []struct {
		name, sev, want string
	}{
		{"tcp.syn_unanswered", "error", ActionAllow},
		{"tcp.syn_rejected", "error", ActionAllow},
		{"tcp.icmp_unreachable", "error", ActionAllow},
		{"tcp.reset", "warn", ActionAllow},
		{"udp.unanswered", "warn", ActionAllow},
		{"udp.unanswered", "info", ""}, // Private Relay
		{"apns.fallback", "warn", ActionAllow},
		{"tls.intercepted", "error", ActionTLS},
		{"tls.handshake_aborted", "error", ActionTLS},
		{"tls.hello_unanswered", "error", ActionTLS},
		{"tls.cert_expired", "warn", ""}, // the device clock, not the network
		{"http.proxy_denied", "error", ActionProxy},
		{"dns.failure", "error", ActionDNS},
		{"dns.failure", "info", ""}, // mask.icloud.com turned off on purpose
		{"dns.sinkhole", "error", ActionDNS},
		{"dns.unanswered", "warn", ActionDNS},
		{"ntp.unanswered", "error", ActionNTP},
		{"ntp.bad", "warn", ActionNTP},
		{"port.unlisted", "info", ""},
		{"port.unlisted", "warn", ""},
		{"tls.downgraded", "error", ActionTLS}, // a later finding, by its family
		{"quic.blocked", "error", ActionAllow},
		{"tcp.syn_unanswered", "undecided", ""},
		{"mystery", "error", ""},
	}
	for _, tt := range tests {
		got := actionOf(&analyzer.Finding{Finding: tt.name, Severity: tt.sev})
		if got != tt.want {
			t.Errorf("actionOf(%s, %s) = %q, want %q", tt.name, tt.sev, got, tt.want)
		}
	}
}

func TestBuildAsks(t *testing.T) {
	cat, err := catalog.Default()
	if err != nil {
		t.Fatal(err)
	}
	fs := []*analyzer.Finding{
		{Finding: "tcp.syn_unanswered", Severity: "error", Host: "1-courier.push.apple.com", Server: "17.57.144.1", Port: 5223, Proto: "tcp", Evidence: "4 SYNs"},
		{Finding: "tcp.syn_unanswered", Severity: "error", Host: "1-courier.push.apple.com", Server: "17.57.144.2", Port: 5223, Proto: "tcp", Evidence: "3 SYNs"},
		{Finding: "tcp.syn_rejected", Severity: "error", Host: "1-courier.push.apple.com", Server: "17.57.144.2", Port: 5223, Proto: "tcp"},
		{Finding: "apns.fallback", Severity: "warn", Host: "1-courier.push.apple.com", Server: "17.57.144.1", Port: 5223, Proto: "tcp"},
		{Finding: "http.proxy_denied", Severity: "error", Host: "idmsa.apple.com", Server: "10.0.0.8", Port: 443, Proto: "tcp"},
		{Finding: "dns.failure", Severity: "info", Host: "mask.icloud.com", Server: "10.0.0.53", Port: 53, Proto: "udp"},
		{Finding: "ntp.unanswered", Severity: "error", Host: "time.apple.com", Server: "17.253.1.1", Port: 123, Proto: "udp"},
	}
	got := buildAsks(fs, cat)
	var lines []string
	for _, g := range got {
		for _, a := range g.Items {
			lines = append(lines, g.Action+" "+a.Target+" "+a.Port+" ["+strings.Join(a.Seen, ",")+"] "+strings.Join(a.Reasons, ",")+" "+strings.Join(a.IDs, ","))
		}
	}
	want := []string{
		"allow 1-courier.push.apple.com TCP 5223 [17.57.144.1,17.57.144.2] tcp.syn_unanswered,tcp.syn_rejected f1,f2,f3",
		"allow 17.0.0.0/8 TCP 5223 [17.57.144.1] apns.fallback f4",
		"proxy idmsa.apple.com:443  [10.0.0.8] http.proxy_denied f5",
		"ntp time.apple.com UDP 123 [17.253.1.1] ntp.unanswered f7",
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("asks:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
	if a := got[0].Items[0]; a.Apple != "*.push.apple.com: TCP 443, 80, 5223, 2197" || a.Evidence != "4 SYNs" {
		t.Errorf("first ask: Apple %q, evidence %q", a.Apple, a.Evidence)
	}
	devs, more := affectedDevices(append(fs, &analyzer.Finding{Finding: "port.unlisted", Severity: "info", Client: "10.0.0.9"},
		&analyzer.Finding{Finding: "tcp.reset", Severity: "error", Client: "10.0.0.2"},
		&analyzer.Finding{Finding: "tcp.reset", Severity: "error", Client: "10.0.0.3"}), 1)
	if len(devs) != 1 || devs[0] != "10.0.0.2" || more != 1 {
		t.Errorf("affected devices %v and %d more", devs, more)
	}
	ticket := ticketText(got, Input{Sources: []string{"x.pcap"}}, devs, more)
	for _, w := range []string{"Devices affected: 10.0.0.2 and 1 more\n", "1. Allow outbound connections", "- 1-courier.push.apple.com TCP 5223", "Apple lists *.push.apple.com: TCP 443, 80, 5223, 2197",
		"2. Allow through the proxy without authentication", "3. Allow UDP 123 (time)", ArticleURL} {
		if !strings.Contains(ticket, w) {
			t.Errorf("ticket lacks %q:\n%s", w, ticket)
		}
	}
	if strings.Contains(ticket, "mask.icloud.com") {
		t.Errorf("ticket asks about an information-only finding:\n%s", ticket)
	}
	if got := ticketText(nil, Input{}, nil, 0); !strings.HasPrefix(got, "Nothing to ask") {
		t.Errorf("empty ticket %q", got)
	}
}

func TestOneLine(t *testing.T) {
	tests := []struct{ in, want string }{
		{"mesu.apple.com", "mesu.apple.com"},
		{"a\nb", `a\nb`},
		{"a\x1b[31mb", `a\x1b[31mb`},
		{"\u202eevil", `\u202eevil`},
		{"café", "café"},
	}
	for _, tt := range tests {
		if got := oneLine(tt.in); got != tt.want {
			t.Errorf("oneLine(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestValueText(t *testing.T) {
	tests := []struct{ in, want string }{
		{`"x"`, "x"},
		{`""`, ""},
		{`null`, ""},
		{`12`, "12"},
		{`1.5`, "1.5"},
		{`true`, "true"},
		{`["a","b"]`, "a, b"},
		{`[]`, ""},
		{`{"one_way":true,"share":0.9,"note":""}`, "one_way: true; share: 0.9"},
		{`[{"a":1}]`, `[{"a":1}]`},
	}
	for _, tt := range tests {
		if got := valueText(json.RawMessage(tt.in)); got != tt.want {
			t.Errorf("valueText(%s) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestNewFieldsShown: fields a later report adds to findings or to the
// capture are shown by their JSON names, not lost.
func TestNewFieldsShown(t *testing.T) {
	f := struct {
		analyzer.Finding
		CommunityID string `json:"community_id"`
		Status      string `json:"status"`
	}{analyzer.Finding{Finding: "tcp.reset", Host: "a.apple.com"}, "1:abc=", "undecided"}
	got, err := extraFields(f, findingFields)
	if err != nil {
		t.Fatal(err)
	}
	want := []Field{{"community_id", "1:abc="}, {"status", "undecided"}}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("extra fields %v, want %v", got, want)
	}
	// A finding the capture could not decide says why, with its evidence,
	// not among the other facts.
	why, rest := splitUndecided([]Field{{"community_id", "1:abc="}, {"undecided", "the capture ended 0.2s after the SYN"}, {"x", "y"}})
	if why != "the capture ended 0.2s after the SYN" || len(rest) != 2 || rest[0].Name != "community_id" || rest[1].Name != "x" {
		t.Errorf("splitUndecided: %q, %v", why, rest)
	}

	// Plain structs stand in for the capture information, whatever fields
	// the analyzer's has today.
	c := struct {
		Files  []string `json:"files"`
		Sensor string   `json:"sensor"`
		Probe  any      `json:"probe"`
	}{[]string{"x"}, "school-7", map[string]any{"warning": "odd", "depth": 3}}
	notes, err := captureNotes(c)
	if err != nil {
		t.Fatal(err)
	}
	if len(notes) != 3 {
		t.Fatalf("notes %+v, want sensor, probe and visibility not assessed", notes)
	}
	if notes[0].Text != "sensor: school-7" {
		t.Errorf("sensor note %+v", notes[0])
	}
	if p := notes[1]; p.Text != "probe: odd" || p.Level != "warn" || len(p.Fields) != 1 || p.Fields[0] != (Field{"depth", "3"}) {
		t.Errorf("probe note %+v", p)
	}
	// A visibility assessment, in plain words.
	vis := func(v map[string]any) Note {
		t.Helper()
		c := struct {
			Files      []string       `json:"files"`
			Visibility map[string]any `json:"visibility"`
		}{Visibility: v}
		notes, err := captureNotes(c)
		if err != nil || len(notes) != 1 {
			t.Fatalf("notes %+v, %v", notes, err)
		}
		return notes[0]
	}
	one := vis(map[string]any{"tcp_flows": 12, "both_sides": 0, "devices_only": 12, "missing": "servers", "withheld": 5,
		"statement": "only packets from the devices are seen: asymmetric routing or a one-way mirror"})
	if one.Level != "warn" || one.Text != "Visibility: only packets from the devices are seen: asymmetric routing or a one-way mirror. 5 findings that rest on an answer the capture could not show are marked undecided." {
		t.Errorf("one-way note %+v", one)
	}
	both := vis(map[string]any{"tcp_flows": 10, "both_sides": 10, "acked_bytes": 16479, "missed_bytes": 0, "capture_loss": 0})
	if both.Level != "ok" || both.Text != "Both directions were seen: 10 of 10 TCP flows have packets from both sides, and the capture missed 0.00% of the bytes the endpoints acknowledged." {
		t.Errorf("two-way note %+v", both)
	}
	if len(both.Fields) != 5 {
		t.Errorf("two-way note lists %v", both.Fields)
	}
	if none := vis(map[string]any{"tcp_flows": 0, "both_sides": 0, "capture_loss": 0}); none.Level != "info" || len(none.Fields) != 0 || !strings.Contains(none.Text, "not assessed") {
		t.Errorf("unmeasured note %+v", none)
	}
	// Without a visibility field, the page says it was not assessed.
	notes, err = captureNotes(struct {
		Files []string `json:"files"`
	}{})
	if err != nil {
		t.Fatal(err)
	}
	if len(notes) != 1 || !strings.Contains(notes[0].Text, "does not assess whether both directions") {
		t.Errorf("notes without visibility: %+v", notes)
	}
}

func TestTicks(t *testing.T) {
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		start, end string
		want       string
	}{
		{"2026-11-02T08:15:00Z", "2026-11-02T08:15:53Z", "08:15:00 08:15:10 08:15:20 08:15:30 08:15:40 08:15:50"},
		{"2026-11-02T08:15:00.2Z", "2026-11-02T08:15:00.9Z", ""},
		{"2026-11-02T08:07:00Z", "2026-11-02T09:07:00Z", "08:10 08:20 08:30 08:40 08:50 09:00"},
		{"2026-11-02T20:00:00Z", "2026-11-03T20:00:00Z", "21:00 00:00 03:00 06:00 09:00 12:00 15:00 18:00"},
		{"2026-11-02T20:00:00Z", "2026-11-06T01:00:00Z", "2026-11-03 2026-11-04 2026-11-05 2026-11-06"},
		{"2026-01-10T00:00:00Z", "2026-02-20T00:00:00Z", "2026-01-10 2026-01-17 2026-01-24 2026-01-31 2026-02-07 2026-02-14"},
		{"2026-01-10T00:00:00Z", "2026-09-01T00:00:00Z", "2026-02 2026-03 2026-04 2026-05 2026-06 2026-07 2026-08 2026-09"},
		{"2024-05-10T00:00:00Z", "2026-09-01T00:00:00Z", "2024-07 2025-01 2025-07 2026-01 2026-07"},
		{"2005-03-30T08:50:54Z", "2026-11-02T08:15:53Z", "2010 2015 2020 2025"},
		{"1970-01-01T00:00:00Z", "2106-02-07T06:28:15Z", "1980 2000 2020 2040 2060 2080 2100"},
	}
	for _, tt := range tests {
		var got []string
		for _, tk := range ticks(at(tt.start), at(tt.end)) {
			got = append(got, tk.label)
		}
		if strings.Join(got, " ") != tt.want {
			t.Errorf("ticks(%s, %s) = %q, want %q", tt.start, tt.end, strings.Join(got, " "), tt.want)
		}
	}
}

func TestDeviceSpan(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	end := start.Add(10 * 24 * time.Hour)
	at := func(d time.Duration) Finding { return Finding{first: start.Add(d), last: start.Add(d)} }
	from, to, zoomed := deviceSpan([]Finding{at(time.Hour), at(2 * time.Hour)}, start, end)
	if !zoomed || !from.Equal(start.Add(time.Hour-6*time.Minute)) || !to.Equal(start.Add(2*time.Hour+6*time.Minute)) {
		t.Errorf("two findings an hour apart in ten days: %v → %v, zoomed %v", from, to, zoomed)
	}
	if _, _, zoomed := deviceSpan([]Finding{at(time.Hour), at(5 * 24 * time.Hour)}, start, end); zoomed {
		t.Errorf("findings over half the capture: zoomed")
	}
	if from, to, zoomed := deviceSpan([]Finding{{}}, start, end); zoomed || from != start || to != end {
		t.Errorf("findings without times: zoomed")
	}
}

// TestTimelineBounds: marks stay inside the drawing whatever the times,
// and the ticks are in order.
func TestTimelineBounds(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	end := start.Add(90 * time.Minute)
	fs := []Finding{
		{ID: "f1", Num: 1, Severity: "error", Name: "a", Host: strings.Repeat("x", 300), Section: "S1", first: start, last: end},
		{ID: "f2", Num: 2, Severity: "warn", Name: "b", Section: "S2", first: end, last: end},
		{ID: "f3", Num: 3, Severity: "info", Name: "c", Section: "S1"}, // no times
		{ID: "f4", Num: 4, Severity: "error", Name: "d", Section: "", first: start.Add(time.Minute), last: start},
	}
	tl := timeline("tl-1", "10.0.0.1", fs, start, end)
	if len(tl.Bands) != 3 || len(tl.Marks) != 4 {
		t.Fatalf("%d bands, %d marks", len(tl.Bands), len(tl.Marks))
	}
	for _, m := range tl.Marks {
		for _, v := range []string{m.X, m.X2, m.Y} {
			var x float64
			if err := json.Unmarshal([]byte(v), &x); err != nil || x < 0 || x > tlWidth {
				t.Errorf("mark %s: coordinate %s outside the drawing", m.Href, v)
			}
		}
		if n := len([]rune(m.Label)); n > tlLabelMax {
			t.Errorf("label of %d characters", n)
		}
	}
	if len(tl.Axis.Ticks) < 4 || len(tl.Axis.Ticks) > 10 {
		t.Errorf("%d ticks", len(tl.Axis.Ticks))
	}
	if !strings.Contains(tl.Desc, "4 findings") {
		t.Errorf("desc %q", tl.Desc)
	}
}
