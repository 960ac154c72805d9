package catalog

import (
	"errors"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
)

func mustDefault(t testing.TB) *Catalog {
	t.Helper()
	c, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func hosts(rows []*Entry) []string {
	var out []string
	for _, e := range rows {
		out = append(out, e.Section+" | "+e.Host)
	}
	return out
}

func TestDefaultLoads(t *testing.T) {
	c := mustDefault(t)
	rows := c.Entries()
	if len(rows) < 150 {
		t.Fatalf("only %d rows", len(rows))
	}
	distinct := map[string]bool{}
	for _, e := range rows {
		if e.Source != BuiltinSource {
			t.Errorf("%s: source %q", e.Host, e.Source)
		}
		if e.Kind() == KindInvalid || c.Lookup(e.Host) == nil {
			t.Errorf("%s: pattern not indexed", e.Host)
		}
		if len(e.Editions) == 0 {
			t.Errorf("%s (%s): no editions", e.Host, e.Section)
		}
		for _, ed := range e.Editions {
			switch ed {
			case "2023-07", "2024-11", "older", "2025":
			default:
				t.Errorf("%s: unknown edition %q", e.Host, ed)
			}
		}
		distinct[strings.ToLower(e.Host)] = true
	}
	if len(distinct) < 130 {
		t.Errorf("only %d distinct host patterns", len(distinct))
	}
	t.Logf("%d rows, %d distinct host patterns", len(rows), len(distinct))
}

func TestMatchHost(t *testing.T) {
	c := mustDefault(t)
	long := strings.Repeat("a.", 999) + "apple.com"
	name253 := strings.Repeat("a.", 120) + "bbb.apple.com"
	if len(name253) != 253 {
		t.Fatal(len(name253))
	}
	tests := []struct {
		name string
		host string
		want []string // "section | pattern", in order
	}{
		{"exact", "albert.apple.com", []string{"Device setup | albert.apple.com"}},
		{"exact in two sections", "gs.apple.com", []string{"Device setup | gs.apple.com", "Software updates | gs.apple.com"}},
		{"exact in three sections", "humb.apple.com", []string{"Device setup | humb.apple.com", "Tap to Pay on iPhone | humb.apple.com", "ID Verifier on iPhone | humb.apple.com"}},
		{"wildcard one label", "1-courier.push.apple.com", []string{"Device management | *.push.apple.com"}},
		{"wildcard two labels", "a.b.push.apple.com", []string{"Device management | *.push.apple.com"}},
		{"wildcard not its own apex", "push.apple.com", []string{"Apple (catch-all) | *.apple.com"}},
		{"longest wildcard beats catch-all", "x.gc.apple.com", []string{"iCloud | *.gc.apple.com"}},
		{"wildcard in two sections", "amp-api.itunes.apple.com", []string{"Apple Business Manager and Apple School Manager | *.itunes.apple.com", "Apps and additional content | *.itunes.apple.com"}},
		{"exact beats wildcard", "mask.icloud.com", []string{"iCloud | mask.icloud.com"}},
		{"exact beats catch-all", "vpp.itunes.apple.com", []string{"Device management | vpp.itunes.apple.com"}},
		{"exact under cdn wildcard", "fcs-keys-pub-prod.cdn-apple.com", []string{"Software updates | fcs-keys-pub-prod.cdn-apple.com"}},
		{"wildcard cdn", "foo.cdn-apple.com", []string{"iCloud | *.cdn-apple.com"}},
		{"catch-all only", "unlisted.apple.com", []string{"Apple (catch-all) | *.apple.com"}},
		{"apex of catch-all", "apple.com", []string{"Apple (catch-all) | *.apple.com"}},
		{"apex of a wildcard, nothing else matching", "icloud.com", []string{"iCloud | *.icloud.com"}},
		{"upper case", "ALBERT.Apple.COM", []string{"Device setup | albert.apple.com"}},
		{"trailing dot", "albert.apple.com.", []string{"Device setup | albert.apple.com"}},
		{"upper case wildcard with dot", "COURIER.PUSH.APPLE.COM.", []string{"Device management | *.push.apple.com"}},
		{"new TLD", "app-site-association.networking.apple", []string{"Associated Domains | app-site-association.networking.apple"}},
		{"non-Apple", "example.com", nil},
		{"empty", "", nil},
		{"dot", ".", nil},
		{"two dots", "..", nil},
		{"leading dot", ".albert.apple.com", nil},
		{"empty label", "albert..apple.com", nil},
		{"space", "albert.apple.com ", nil},
		{"NUL", "albert.apple.com\x00", nil},
		{"wildcard query", "*.push.apple.com", nil},
		{"url", "https://albert.apple.com/", nil},
		{"UTF-8", "älbert.apple.com", nil},
		{"1000 labels", long, nil},
		{"label of 64", strings.Repeat("a", 64) + ".apple.com", nil},
		{"label of 63", strings.Repeat("a", 63) + ".apple.com", []string{"Apple (catch-all) | *.apple.com"}},
		{"253 bytes", name253, []string{"Apple (catch-all) | *.apple.com"}},
		{"253 bytes and dot", name253 + ".", []string{"Apple (catch-all) | *.apple.com"}},
		{"254 bytes", "b" + name253, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := hosts(c.MatchHost(tt.host))
			if !slices.Equal(got, tt.want) {
				t.Errorf("MatchHost(%q) = %q, want %q", tt.host, got, tt.want)
			}
			if got2 := hosts(c.Match(tt.host)); !slices.Equal(got2, got) {
				t.Errorf("Match(%q) = %q, MatchHost gave %q", tt.host, got2, got)
			}
		})
	}
}

