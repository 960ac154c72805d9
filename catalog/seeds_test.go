package catalog

import (
	"bufio"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"orchard/internal/sharedtest"
)

// seedSections maps the section headings of every seed edition (English,
// Swedish, French, Japanese) to the catalog's English section names.
var seedSections = map[string]string{
	// 2023-07, English
	"Device setup":      "Device setup",
	"Device management": "Device management",
	"Apple Business Manager and Apple School Manager": "Apple Business Manager and Apple School Manager",
	"Apple Business Essentials device management":     "Apple Business Essentials",
	"Classroom and Schoolwork":                        "Classroom and Schoolwork",
	"Software updates":                                "Software updates",
	"App Store":                                       "Apps and additional content",
	"Carrier updates":                                 "Carrier updates",
	"Content caching":                                 "Content caching",
	"App features":                                    "Apps and additional content",
	"Beta updates":                                    "Beta updates",
	"Apple diagnostics":                               "Apple diagnostics",
	"Domain Name System resolution":                   "Domain Name System resolution",
	"Certificate validation":                          "Certificate validation",
	"Apple ID":                                        "Apple Account",
	"iCloud":                                          "iCloud",
	"Siri and Search":                                 "Apple Intelligence, Siri and Search",
	"Associated Domains":                              "Associated Domains",
	"Tap to Pay on iPhone":                            "Tap to Pay on iPhone",
	"Additional content":                              "Apps and additional content",
	// 2023-07, Swedish
	"Enhetsinställning": "Device setup",
	"Enhetshantering":   "Device management",
	"Apple Business Manager och Apple School Manager": "Apple Business Manager and Apple School Manager",
	"Apple Business Essentials-enhetshantering":       "Apple Business Essentials",
	"Klassrum och Skolarbete":                         "Classroom and Schoolwork",
	"Mjukvaruuppdateringar":                           "Software updates",
	"Uppdateringar från operatör":                     "Carrier updates",
	"Innehållscachning":                               "Content caching",
	"Appfunktioner":                                   "Apps and additional content",
	"Betauppdateringar":                               "Beta updates",
	"Apple Diagnostics":                               "Apple diagnostics",
	"DNS-konvertering":                                "Domain Name System resolution",
	"Certifikatvalidering":                            "Certificate validation",
	"Apple-ID":                                        "Apple Account",
	"Siri och sökning":                                "Apple Intelligence, Siri and Search",
	"Tap to Pay på iPhone":                            "Tap to Pay on iPhone",
	"Ytterligare innehåll":                            "Apps and additional content",
	// 2024-11, French
	"Configuration de l’appareil":                     "Device setup",
	"Gestion des appareils":                           "Device management",
	"Apple Business Manager et Apple School Manager":  "Apple Business Manager and Apple School Manager",
	"Gestion des appareils Apple Business Essentials": "Apple Business Essentials",
	"En classe et Pour l’école":                       "Classroom and Schoolwork",
	"Mises à jour logicielles":                        "Software updates",
	"Apps et contenu supplémentaire":                  "Apps and additional content",
	"Mises à jour des opérateurs":                     "Carrier updates",
	"Mise en cache de contenu":                        "Content caching",
	"Mises à jour bêta":                               "Beta updates",
	"Diagnostics Apple":                               "Apple diagnostics",
	"Résolution DNS (Domain Name System)":             "Domain Name System resolution",
	"Validation des certificats":                      "Certificate validation",
	"Compte Apple":                                    "Apple Account",
	"Apple Intelligence, Siri et recherche":           "Apple Intelligence, Siri and Search",
	"Domaines associés":                               "Associated Domains",
	"Vérificateur d’identité sur iPhone":              "ID Verifier on iPhone",
	// older, Japanese
	"デバイスの設定":      "Device setup",
	"デバイス管理":       "Device management",
	"ソフトウェアアップデート": "Software updates",
	"コンテンツキャッシュ":   "Content caching",
	"App の公証":      "App notarization",
	"証明書の検証":       "Certificate validation",
}

