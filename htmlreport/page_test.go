package htmlreport_test

import (
	"crypto/sha256"
	"encoding/base64"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"orchard/analyzer"
	"orchard/catalog"
)

// TestDemoPage checks the demo's page by its structure, not against a
// golden copy: every finding with all its fields and its catalog row,
// every section of the catalog with its verdict, the SVG timeline, the
// asks, headings and tables, and nothing that loads or runs.
func TestDemoPage(t *testing.T) {
	r := demoReport(t)
	if len(r.Findings) < 10 {
		t.Fatalf("the demo has %d findings, want its planted ones", len(r.Findings))
	}
	_, doc := render(t, r)
	checkFindings(t, doc, r)
	checkSections(t, doc, r)
	checkTimelines(t, doc, r)
	checkAsks(t, doc)
	checkOutline(t, doc)
	if bad := activeContent(doc); len(bad) > 0 {
		t.Errorf("page can load or run something: %v", bad)
	}
	checkCSP(t, doc)
	if bad := danglingLinks(doc); len(bad) > 0 {
		t.Errorf("links to nowhere: %v", bad)
	}
}

func checkFindings(t *testing.T, doc *html.Node, r *analyzer.Report) {
	t.Helper()
	cat, err := catalog.Default()
	if err != nil {
		t.Fatal(err)
	}
	cards := all(doc, func(n *html.Node) bool {
		return n.Type == html.ElementNode && n.Data == "article" && hasClass(n, "finding")
	})
	if len(cards) != len(r.Findings) {
		t.Errorf("%d finding cards, want %d", len(cards), len(r.Findings))
	}
	for i, f := range r.Findings {
		id := "f" + strconv.Itoa(i+1)
		card := byID(doc, id)
		if card == nil || card.Data != "article" {
			t.Errorf("finding %d (%s %s): no article #%s", i+1, f.Finding, f.Host, id)
			continue
		}
		got := text(card)
		want := []string{f.Finding, f.Host, f.Evidence, f.Advice, f.Client, f.Section, f.Service, strconv.Itoa(f.Count),
			f.Server + ":" + strconv.Itoa(int(f.Port)) + "/" + f.Proto}
		if f.ClientMAC != "" {
			want = append(want, f.ClientMAC)
		}
		if f.Process != "" {
			want = append(want, f.Process)
		}
		for _, ts := range []string{f.First, f.Last} {
			want = append(want, clockOf(t, ts))
		}
		sev := map[string]string{"error": "error", "warn": "warning", "info": "info"}[f.Severity]
		want = append(want, sev)
		for _, w := range want {
			if w != "" && !strings.Contains(got, w) {
				t.Errorf("finding %d (%s %s): card lacks %q", i+1, f.Finding, f.Host, w)
			}
		}
		if !strings.Contains(got, "named by") {
			t.Errorf("finding %d: card does not say how the host was named", i+1)
		}
		// The catalog row: one of the rows matching the host, with its
		// ports, protocols, proxy support and editions.
		tables := all(card, func(n *html.Node) bool {
			return n.Type == html.ElementNode && n.Data == "table" && hasClass(n, "catrow")
		})
		if len(tables) != 1 {
			t.Errorf("finding %d (%s %s): %d catalog row tables, want 1", i+1, f.Finding, f.Host, len(tables))
			continue
		}
		row := text(tables[0])
		rows := cat.Match(f.Host)
		if len(rows) == 0 {
			rows = cat.Match(f.Server)
		}
		found := false
		for _, e := range rows {
			if e.Section == f.Section && strings.Contains(row, e.Host) && strings.Contains(row, strings.Join(e.Editions, ", ")) {
				found = true
			}
		}
		if !found {
			t.Errorf("finding %d (%s %s): catalog row %q is none of the host's rows in section %q", i+1, f.Finding, f.Host, row, f.Section)
		}
		for _, head := range []string{"Ports", "Protocols", "Proxy", "Editions"} {
			if !strings.Contains(row, head) {
				t.Errorf("finding %d: catalog row table has no %s column", i+1, head)
			}
		}
	}
	// The index table links to every card.
	links := map[string]bool{}
	for _, a := range elements(doc, "a") {
		links[attr(a, "href")] = true
	}
	for i := range r.Findings {
		if !links["#f"+strconv.Itoa(i+1)] {
			t.Errorf("nothing links to finding %d", i+1)
		}
	}
}

// clockOf shows a report time as the page does.
func clockOf(t *testing.T, s string) string {
	t.Helper()
	// "2026-11-02T08:15:40.135Z" → "2026-11-02 08:15:40.135 UTC"
	date, rest, ok := strings.Cut(strings.TrimSuffix(s, "Z"), "T")
	if !ok {
		t.Fatalf("time %q", s)
	}
	hms, frac, _ := strings.Cut(rest, ".")
	frac = (frac + "000")[:3]
	return date + " " + hms + "." + frac + " UTC"
}