func TestMatchAddr(t *testing.T) {
	c := mustDefault(t)
	const block = "Apple address block | 17.0.0.0/8"
	apns := func(p string) string { return "Device management | " + p }
	tests := []struct {
		addr string
		want []string
	}{
		{"17.249.1.2", []string{apns("17.249.0.0/16"), block}},
		{"17.57.147.255", []string{apns("17.57.144.0/22"), block}},
		{"17.57.148.0", []string{block}},
		{"17.188.21.9", []string{apns("17.188.20.0/23"), block}},
		{"17.248.130.1", []string{"App notarization | 17.248.128.0/18", block}},
		{"17.253.1.1", []string{block}},
		{"17.0.0.0", []string{block}},
		{"17.255.255.255", []string{block}},
		{"16.255.255.255", nil},
		{"18.0.0.0", nil},
		{"8.8.8.8", nil},
		{"::ffff:17.249.1.2", []string{apns("17.249.0.0/16"), block}},
		{"::ffff:8.8.8.8", nil},
		{"2620:149:a44::1", []string{apns("2620:149:a44::/48")}},
		{"2620:149:a44:ffff:ffff:ffff:ffff:ffff", []string{apns("2620:149:a44::/48")}},
		{"2620:149:a45::1", nil},
		{"2403:300:a42::5", []string{apns("2403:300:a42::/48")}},
		{"2403:300:a51::5", []string{apns("2403:300:a51::/48")}},
		{"2a01:b740:a42:1::1", []string{apns("2a01:b740:a42::/48")}},
		{"2620:149:a44::1%eth0", []string{apns("2620:149:a44::/48")}},
		{"::1", nil},
		{"::", nil},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			a := netip.MustParseAddr(tt.addr)
			got := hosts(c.MatchAddr(a))
			if !slices.Equal(got, tt.want) {
				t.Errorf("MatchAddr(%s) = %q, want %q", tt.addr, got, tt.want)
			}
			if got2 := hosts(c.Match(tt.addr)); !slices.Equal(got2, got) {
				t.Errorf("Match(%q) = %q, MatchAddr gave %q", tt.addr, got2, got)
			}
			if c.IsAppleAddr(a) != (len(tt.want) > 0) {
				t.Errorf("IsAppleAddr(%s) = %v", tt.addr, c.IsAppleAddr(a))
			}
		})
	}
	if c.MatchAddr(netip.Addr{}) != nil || c.IsAppleAddr(netip.Addr{}) {
		t.Error("zero Addr matched")
	}
	if got := hosts(c.Match("[2620:149:a44::1]")); len(got) != 1 {
		t.Errorf("bracketed IPv6: %q", got)
	}
	if got := c.Match("17.1.2"); got != nil {
		t.Errorf("partial IPv4 matched %q", hosts(got))
	}
}

