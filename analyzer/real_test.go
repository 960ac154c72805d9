package analyzer_test

import (
	"path/filepath"
	"strings"
	"testing"

	"orchard/analyzer"
	"orchard/internal/sharedtest"
)

// eventSink keeps flow events and findings.
type eventSink struct {
	flows    []analyzer.FlowEvent
	findings []analyzer.Finding
}

func (s *eventSink) Flow(e *analyzer.FlowEvent)  { s.flows = append(s.flows, *e) }
func (s *eventSink) DNS(*analyzer.DNSEvent)      {}
func (s *eventSink) Finding(f *analyzer.Finding) { s.findings = append(s.findings, *f) }

// appleDomains are the registrable domains Apple serves its services from.
var appleDomains = []string{"apple.com", "icloud.com", "mzstatic.com", "apple-cloudkit.com", "cdn-apple.com", "itunes.com", "apple.news", "aaplimg.com", "apple-dns.net"}

func isAppleName(h string) bool {
	for _, d := range appleDomains {
		if h == d || strings.HasSuffix(h, "."+d) {
			return true
		}
	}
	return false
}

// TestRealCaptures runs every shared capture through the whole pipeline:
// nothing crashes, every Apple host is attributed to a catalog section, and
// the only interception found is the one capture whose chain is forged.
func TestRealCaptures(t *testing.T) {
	forged := map[string]string{
		// INetSim answers www.apple.com with its own self-signed certificate.
		"sv-tls_random_6989-apple_sni_inetsim_cert.pcap": "www.apple.com",
	}
	appleFlows, appleChains := 0, 0
	for _, file := range sharedtest.Pcaps(t) {
		base := filepath.Base(file)
		t.Run(base, func(t *testing.T) {
			sink := &eventSink{}
			r := analyse(t, analyzer.Config{Sink: sink}, file)
			for _, f := range sink.flows {
				if f.Host != "" && f.NameSource != analyzer.SourceIP && isAppleName(f.Host) {
					appleFlows++
					if f.Section == "" || !f.Apple {
						t.Errorf("Apple host %s (%s) not attributed to a catalog section", f.Host, f.NameSource)
					}
				}
			}
			for _, f := range sink.flows {
				if strings.Contains(f.CertIssuer, "Apple") && f.Apple {
					appleChains++
				}
			}
			for _, fd := range r.Findings {
				if fd.Finding == analyzer.FindIntercepted && forged[base] != fd.Host {
					t.Errorf("interception reported for %s: %s", fd.Host, fd.Evidence)
				}
			}
			if h, ok := forged[base]; ok {
				found := false
				for _, fd := range r.Findings {
					found = found || fd.Finding == analyzer.FindIntercepted && fd.Host == h
				}
				if !found {
					t.Errorf("forged chain for %s not reported as intercepted", h)
				}
			}
		})
	}
	t.Logf("%d flows to named Apple hosts attributed; %d genuine Apple chains verified", appleFlows, appleChains)
	if appleChains < 5 {
		t.Errorf("only %d Apple-issued chains seen in the shared captures: the no-interception check proves little", appleChains)
	}
}