// seedRowCounts guards the seed parser: the number of table rows it must
// find in each known seed.
var seedRowCounts = map[string]int{
	"apple-enterprise-hosts-en-2023-07.txt": 127,
	"apple-enterprise-hosts-sv-2023-07.txt": 127,
	"apple-enterprise-hosts-fr-2024-11.txt": 139,
	"apple-enterprise-hosts-ja-older.txt":   50,
}

// seedTypos are documented mistakes in a seed: the catalog must hold the
// correction and say so in the note.
var seedTypos = []struct {
	edition, host string
	wrong, right  uint16
}{
	{"2024-11", "sylvan.apple.com", 433, 443},
}

// seedRow is one host of one table row of a seed article.
type seedRow struct {
	file, edition string
	line          int
	section       string // catalog section
	host, path    string // pattern; path written after the host, if any
	ports         []uint16
	protocols     []string
}

func (r seedRow) String() string {
	return r.file + ":" + strconv.Itoa(r.line) + ": " + r.host
}

func seedEdition(file string) string {
	switch {
	case strings.Contains(file, "-2023-07"):
		return "2023-07"
	case strings.Contains(file, "-2024-11"):
		return "2024-11"
	case strings.Contains(file, "-older"):
		return "older"
	}
	return ""
}

// parseSeed extracts the host tables of one seed. It understands the three
// layouts in the corpus: markdown-style "host | ports | protocol | ..."
// lines, one cell per line, and space-separated rows.
func parseSeed(t *testing.T, path string) (rows []seedRow, text string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Base(path)
	edition := seedEdition(file)
	if edition == "" {
		t.Fatalf("%s: unknown edition in file name", file)
	}
	type line struct {
		n    int
		text string
	}
	var lines []line
	sc := bufio.NewScanner(strings.NewReader(string(data)))
	for n := 1; sc.Scan(); n++ {
		if s := strings.TrimFunc(sc.Text(), unicode.IsSpace); s != "" {
			lines = append(lines, line{n, s})
		}
	}
	section := ""
	add := func(n int, hostCell string, ports []uint16, protos []string) {
		for _, h := range splitHostCell(hostCell) {
			host, p, _ := strings.Cut(h, "/")
			if _, err := netip.ParsePrefix(h); err == nil {
				host, p = h, ""
			} else if p != "" {
				p = "/" + p
			}
			if section == "" {
				t.Errorf("%s:%d: host %s before any known section heading", file, n, host)
			}
			rows = append(rows, seedRow{file, edition, n, section, host, p, ports, protos})
		}
	}
	for i := 0; i < len(lines); i++ {
		l := lines[i].text
		if s, ok := seedSections[l]; ok {
			section = s
			continue
		}
		if strings.Contains(l, "|") { // markdown-style table line
			cells := strings.Split(l, "|")
			if len(cells) >= 3 && splitHostCell(cells[0]) != nil {
				ports, ok1 := seedPorts(cells[1])
				protos, ok2 := seedProtocols(cells[2])
				if ok1 && ok2 {
					add(lines[i].n, cells[0], ports, protos)
				}
			}
			continue
		}
		if f := strings.Fields(l); len(f) >= 3 && splitHostCell(f[0]) != nil { // space-separated row
			if ports, ok := seedPorts(f[1]); ok {
				if protos, ok := seedProtocols(f[2]); ok {
					add(lines[i].n, f[0], ports, protos)
					continue
				}
			}
		}
		if splitHostCell(l) != nil && i+2 < len(lines) { // one cell per line
			ports, ok1 := seedPorts(lines[i+1].text)
			protos, ok2 := seedProtocols(lines[i+2].text)
			if ok1 && ok2 {
				add(lines[i].n, l, ports, protos)
				i += 2
			}
		}
	}
	return rows, string(data)
}

// splitHostCell returns the host patterns of a table cell (one or several,
// separated by commas, spaces or a conjunction), or nil when the cell holds
// anything else.
func splitHostCell(cell string) []string {
	var out []string
	for _, tok := range strings.FieldsFunc(cell, func(r rune) bool { return r == ',' || r == '、' || unicode.IsSpace(r) }) {
		switch tok {
		case "and", "et", "och", "と":
			continue
		}
		if !seedHostLike(tok) {
			return nil
		}
		out = append(out, tok)
	}
	return out
}