func TestLookup(t *testing.T) {
	c := mustDefault(t)
	tests := []struct {
		pattern string
		n       int
	}{
		{"*.push.apple.com", 1},
		{"*.PUSH.apple.com.", 1},
		{"gs.apple.com", 2},
		{"17.0.0.0/8", 1},
		{"17.1.0.0/8", 1}, // unmasked bits ignored
		{"2620:149:A44::/48", 1},
		{"*.apple.com", 1},
		{"push.apple.com", 0},
		{"garbage/", 0},
		{"", 0},
	}
	for _, tt := range tests {
		if got := c.Lookup(tt.pattern); len(got) != tt.n {
			t.Errorf("Lookup(%q) = %q, want %d rows", tt.pattern, hosts(got), tt.n)
		}
	}
}

func TestEntryMethods(t *testing.T) {
	c := mustDefault(t)
	one := func(pattern, section string) *Entry {
		for _, e := range c.Lookup(pattern) {
			if e.Section == section {
				return e
			}
		}
		t.Fatalf("no row %q in %q", pattern, section)
		return nil
	}
	push := one("*.push.apple.com", "Device management")
	sftp := one("upload.appleschoolcontent.com", "Apple Business Manager and Apple School Manager")
	ntp := one("time.apple.com", "Device setup")
	relay := one("apple-relay.apple.com", "Apple Intelligence, Siri and Search")
	all := one("*.apple.com", "Apple (catch-all)")
	block := one("17.0.0.0/8", "Apple address block")
	tests := []struct {
		e     *Entry
		port  uint16
		proto string
		want  bool
	}{
		{push, 5223, "tcp", true},
		{push, 5223, "TCP", true},
		{push, 2197, "tcp", true},
		{push, 5223, "udp", false},
		{push, 8443, "tcp", false},
		{push, 443, "", true},
		{sftp, 22, "tcp", true},
		{sftp, 22, "udp", false},
		{sftp, 22, "ssh", true},
		{ntp, 123, "udp", true},
		{ntp, 123, "tcp", false},
		{relay, 443, "udp", true},
		{relay, 443, "tcp", true},
		{all, 9, "udp", true},
		{block, 65535, "tcp", true},
		{push, 443, "icmp", false},
	}
	for _, tt := range tests {
		if got := tt.e.AllowsPort(tt.port, tt.proto); got != tt.want {
			t.Errorf("%s.AllowsPort(%d, %q) = %v, want %v", tt.e.Host, tt.port, tt.proto, got, tt.want)
		}
	}
	if !all.IsCatchAll() || !block.IsCatchAll() || push.IsCatchAll() {
		t.Error("IsCatchAll wrong")
	}
	n := 0
	for _, e := range c.Entries() {
		if e.IsCatchAll() {
			n++
		}
	}
	if n != 2 {
		t.Errorf("%d catch-all rows, want 2", n)
	}
	kinds := map[string]Kind{"gs.apple.com": KindExact, "*.icloud.com": KindWildcard, "17.0.0.0/8": KindCIDR, "": KindInvalid}
	for h, k := range kinds {
		e := Entry{Host: h}
		if e.Kind() != k {
			t.Errorf("Kind(%q) = %v, want %v", h, e.Kind(), k)
		}
	}
	if KindExact.String() != "exact" || KindWildcard.String() != "wildcard" || KindCIDR.String() != "cidr" || KindInvalid.String() != "invalid" {
		t.Error("Kind.String wrong")
	}
}

