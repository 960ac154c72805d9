package catalog

import (
	"net/netip"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"orchard/internal/sharedtest"
)

// captureNames returns the DNS names, TLS server names and DNS answer
// addresses that tshark finds in the given shared captures.
func captureNames(t *testing.T, files ...string) (names map[string]bool, addrs []netip.Addr) {
	t.Helper()
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		t.Skip("tshark not installed")
	}
	names = map[string]bool{}
	seen := map[netip.Addr]bool{}
	for _, f := range files {
		path := sharedtest.Path(t, "pcaps/"+f)
		out, err := exec.Command(tshark, "-r", path, "-T", "fields", "-E", "separator=\t", "-E", "aggregator=,",
			"-Y", "dns || tls.handshake.type == 1",
			"-e", "dns.qry.name", "-e", "dns.resp.name", "-e", "dns.cname",
			"-e", "tls.handshake.extensions_server_name", "-e", "dns.a", "-e", "dns.aaaa").Output()
		if err != nil {
			t.Fatalf("tshark %s: %v", f, err)
		}
		for line := range strings.SplitSeq(string(out), "\n") {
			for v := range strings.FieldsFuncSeq(line, func(r rune) bool { return r == '\t' || r == ',' }) {
				if a, err := netip.ParseAddr(v); err == nil {
					if !seen[a] {
						seen[a] = true
						addrs = append(addrs, a)
					}
					continue
				}
				names[v] = true
			}
		}
	}
	return names, addrs
}

// TestRealCaptureNames matches names and addresses seen in real captures of
// Apple devices.
func TestRealCaptureNames(t *testing.T) {
	names, addrs := captureNames(t,
		"ndpi-iphone.pcap",
		"ndpi-anyconnect_vpn-apple_push_dns.pcap",
		"ndpi-dns_ambiguous_names-push_courier.pcap",
		"ndpi-whatsapp_login_call-apple_ess.pcap",
		"ndpi-tls_certificate_too_long-ntp_time_macos.pcap",
		"ndpi-android-captive_apple.pcap",
		"sv-bug_5881-itunes_musicstatus.pcap",
	)
	c := mustDefault(t)
	const catchAll = "Apple (catch-all) | *.apple.com"
	tests := []struct {
		name string
		want []string
	}{
		{"1-courier.push.apple.com", []string{"Device management | *.push.apple.com"}},
		{"1-courier.sandbox.push.apple.com", []string{"Device management | *.push.apple.com"}},
		{"41-courier.push.apple.com", []string{"Device management | *.push.apple.com"}},
		{"captive.apple.com", []string{"Device setup | captive.apple.com"}},
		{"time-macos.apple.com", []string{"Device setup | time-macos.apple.com"}},
		{"gsa.apple.com", []string{"Apple Account | gsa.apple.com"}},
		{"mesu.apple.com", []string{"Software updates | mesu.apple.com"}},
		{"gateway.icloud.com", []string{"Apps and additional content | gateway.icloud.com"}},
		{"guzzoni.apple.com", []string{"Apple Intelligence, Siri and Search | guzzoni.apple.com"}},
		{"play.itunes.apple.com", []string{"Classroom and Schoolwork | play.itunes.apple.com"}},
		{"www.apple.com", []string{"Apple Business Manager and Apple School Manager | www.apple.com"}},
		{"p26-keyvalueservice.icloud.com", []string{"iCloud | *.icloud.com"}},
		{"www.icloud.com", []string{"iCloud | *.icloud.com"}},
		{"bag.itunes.apple.com", []string{"Apple Business Manager and Apple School Manager | *.itunes.apple.com", "Apps and additional content | *.itunes.apple.com"}},
		{"musicstatus.itunes.apple.com", []string{"Apple Business Manager and Apple School Manager | *.itunes.apple.com", "Apps and additional content | *.itunes.apple.com"}},
		{"query.ess.apple.com", []string{catchAll}},
		{"gsp85-ssl.ls.apple.com", []string{catchAll}},
		{"apple.com", []string{catchAll}},
		{"captive.g.aaplimg.com", nil},
		{"1.courier-push-apple.com.akadns.net", nil},
	}
	for _, tt := range tests {
		if !names[tt.name] {
			t.Errorf("%s: not seen in the captures", tt.name)
			continue
		}
		if got := hosts(c.Match(tt.name)); !slices.Equal(got, tt.want) {
			t.Errorf("Match(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
	apple := 0
	for n := range names {
		if strings.HasSuffix(strings.ToLower(n), ".apple.com") {
			apple++
			if c.MatchHost(n) == nil {
				t.Errorf("Apple name %q matches nothing", n)
			}
		}
	}
	in17 := netip.MustParsePrefix("17.0.0.0/8")
	apple17 := 0
	for _, a := range addrs {
		want := in17.Contains(a.Unmap())
		if want {
			apple17++
		}
		if a.Unmap().Is4() && c.IsAppleAddr(a) != want {
			t.Errorf("IsAppleAddr(%s) = %v", a, !want)
		}
	}
	if apple < 20 || apple17 < 20 {
		t.Errorf("only %d Apple names and %d 17/8 addresses in the captures", apple, apple17)
	}
	t.Logf("%d names (%d under apple.com), %d addresses (%d in 17/8)", len(names), apple, len(addrs), apple17)
}
