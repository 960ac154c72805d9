package analyzer_test

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"orchard/analyzer"
	"orchard/internal/sharedtest"
)

// allSink keeps every event of a run, DNS included.
type allSink struct {
	flows    []analyzer.FlowEvent
	dns      []analyzer.DNSEvent
	findings []analyzer.Finding
}

func (s *allSink) Flow(e *analyzer.FlowEvent) { s.flows = append(s.flows, *e) }
func (s *allSink) DNS(e *analyzer.DNSEvent)   { s.dns = append(s.dns, e.Clone()) }
func (s *allSink) Finding(f *analyzer.Finding) {
	s.findings = append(s.findings, *f)
}

// TestCommunityIDMatchesTshark checks the community_id of every flow, DNS
// and finding event against the IDs tshark's communityid dissector gives
// the same capture's packets, with one worker and two.
func TestCommunityIDMatchesTshark(t *testing.T) {
	if _, err := exec.LookPath("tshark"); err != nil {
		t.Skip("tshark not installed")
	}
	files := []string{filepath.Join("..", "testdata", "demo-ipad.pcap")}
	for _, name := range []string{"ndpi-iphone.pcap", "zeek-ntp-apple_servers.pcap", "ndpi-dns_fragmented-ipv6.pcap"} {
		files = append(files, sharedtest.Path(t, filepath.Join("pcaps", name)))
	}
	for _, file := range files {
		out, err := exec.Command("tshark", "-n", "-r", file, "--enable-protocol", "communityid", "-T", "fields", "-e", "communityid").Output()
		if err != nil {
			t.Skipf("tshark --enable-protocol communityid: %v", err)
		}
		known := map[string]bool{}
		for _, id := range strings.Fields(string(out)) {
			known[id] = true
		}
		for _, workers := range []int{1, 2} {
			sink := &allSink{}
			analyse(t, analyzer.Config{Sink: sink, Workers: workers, AllHosts: true}, file)
			check := func(kind, what, id string) {
				if id == "" || !known[id] {
					t.Errorf("%s workers=%d: %s %s: community_id %q is not one tshark gives", filepath.Base(file), workers, kind, what, id)
				}
			}
			for _, f := range sink.flows {
				check("flow", f.Client+" → "+f.Server, f.CommunityID)
			}
			for _, d := range sink.dns {
				check("dns", d.Query, d.CommunityID)
			}
			for _, f := range sink.findings {
				check("finding", f.Finding+" "+f.Host, f.CommunityID)
			}
			if len(sink.flows) == 0 {
				t.Errorf("%s: no flows", file)
			}
			if workers == 1 {
				t.Logf("%s: %d flows, %d dns, %d findings checked", filepath.Base(file), len(sink.flows), len(sink.dns), len(sink.findings))
			}
		}
	}
}