func TestCatalogNotes(t *testing.T) {
	c := mustDefault(t)
	// The French edition's sylvan.apple.com port 433 is recorded as a typo.
	syl := c.Lookup("sylvan.apple.com")
	if len(syl) != 1 || !slices.Equal(syl[0].Ports, []uint16{80, 443}) || !strings.Contains(syl[0].Note, "433") {
		t.Errorf("sylvan.apple.com: %+v", syl)
	}
	www := c.Lookup("www.apple.com")
	if len(www) != 1 || !strings.Contains(www[0].Note, "www.apple.com/fr") {
		t.Errorf("www.apple.com: %+v", www)
	}
	for _, h := range []string{"mask.icloud.com", "mask-h2.icloud.com", "mask-api.icloud.com"} {
		if rows := c.MatchHost(h); len(rows) == 0 || rows[0].Section != "iCloud" {
			t.Errorf("Private Relay host %s: %q", h, hosts(rows))
		}
	}
	for _, h := range []string{"ocsp.verisign.net", "17.248.128.0/18"} {
		rows := c.Lookup(h)
		if len(rows) != 1 || !slices.Equal(rows[0].Editions, []string{"older"}) {
			t.Errorf("%s: %+v", h, rows)
		}
	}
}

func TestKeyOf(t *testing.T) {
	addrs := []netip.Addr{
		netip.MustParseAddr("17.249.255.255"),
		netip.MustParseAddr("255.255.255.255"),
		netip.MustParseAddr("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
		netip.MustParseAddr("2620:149:a44:1234:5678:9abc:def0:1234"),
	}
	for _, a := range addrs {
		for b := 0; b <= a.BitLen(); b++ {
			p, err := a.Prefix(b)
			if err != nil {
				t.Fatal(err)
			}
			m := p.Addr()
			want := prefixKey{bits: uint8(b), is4: a.Is4()}
			if a.Is4() {
				v := m.As4()
				want.lo = uint64(v[0])<<24 | uint64(v[1])<<16 | uint64(v[2])<<8 | uint64(v[3])
			} else {
				v := m.As16()
				for i := range 8 {
					want.hi = want.hi<<8 | uint64(v[i])
					want.lo = want.lo<<8 | uint64(v[8+i])
				}
			}
			if got := keyOf(a, b); got != want {
				t.Fatalf("keyOf(%s, %d) = %+v, want %+v", a, b, got, want)
			}
		}
	}
}

func TestEntriesIsACopy(t *testing.T) {
	c := mustDefault(t)
	rows := c.Entries()
	rows[0].Ports[0] = 1
	rows[0].Host = "changed.example"
	if got := c.Entries()[0]; got.Ports[0] == 1 || got.Host == "changed.example" {
		t.Error("Entries shares memory with the catalog")
	}
	in := []Entry{{Section: "S", Host: "a.example", Ports: []uint16{1}}}
	c2 := New(in)
	in[0].Ports[0] = 2
	if c2.MatchHost("a.example")[0].Ports[0] != 1 {
		t.Error("New shares memory with its input")
	}
}

func TestNewSkipsInvalidPatterns(t *testing.T) {
	c := New([]Entry{
		{Section: "S", Host: "bad host"},
		{Section: "S", Host: "17.0.0.0/33"},
		{Section: "S", Host: "*."},
		{Section: "S", Host: ""},
		{Section: "S", Host: "::ffff:10.0.0.0/104"},
		{Section: "S", Host: "good.example."},
	})
	if c.Len() != 6 {
		t.Fatalf("Len = %d", c.Len())
	}
	if c.MatchHost("good.example") == nil {
		t.Error("trailing-dot pattern not matched")
	}
	if c.MatchAddr(netip.MustParseAddr("10.1.2.3")) == nil {
		t.Error("IPv4-mapped prefix not unmapped")
	}
	if c.MatchHost("bad host") != nil {
		t.Error("invalid pattern matched")
	}
}

func TestWithExtra(t *testing.T) {
	base := mustDefault(t)
	extra, err := Parse(strings.NewReader(
		"section\thost\tports\tprotocols\tos\tdescription\tproxy\teditions\tnote\n"+
			"Device management\t*.PUSH.apple.com\t5223\tTCP\t\tPush via our relay\tno\tlocal\toverride\n"+
			"Internal\tmdm.example.org\t443\tTCP\tmacOS\tOur MDM\tyes\tlocal\n"+
			"Internal\t10.20.0.0/16\t\t\t\tOffice network\n"), "mdm.tsv")
	if err != nil {
		t.Fatal(err)
	}
	c := WithExtra(base, extra)
	if c.Len() != base.Len()+2 {
		t.Fatalf("Len = %d, base %d", c.Len(), base.Len())
	}
	push := c.MatchHost("1-courier.push.apple.com")
	if len(push) != 1 || push[0].Description != "Push via our relay" || push[0].Source != "mdm.tsv:2" || !slices.Equal(push[0].Ports, []uint16{5223}) {
		t.Errorf("override: %+v", push)
	}
	// The override keeps the base row's position.
	bi := slices.IndexFunc(base.Entries(), func(e Entry) bool { return e.Host == "*.push.apple.com" })
	if got := c.Entries()[bi]; got.Source != "mdm.tsv:2" {
		t.Errorf("row %d is %+v", bi, got)
	}
	if rows := c.MatchHost("mdm.example.org"); len(rows) != 1 || rows[0].Source != "mdm.tsv:3" {
		t.Errorf("added: %+v", rows)
	}
	if rows := c.MatchAddr(netip.MustParseAddr("10.20.3.4")); len(rows) != 1 || rows[0].Section != "Internal" {
		t.Errorf("added CIDR: %+v", rows)
	}
	if base.MatchHost("mdm.example.org") != nil || base.MatchHost("a.push.apple.com")[0].Source != BuiltinSource {
		t.Error("WithExtra modified its base")
	}
	if got := WithExtra(nil, extra); got.Len() != 3 {
		t.Errorf("WithExtra(nil) Len = %d", got.Len())
	}
}

func TestParse(t *testing.T) {
	const hdr = "section\thost\tports\tprotocols\tos\tdescription\tproxy\teditions\tnote\n"
	rows, err := Parse(strings.NewReader("\ufeff# comment\n\n"+hdr+
		"  # indented comment\n"+
		"S\ta.example\t 443 , 80 \ttcp, Udp\tmacOS\tDesc\tNot Stated\t2024-11, ,older\tNote\r\n"+
		"S\t*.b.example\n"+
		"S\t2001:db8::/32\t\tssh\t\t\tYES\n"), "x.tsv")
	if err != nil {
		t.Fatal(err)
	}
	want := []Entry{
		{Section: "S", Host: "a.example", Ports: []uint16{443, 80}, Protocols: []string{"TCP", "UDP"}, OS: "macOS", Description: "Desc", Editions: []string{"2024-11", "older"}, Note: "Note", Source: "x.tsv:5"},
		{Section: "S", Host: "*.b.example", Source: "x.tsv:6"},
		{Section: "S", Host: "2001:db8::/32", Protocols: []string{"SSH"}, Proxy: "yes", Source: "x.tsv:7"},
	}
	if len(rows) != len(want) {
		t.Fatalf("got %d rows", len(rows))
	}
	for i := range want {
		g, w := rows[i], want[i]
		if g.Section != w.Section || g.Host != w.Host || !slices.Equal(g.Ports, w.Ports) || !slices.Equal(g.Protocols, w.Protocols) ||
			g.OS != w.OS || g.Description != w.Description || g.Proxy != w.Proxy || !slices.Equal(g.Editions, w.Editions) ||
			g.Note != w.Note || g.Source != w.Source {
			t.Errorf("row %d = %+v\nwant %+v", i, g, w)
		}
	}
	// A shorter header is allowed.
	if rows, err := Parse(strings.NewReader("Section\tHost\nS\tx.example\n"), "short.tsv"); err != nil || len(rows) != 1 {
		t.Errorf("short header: %v %v", rows, err)
	}
}

func TestParseErrors(t *testing.T) {
	const hdr = "section\thost\tports\tprotocols\tos\tdescription\tproxy\teditions\tnote\n"
	row := func(cells ...string) string { return hdr + strings.Join(cells, "\t") + "\n" }
	tests := []struct {
		name, in, want string
	}{
		{"bad port", "# c\n" + row("S", "a.example", "443,44x"), `mdm.tsv:3: ports: bad number "44x"`},
		{"port zero", row("S", "a.example", "0"), `mdm.tsv:2: ports: bad number "0"`},
		{"port too big", row("S", "a.example", "65536"), `mdm.tsv:2: ports: bad number "65536"`},
		{"empty port item", row("S", "a.example", "443,"), `mdm.tsv:2: ports: bad number ""`},
		{"negative port", row("S", "a.example", "-1"), `mdm.tsv:2: ports: bad number "-1"`},
		{"too many ports", row("S", "a.example", strings.Repeat("1,", MaxPorts)+"1"), `mdm.tsv:2: ports: more than 1024 ports`},
		{"protocol", row("S", "a.example", "443", "ICMP"), `mdm.tsv:2: protocols: unknown protocol "ICMP" (want TCP, UDP or SSH)`},
		{"proxy", row("S", "a.example", "", "", "", "", "maybe"), `mdm.tsv:2: proxy: want yes, no or "not stated", got "maybe"`},
		{"empty section", row("", "a.example"), `mdm.tsv:2: section: empty`},
		{"empty host", row("S", ""), `mdm.tsv:2: host: empty`},
		{"path", row("S", "www.apple.com/fr"), `mdm.tsv:2: host: bad host "www.apple.com/fr": a path is not part of a host; put it in the note`},
		{"bad cidr", row("S", "17.0.0.0/33"), `mdm.tsv:2: host: bad CIDR "17.0.0.0/33"`},
		{"unmasked cidr", row("S", "17.1.0.0/8"), `mdm.tsv:2: host: CIDR "17.1.0.0/8" has bits set beyond /8 (want 17.0.0.0/8)`},
		{"bare address", row("S", "17.1.2.3"), `mdm.tsv:2: host: bad host "17.1.2.3": write a single address as a CIDR (/32 or /128)`},
		{"bad name", row("S", "a b.example"), `mdm.tsv:2: host: bad host "a b.example": want a name, *.name or a CIDR`},
		{"inner star", row("S", "a.*.example"), `mdm.tsv:2: host: bad host "a.*.example": want a name, *.name or a CIDR`},
		{"lone star", row("S", "*"), `mdm.tsv:2: host: bad host "*": want a name, *.name or a CIDR`},
		{"too many columns", row("S", "a.example", "", "", "", "", "", "", "", "extra"), `mdm.tsv:2: 10 columns, the header has 9`},
		{"duplicate", hdr + "S\ta.example\nS\tA.example.\n", `mdm.tsv:3: host: duplicate row for section "S" and host "A.example." (first on line 2)`},
		{"no header", "# only comments\n", `mdm.tsv:1: no header line`},
		{"empty file", "", `mdm.tsv:0: no header line`},
		{"wrong header", "host\tsection\n", `mdm.tsv:1: header: column 1 is "host", want "section"`},
		{"one-column header", "section\n", `mdm.tsv:1: header: want the tab-separated columns section, host, ports, protocols, os, description, proxy, editions, note`},
		{"long line", hdr + "S\t" + strings.Repeat("a", MaxLineBytes) + "\n", `mdm.tsv:2: line longer than 65536 bytes`},
		{"too many editions", row("S", "a.example", "", "", "", "", "", strings.Repeat("e,", MaxEditions)+"e"), `mdm.tsv:2: editions: more than 32 items`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(strings.NewReader(tt.in), "mdm.tsv")
			if err == nil || err.Error() != tt.want {
				t.Fatalf("error %v\nwant  %s", err, tt.want)
			}
			var pe *ParseError
			if !errors.As(err, &pe) || !errors.Is(err, ErrSyntax) {
				t.Errorf("error %T is not a *ParseError wrapping ErrSyntax", err)
			}
		})
	}
}

