package catalog

import (
	"bytes"
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"
)

func FuzzParse(f *testing.F) {
	// The start of the real catalog (the whole file makes each run slow).
	head := appleTSV
	for i, n := 0, 0; i < len(head); i++ {
		if head[i] == '\n' {
			if n++; n == 40 {
				head = head[:i+1]
				break
			}
		}
	}
	f.Add(head)
	const hdr = "section\thost\tports\tprotocols\tos\tdescription\tproxy\teditions\tnote\n"
	for _, row := range []string{
		"Device management\t*.push.apple.com\t443,80,5223,2197\tTCP\tiOS, iPadOS, tvOS, macOS\tPush\tnot stated\t2023-07,2024-11,older\t",
		"Apps and additional content\tsylvan.apple.com\t80,433\tTCP\ttvOS\tScreen savers\t\t2024-11\ttypo",
		"Apple Business Manager and Apple School Manager\twww.apple.com/fr\t443\tTCP\t-\tFonts\t—\t2024-11",
		"App notarization\t17.248.128.0/18\t443\tTCP\tmacOS\tTickets\tno\tolder",
		"Device management\t2620:149:a44::/48\t443,5223\tTCP",
		"S\t::ffff:17.0.0.0/104\t\tSSH,udp\t\t\tYES",
		"S\ta.example\t44x",
		"S\t\t",
	} {
		f.Add([]byte(hdr + row + "\n"))
	}
	f.Add([]byte("section\thost\n\ufeff#x\r\nS\tA.Example.\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rows, err := Parse(bytes.NewReader(data), "fuzz.tsv")
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || pe.File != "fuzz.tsv" || pe.Line < 0 || !strings.HasPrefix(err.Error(), "fuzz.tsv:") {
				t.Fatalf("bad error %T %v", err, err)
			}
			return
		}
		c := New(rows)
		if c.Len() != len(rows) {
			t.Fatalf("Len %d, %d rows", c.Len(), len(rows))
		}
		for i := range rows {
			e := &rows[i]
			if e.Section == "" || e.Kind() == KindInvalid || !strings.HasPrefix(e.Source, "fuzz.tsv:") {
				t.Fatalf("bad row %+v", e)
			}
			if len(c.Lookup(e.Host)) == 0 {
				t.Fatalf("row %q not indexed", e.Host)
			}
			switch e.Proxy {
			case "", "yes", "no":
			default:
				t.Fatalf("proxy %q", e.Proxy)
			}
			for _, p := range e.Protocols {
				if p != "TCP" && p != "UDP" && p != "SSH" {
					t.Fatalf("protocol %q", p)
				}
			}
			if slices.Contains(e.Ports, 0) {
				t.Fatal("port 0")
			}
			// Each row can be reached through the matcher.
			switch e.Kind() {
			case KindExact:
				if !slices.Contains(c.MatchHost(e.Host), &c.entries[i]) {
					t.Fatalf("exact row %q not matched", e.Host)
				}
			case KindCIDR:
				p := netip.MustParsePrefix(e.Host)
				if !slices.Contains(c.MatchAddr(p.Addr()), &c.entries[i]) {
					t.Fatalf("CIDR row %q not matched", e.Host)
				}
			}
		}
	})
}

// matchReference is a slow, obviously correct MatchHost: a linear scan.
func matchReference(c *Catalog, host string) []*Entry {
	h := strings.TrimSuffix(host, ".")
	if !validName(h) {
		return nil
	}
	h = strings.ToLower(h)
	var exact []*Entry
	var best []*Entry
	bestLen := -1
	for i := range c.entries {
		e := &c.entries[i]
		kind, key, _, ok := normPattern(e.Host)
		if !ok {
			continue
		}
		switch kind {
		case KindExact:
			if key == h {
				exact = append(exact, e)
			}
		case KindWildcard:
			suffix := key[1:] // ".suffix"
			if strings.HasSuffix(h, suffix) && len(h) > len(suffix) {
				switch {
				case len(suffix) > bestLen:
					best, bestLen = []*Entry{e}, len(suffix)
				case len(suffix) == bestLen:
					best = append(best, e)
				}
			}
		}
	}
	if exact != nil {
		return exact
	}
	if best == nil {
		// The domain a wildcard covers the names below.
		for i := range c.entries {
			e := &c.entries[i]
			if kind, key, _, ok := normPattern(e.Host); ok && kind == KindWildcard && key[2:] == h {
				best = append(best, e)
			}
		}
	}
	return best
}

// addrReference is a slow MatchAddr: every CIDR row containing a, longest
// prefix first, file order within a prefix.
func addrReference(c *Catalog, a netip.Addr) []*Entry {
	a = a.Unmap().WithZone("")
	var out []*Entry
	for i := range c.entries {
		e := &c.entries[i]
		kind, _, p, ok := normPattern(e.Host)
		if ok && kind == KindCIDR && p.Contains(a) {
			out = append(out, e)
		}
	}
	slices.SortStableFunc(out, func(x, y *Entry) int {
		_, _, px, _ := normPattern(x.Host)
		_, _, py, _ := normPattern(y.Host)
		return py.Bits() - px.Bits()
	})
	return out
}

func FuzzMatch(f *testing.F) {
	// Names and addresses seen in real captures of Apple devices, and edge cases.
	for _, s := range []string{
		"1-courier.push.apple.com", "1-courier.sandbox.push.apple.com", "41-courier.push.apple.com",
		"1.courier-push-apple.com.akadns.net", "eu-north-courier-4.push-apple.com.akadns.net",
		"captive.apple.com", "captive.g.aaplimg.com", "time-macos.apple.com", "time-osx.g.aaplimg.com",
		"gsa.apple.com", "mesu.apple.com", "gateway.icloud.com", "p26-keyvalueservice.icloud.com",
		"bag.itunes.apple.com", "query.ess.apple.com", "guzzoni.apple.com", "www.apple.com.",
		"GS.APPLE.COM", "app-site-association.networking.apple", "apple.com", "", ".", "a..b", "*.icloud.com",
		"17.253.54.251", "17.248.131.171", "104.73.61.30", "2620:149:a44::1", "::ffff:17.249.0.1",
		"[2403:300:a42::5]", "fe80::1%en0", "17.1.2", "1:2",
		strings.Repeat("a.", 130) + "apple.com",
	} {
		f.Add(s)
	}
	c := mustDefault(f)
	f.Fuzz(func(t *testing.T, s string) {
		got := c.Match(s)
		if a, ok := parseAddr(s); ok {
			if want := addrReference(c, a); !slices.Equal(got, want) {
				t.Fatalf("Match(%q) = %q, reference %q", s, hosts(got), hosts(want))
			}
			if c.IsAppleAddr(a) != (len(got) > 0) {
				t.Fatal("IsAppleAddr disagrees with MatchAddr")
			}
			return
		}
		want := matchReference(c, s)
		if !slices.Equal(got, want) {
			t.Fatalf("Match(%q) = %q, reference %q", s, hosts(got), hosts(want))
		}
	})
}