func seedHostLike(tok string) bool {
	if p, err := netip.ParsePrefix(tok); err == nil {
		return p.IsValid()
	}
	name, _, _ := strings.Cut(tok, "/")
	name = strings.TrimPrefix(name, "*.")
	if _, err := netip.ParseAddr(name); err == nil {
		return false
	}
	return strings.Contains(name, ".") && validName(name)
}

// seedPorts parses "443, 80", "443、80" or a range "49152–65535".
func seedPorts(cell string) ([]uint16, bool) {
	var out []uint16
	for _, f := range strings.FieldsFunc(cell, func(r rune) bool { return r == ',' || r == '、' }) {
		f = strings.TrimFunc(f, unicode.IsSpace)
		lo, hi, isRange := strings.Cut(strings.ReplaceAll(f, "–", "-"), "-")
		a, err := strconv.ParseUint(strings.TrimSpace(lo), 10, 16)
		if err != nil {
			return nil, false
		}
		b := a
		if isRange {
			if b, err = strconv.ParseUint(strings.TrimSpace(hi), 10, 16); err != nil || b < a || b-a > 1024 {
				return nil, false
			}
		}
		for p := a; p <= b; p++ {
			out = append(out, uint16(p))
		}
	}
	return out, len(out) > 0
}

func seedProtocols(cell string) ([]string, bool) {
	var out []string
	for _, f := range strings.FieldsFunc(cell, func(r rune) bool { return r == ',' || r == '、' }) {
		switch p := strings.ToUpper(strings.TrimFunc(f, unicode.IsSpace)); p {
		case "TCP", "UDP", "SSH":
			out = append(out, p)
		default:
			return nil, false
		}
	}
	return out, len(out) > 0
}

func TestSeedsAgreeWithCatalog(t *testing.T) {
	dir := filepath.Join(sharedtest.Dir(t), "seeds")
	files, _ := filepath.Glob(filepath.Join(dir, "apple-enterprise-hosts-*.txt"))
	if len(files) == 0 {
		t.Skip("no seed articles in shared/seeds")
	}
	c := mustDefault(t)
	perEdition := map[string]map[string]bool{}
	for _, path := range files {
		file := filepath.Base(path)
		rows, text := parseSeed(t, path)
		if want, ok := seedRowCounts[file]; ok && len(rows) != want {
			t.Errorf("%s: parsed %d table rows, want %d", file, len(rows), want)
		} else if len(rows) == 0 {
			t.Errorf("%s: no table rows found", file)
		}
		edition := seedEdition(file)
		if perEdition[edition] == nil {
			perEdition[edition] = map[string]bool{}
		}
		listed := map[[2]string]bool{}
		distinct := map[string]bool{}
		for _, r := range rows {
			checkSeedRow(t, c, r)
			listed[[2]string{r.section, strings.ToLower(r.host)}] = true
			distinct[strings.ToLower(r.host)] = true
			perEdition[edition][strings.ToLower(r.host)] = true
		}
		t.Logf("%s (edition %s): %d table rows, %d distinct host patterns", file, edition, len(rows), len(distinct))

		// Every catalog row claiming this edition is in this seed.
		for _, e := range c.Entries() {
			if !slices.Contains(e.Editions, edition) {
				continue
			}
			if e.IsCatchAll() {
				// Stated in the Firewalls paragraph, not in a table.
				if !strings.Contains(text, e.Host) {
					t.Errorf("%s: catalog row %s claims edition %s but the text never mentions it", file, e.Host, edition)
				}
				continue
			}
			if !listed[[2]string{e.Section, strings.ToLower(e.Host)}] {
				t.Errorf("%s: catalog row %q / %s claims edition %s but the seed does not list it there", file, e.Section, e.Host, edition)
			}
		}
	}
	var eds []string
	for ed := range perEdition {
		eds = append(eds, ed)
	}
	sort.Strings(eds)
	for _, ed := range eds {
		only := 0
		for h := range perEdition[ed] {
			in := 0
			for _, other := range perEdition {
				if other[h] {
					in++
				}
			}
			if in == 1 {
				only++
			}
		}
		t.Logf("edition %s: %d distinct host patterns, %d in no other edition", ed, len(perEdition[ed]), only)
	}
}

