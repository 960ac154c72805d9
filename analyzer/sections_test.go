package analyzer

import (
	"net/netip"
	"strings"
	"testing"

	"orchard/decode"
	"orchard/dissect"
	"orchard/flow"
)

// TestSections: which catalog row names a flow, on literal flows.
func TestSections(t *testing.T) {
	e, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, host, server string
		port               uint16
		section, service   string // service: a part of it
	}{
		{"www.apple.com is Apple's website", "www.apple.com", "17.253.144.10", 443, "Apple (catch-all)", ""},
		{"icloud.com is iCloud", "icloud.com", "17.253.144.10", 443, "iCloud", ""},
		{"the most specific row", "1-courier.push.apple.com", "17.57.144.20", 5223, "Device management", "Push"},
		{"an address only the older edition lists", "", "17.248.130.9", 443, "Apple address block", "older edition"},
		{"a push address", "", "17.57.144.20", 5223, "Device management", ""},
		{"an address in 17/8", "", "17.1.2.3", 443, "Apple address block", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := &flow.Flow{Proto: decode.ProtoTCP, Client: netip.MustParseAddr("192.168.1.20"), Server: netip.MustParseAddr(c.server), CPort: 50000, SPort: c.port, App: &flow.Facts{}}
			if c.host != "" {
				f.App.Request = &dissect.HTTPRequest{Method: "GET", Target: "/", Host: c.host}
			}
			at := e.judge.env.attribute(f)
			if at.section() != c.section || !strings.Contains(strings.ToLower(at.service()), strings.ToLower(c.service)) {
				t.Errorf("%s: section %q service %q, want %q with %q", c.host, at.section(), at.service(), c.section, c.service)
			}
		})
	}
}

// TestEveryFindingCounts: a section whose only evidence is a failed DNS
// answer is failed, never UNSEEN.
func TestEveryFindingCounts(t *testing.T) {
	e, _ := newTestEngine(t, Config{})
	addr := netip.MustParseAddr("17.253.4.125")
	servfail := dnsWire(7, "mesu.apple.com", true, addr)[:32] // the question only
	servfail[3], servfail[7] = 0x82, 0                        // SERVFAIL, no answer
	feedUDP(e, []udpPkt{{0, "192.168.1.20", "192.168.1.1", 5000, 53, dnsWire(7, "mesu.apple.com", false, addr)}, {0.01, "192.168.1.1", "192.168.1.20", 53, 5000, servfail}})
	r := e.Finish()
	for _, s := range r.Services {
		if s.Section == "Software updates" && (s.Verdict != "BLOCKED" || s.Failed != 1) {
			t.Errorf("Software updates: %+v", s)
		}
	}
}