func checkSections(t *testing.T, doc *html.Node, r *analyzer.Report) {
	t.Helper()
	cat, err := catalog.Default()
	if err != nil {
		t.Fatal(err)
	}
	sections := map[string]bool{}
	for _, e := range cat.Entries() {
		sections[e.Section] = true
	}
	var table *html.Node
	for _, n := range elements(doc, "table") {
		if hasClass(n, "services") {
			table = n
		}
	}
	if table == nil {
		t.Fatal("no services table")
	}
	verdictOf := map[string]string{}
	for _, s := range r.Services {
		verdictOf[s.Section] = s.Verdict
	}
	rows := elements(elements(table, "tbody")[0], "tr")
	if len(rows) != len(sections) {
		t.Errorf("services table has %d rows, the catalog %d sections", len(rows), len(sections))
	}
	seen := map[string]bool{}
	for _, tr := range rows {
		th := elements(tr, "th")
		if len(th) != 1 || attr(th[0], "scope") != "row" {
			t.Errorf("services row %q has no row header", text(tr))
			continue
		}
		name := text(th[0])
		seen[name] = true
		if !sections[name] {
			t.Errorf("services row %q is not a catalog section", name)
		}
		v := verdictOf[name]
		if v == "" || !strings.Contains(text(tr), v) {
			t.Errorf("section %q: row %q lacks its verdict %q", name, text(tr), v)
		}
	}
	for s := range sections {
		if !seen[s] {
			t.Errorf("section %q missing from the page", s)
		}
	}
	// The verdict counts add up to the sections.
	sum := 0
	for _, ul := range elements(doc, "ul") {
		if hasClass(ul, "verdict-counts") {
			for _, li := range elements(ul, "li") {
				f := strings.Fields(text(li))
				n, err := strconv.Atoi(f[len(f)-1])
				if err != nil {
					t.Errorf("verdict count %q", text(li))
				}
				sum += n
			}
		}
	}
	if sum != len(sections) {
		t.Errorf("verdict counts add up to %d, want %d sections", sum, len(sections))
	}
}

func checkTimelines(t *testing.T, doc *html.Node, r *analyzer.Report) {
	t.Helper()
	perDevice := map[string]int{}
	for _, f := range r.Findings {
		perDevice[f.Client]++
	}
	svgs := elements(doc, "svg")
	if len(svgs) != len(perDevice) {
		t.Fatalf("%d SVG timelines, want one per device with findings (%d)", len(svgs), len(perDevice))
	}
	for _, svg := range svgs {
		if attr(svg, "role") != "img" {
			t.Errorf("timeline SVG has role %q, want img", attr(svg, "role"))
		}
		ids := strings.Fields(attr(svg, "aria-labelledby"))
		if len(ids) != 2 {
			t.Errorf("timeline SVG aria-labelledby %q", attr(svg, "aria-labelledby"))
		}
		for _, id := range ids {
			n := byID(doc, id)
			if n == nil || (n.Data != "title" && n.Data != "desc") || strings.TrimSpace(text(n)) == "" {
				t.Errorf("timeline label #%s is not a non-empty title or desc", id)
			}
		}
		marks := all(svg, func(n *html.Node) bool { return n.Type == html.ElementNode && n.Data == "a" && hasClass(n, "mark") })
		fig := svg.Parent
		dev := strings.TrimSpace(strings.TrimPrefix(text(elements(fig, "h3")[0]), "Device"))
		if len(marks) != perDevice[dev] {
			t.Errorf("timeline of %s has %d marks, want %d findings", dev, len(marks), perDevice[dev])
		}
		desc := text(elements(svg, "desc")[0])
		for _, m := range marks {
			target := strings.TrimPrefix(attr(m, "href"), "#")
			if byID(doc, target) == nil {
				t.Errorf("timeline mark links to missing #%s", target)
			}
			if len(elements(m, "title")) != 1 || len(elements(m, "path")) != 1 {
				t.Errorf("timeline mark for #%s lacks its title or shape", target)
			}
		}
		for _, f := range r.Findings {
			if f.Client == dev && !strings.Contains(desc, f.Finding+" "+f.Host) {
				t.Errorf("timeline description lacks %s %s", f.Finding, f.Host)
			}
		}
		for _, n := range all(svg, func(n *html.Node) bool { return n.Type == html.ElementNode }) {
			for _, k := range []string{"x", "x1", "x2", "y", "y1", "y2", "width", "height"} {
				v := attr(n, k)
				if v == "" {
					continue
				}
				x, err := strconv.ParseFloat(v, 64)
				if err != nil || x < 0 || x > 5000 {
					t.Errorf("<%s %s=%q>: outside the drawing", n.Data, k, v)
				}
			}
		}
	}
}