// checkSeedRow asserts that the catalog has the seed's row in the same
// section, that the matcher finds it, and that ports, protocols and edition
// agree.
func checkSeedRow(t *testing.T, c *Catalog, r seedRow) {
	t.Helper()
	rows := c.Lookup(r.host)
	if len(rows) == 0 {
		t.Errorf("%v: no catalog row with this pattern", r)
		return
	}
	// The matcher reaches the row.
	var matched []*Entry
	switch e := (Entry{Host: r.host}); e.Kind() {
	case KindExact:
		matched = c.MatchHost(r.host)
	case KindWildcard:
		matched = c.MatchHost("orchard-probe" + r.host[1:])
	case KindCIDR:
		p := netip.MustParsePrefix(r.host)
		matched = c.MatchAddr(p.Addr())
	}
	if !slices.ContainsFunc(matched, func(e *Entry) bool { return slices.Contains(rows, e) }) {
		t.Errorf("%v: matcher returns %q, not the row", r, hosts(matched))
	}
	i := slices.IndexFunc(rows, func(e *Entry) bool { return e.Section == r.section })
	if i < 0 {
		t.Errorf("%v: no row in section %q (have %q)", r, r.section, hosts(rows))
		return
	}
	e := rows[i]
	if !slices.Contains(e.Editions, r.edition) {
		t.Errorf("%v: row editions %q lack %s", r, e.Editions, r.edition)
	}
	for _, p := range r.protocols {
		if !slices.Contains(e.Protocols, p) {
			t.Errorf("%v: seed protocol %s, row has %q", r, p, e.Protocols)
		}
	}
	for _, p := range r.ports {
		if slices.Contains(e.Ports, p) {
			continue
		}
		fixed := false
		for _, ty := range seedTypos {
			if ty.edition == r.edition && ty.host == r.host && ty.wrong == p {
				fixed = true
				if !slices.Contains(e.Ports, ty.right) || !strings.Contains(e.Note, strconv.Itoa(int(ty.wrong))) || !strings.Contains(e.Note, strconv.Itoa(int(ty.right))) {
					t.Errorf("%v: typo %d should be corrected to %d with a note; row ports %v, note %q", r, ty.wrong, ty.right, e.Ports, e.Note)
				}
			}
		}
		if !fixed {
			t.Errorf("%v: seed port %d, row has %v", r, p, e.Ports)
		}
	}
	if r.path != "" && !strings.Contains(e.Note, r.host+r.path) {
		t.Errorf("%v: path %s not recorded in the note %q", r, r.path, e.Note)
	}
}

func TestSplitHostCell(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"albert.apple.com", []string{"albert.apple.com"}},
		{"*.push.apple.com", []string{"*.push.apple.com"}},
		{"17.248.128.0/18", []string{"17.248.128.0/18"}},
		{"www.apple.com/fr", []string{"www.apple.com/fr"}},
		{"a.apple.com, b.apple.com", []string{"a.apple.com", "b.apple.com"}},
		{"a.apple.com and b.apple.com", []string{"a.apple.com", "b.apple.com"}},
		{"a.apple.com、b.apple.com", []string{"a.apple.com", "b.apple.com"}},
		{"Hosts", nil},
		{"iOS, iPadOS, tvOS, and macOS", nil},
		{"Learn more about APNs and proxies.", nil},
		{"443", nil},
		{"17.0.0.1", nil},
	}
	for _, tt := range tests {
		if got := splitHostCell(tt.in); !slices.Equal(got, tt.want) {
			t.Errorf("splitHostCell(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if p, ok := seedPorts("443、80"); !ok || !slices.Equal(p, []uint16{443, 80}) {
		t.Errorf("seedPorts: %v", p)
	}
	if p, ok := seedPorts("5223–5225"); !ok || !slices.Equal(p, []uint16{5223, 5224, 5225}) {
		t.Errorf("seedPorts range: %v", p)
	}
	if _, ok := seedPorts("macOS"); ok {
		t.Error("seedPorts accepted text")
	}
}
