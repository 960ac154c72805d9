package analyzer_test

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"orchard/analyzer"
	"orchard/internal/sharedtest"
)

// factSink keeps the SNIs of flows and the (query, address) pairs of DNS answers.
type factSink struct {
	snis  []string
	pairs []string
}

func (s *factSink) Flow(e *analyzer.FlowEvent) {
	if e.SNI != "" {
		s.snis = append(s.snis, e.SNI)
	}
}

func (s *factSink) DNS(e *analyzer.DNSEvent) {
	if e.Port != 53 {
		return // mDNS and LLMNR are not compared
	}
	for _, an := range e.Answers {
		if an.Type == "A" || an.Type == "AAAA" {
			s.pairs = append(s.pairs, strings.ToLower(e.Query)+" "+an.Data)
		}
	}
}

func (s *factSink) Finding(*analyzer.Finding) {}

// tsharkFacts returns the SNIs of every TLS and QUIC ClientHello and the
// (query, address) pairs of every unicast DNS answer section.
func tsharkFacts(t *testing.T, file string) (snis, pairs []string) {
	t.Helper()
	out, err := exec.Command("tshark", "-r", file, "-Y", "tls.handshake.type == 1", "-T", "fields", "-e", "tls.handshake.extensions_server_name").Output()
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	for _, l := range strings.Split(string(out), "\n") {
		for _, s := range strings.Split(l, ",") {
			if s = strings.TrimSpace(s); s != "" {
				snis = append(snis, strings.ToLower(s))
			}
		}
	}
	out, err = exec.Command("tshark", "-r", file, "-Y", "dns.flags.response == 1 && (udp.port == 53 || tcp.port == 53)", "-T", "json").Output()
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	var pkts []struct {
		Source struct {
			Layers map[string]json.RawMessage `json:"layers"`
		} `json:"_source"`
	}
	if err := json.Unmarshal(out, &pkts); err != nil {
		t.Fatalf("tshark json: %v", err)
	}
	for _, p := range pkts {
		raw, ok := p.Source.Layers["dns"]
		if !ok {
			continue
		}
		// Several DNS messages in one frame (TCP) come as an array.
		var msgs []map[string]json.RawMessage
		if err := json.Unmarshal(raw, &msgs); err != nil {
			var one map[string]json.RawMessage
			if json.Unmarshal(raw, &one) != nil {
				continue
			}
			msgs = append(msgs, one)
		}
		for _, m := range msgs {
			var qs, ans map[string]map[string]any
			json.Unmarshal(m["Queries"], &qs)
			json.Unmarshal(m["Answers"], &ans)
			q := ""
			for _, v := range qs {
				q, _ = v["dns.qry.name"].(string)
			}
			for _, v := range ans {
				for _, k := range []string{"dns.a", "dns.aaaa"} {
					if a, ok := v[k].(string); ok {
						pairs = append(pairs, strings.ToLower(q)+" "+a)
					}
				}
			}
		}
	}
	return snis, pairs
}

// TestFactsMatchTshark runs every shared capture through the whole pipeline
// (decode, flows, reassembly, dissectors) and compares the SNIs and DNS
// answers orchard reports with tshark's.
func TestFactsMatchTshark(t *testing.T) {
	if _, err := exec.LookPath("tshark"); err != nil {
		t.Skip("tshark not installed")
	}
	for _, file := range sharedtest.Pcaps(t) {
		t.Run(filepath.Base(file), func(t *testing.T) {
			t.Parallel()
			sink := &factSink{}
			analyse(t, analyzer.Config{Sink: sink}, file)
			snis, pairs := tsharkFacts(t, file)
			if d := setDiff(sink.snis, snis); d != "" {
				t.Errorf("SNIs differ from tshark:\n%s", d)
			}
			if d := setDiff(sink.pairs, pairs); d != "" {
				t.Errorf("DNS answers differ from tshark:\n%s", d)
			}
		})
	}
}