func checkAsks(t *testing.T, doc *html.Node) {
	t.Helper()
	sec := byID(doc, "ask")
	if sec == nil {
		t.Fatal("no #ask section")
	}
	var heads []string
	for _, h := range elements(sec, "h3") {
		heads = append(heads, text(h))
	}
	want := []string{"1. Allow outbound connections", "2. Exempt from TLS inspection", "3. Allow through the proxy without authentication",
		"4. Fix DNS for these names", "5. Allow UDP 123 (time)", "As text for a ticket"}
	if strings.Join(heads, "|") != strings.Join(want, "|") {
		t.Errorf("ask headings %q, want %q", heads, want)
	}
	pres := elements(sec, "pre")
	if len(pres) != 1 {
		t.Fatalf("%d ticket texts", len(pres))
	}
	ticket := text(pres[0])
	for _, w := range []string{
		"27-courier.push.apple.com TCP 5223", "17.0.0.0/8 TCP 5223", "iosapps.itunes.apple.com TCP 443", "gs.apple.com TCP 443",
		"gateway.icloud.com UDP 443",
		"mdmenrollment.apple.com TCP 443", "gdmf.apple.com TCP 443", "iprofiles.apple.com TCP 443",
		"idmsa.apple.com:443",
		"mesu.apple.com", "updates.cdn-apple.com", "appldnld.apple.com",
		"time-ios.apple.com UDP 123", "time.apple.com UDP 123",
		"https://support.apple.com/",
	} {
		if !strings.Contains(ticket, w) {
			t.Errorf("ticket lacks %q", w)
		}
	}
	// Information only: Private Relay turned off on purpose, a port the
	// catalog does not list.
	for _, no := range []string{"mask.icloud.com", "TCP 80 "} {
		if strings.Contains(ticket, no) {
			t.Errorf("ticket asks for %q, an information-only finding", no)
		}
	}
}

// checkOutline: one h1, the five numbered h2s, no skipped heading level,
// every table with a caption and header cells.
func checkOutline(t *testing.T, doc *html.Node) {
	t.Helper()
	if n := len(elements(doc, "h1")); n != 1 {
		t.Errorf("%d h1", n)
	}
	var h2 []string
	for _, h := range elements(doc, "h2") {
		h2 = append(h2, strings.Join(strings.Fields(text(h)), " "))
	}
	want := []string{"1 What was analysed", "2 Apple services", "3 Findings", "4 Timeline", "5 What to ask your network team"}
	if strings.Join(h2, "|") != strings.Join(want, "|") {
		t.Errorf("h2 outline %q, want %q", h2, want)
	}
	level := 0
	for _, h := range all(doc, func(n *html.Node) bool {
		return n.Type == html.ElementNode && len(n.Data) == 2 && n.Data[0] == 'h' && n.Data[1] >= '1' && n.Data[1] <= '6'
	}) {
		l := int(h.Data[1] - '0')
		if l > level+1 {
			t.Errorf("heading %q (h%d) skips a level after h%d", text(h), l, level)
		}
		level = l
	}
	for _, tb := range elements(doc, "table") {
		if len(elements(tb, "caption")) != 1 || len(elements(tb, "th")) == 0 {
			t.Errorf("table %q has no caption or no header cells", text(tb)[:min(60, len(text(tb)))])
		}
		for _, th := range elements(tb, "th") {
			if s := attr(th, "scope"); s != "col" && s != "row" {
				t.Errorf("header cell %q has scope %q", text(th), s)
			}
		}
	}
	// Severity and verdict badges carry their meaning in words.
	for _, n := range all(doc, func(n *html.Node) bool {
		return n.Type == html.ElementNode && (hasClass(n, "sev") || hasClass(n, "verdict"))
	}) {
		words := strings.ToLower(text(n))
		ok := false
		for _, w := range []string{"error", "warning", "info", "ok", "degraded", "blocked", "intercepted", "unseen"} {
			ok = ok || strings.Contains(words, w)
		}
		if !ok {
			t.Errorf("badge %q says nothing in words", text(n))
		}
	}
	if lang := attr(elements(doc, "html")[0], "lang"); lang != "en" {
		t.Errorf("html lang %q", lang)
	}
}

// checkCSP: the policy forbids everything but the page's own style sheet,
// whose hash it names.
func checkCSP(t *testing.T, doc *html.Node) {
	t.Helper()
	var policy string
	for _, m := range elements(doc, "meta") {
		if strings.EqualFold(attr(m, "http-equiv"), "Content-Security-Policy") {
			policy = attr(m, "content")
		}
	}
	if !strings.Contains(policy, "default-src 'none'") {
		t.Fatalf("Content-Security-Policy %q does not forbid loading", policy)
	}
	styles := elements(doc, "style")
	if len(styles) != 1 {
		t.Fatalf("%d style elements", len(styles))
	}
	sum := sha256.Sum256([]byte(text(styles[0])))
	if want := "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"; !strings.Contains(policy, want) {
		t.Errorf("policy %q does not name the style sheet's hash %s", policy, want)
	}
}