type failReader struct{}

func (failReader) Read([]byte) (int, error) { return 0, errors.New("disk on fire") }

func TestParseReadError(t *testing.T) {
	_, err := Parse(failReader{}, "x.tsv")
	if err == nil || !strings.Contains(err.Error(), "x.tsv:1: read: disk on fire") || errors.Is(err, ErrSyntax) {
		t.Errorf("got %v", err)
	}
}

func TestConcurrentReaders(t *testing.T) {
	c := mustDefault(t)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 200 {
				if len(c.MatchHost("gs.apple.com")) != 2 || !c.IsAppleAddr(netip.MustParseAddr("17.1.1.1")) || len(c.Entries()) == 0 {
					t.Error("bad concurrent result")
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestLookupsDoNotAllocate(t *testing.T) {
	c := mustDefault(t)
	a := netip.MustParseAddr("17.249.1.2")
	for _, tc := range []struct {
		name string
		f    func()
	}{
		{"exact", func() { c.MatchHost("albert.apple.com") }},
		{"wildcard", func() { c.MatchHost("12-courier.push.apple.com") }},
		{"upper case and dot", func() { c.MatchHost("12-COURIER.push.apple.com.") }},
		{"miss", func() { c.MatchHost("www.example.com") }},
		{"addr", func() { c.MatchAddr(a) }},
		{"match host", func() { c.Match("gs.apple.com") }},
		{"match ip", func() { c.Match("17.249.1.2") }},
	} {
		if n := testing.AllocsPerRun(100, tc.f); n != 0 {
			t.Errorf("%s: %v allocs per lookup", tc.name, n)
		}
	}
}

var benchHosts = []string{
	"albert.apple.com",
	"12-courier.push.apple.com",
	"gateway.fe.apple-dns.net",
	"p42-caldav.icloud.com",
	"updates.cdn-apple.com",
	"unlisted.apple.com",
	"www.example.com",
	"a.b.c.d.e.f.smoot.apple.com",
}

func BenchmarkMatchHost(b *testing.B) {
	c := mustDefault(b)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		c.MatchHost(benchHosts[i%len(benchHosts)])
		i++
	}
}

func BenchmarkMatchHostUpper(b *testing.B) {
	c := mustDefault(b)
	b.ReportAllocs()
	for b.Loop() {
		c.MatchHost("12-COURIER.Push.Apple.com.")
	}
}

func BenchmarkMatchAddr(b *testing.B) {
	c := mustDefault(b)
	addrs := []netip.Addr{
		netip.MustParseAddr("17.249.1.2"),
		netip.MustParseAddr("17.253.1.1"),
		netip.MustParseAddr("8.8.8.8"),
		netip.MustParseAddr("2620:149:a44::1"),
		netip.MustParseAddr("::ffff:17.57.144.9"),
		netip.MustParseAddr("2001:db8::1"),
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		c.MatchAddr(addrs[i%len(addrs)])
		i++
	}
}

func BenchmarkDefault(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Default(); err != nil {
			b.Fatal(err)
		}
	}
}
