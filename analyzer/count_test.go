package analyzer

import (
	"strings"
	"testing"
)

// TestEvidenceBesideCount: a finding counting several connections says so
// in its evidence, not one connection's story beside the count.
func TestEvidenceBesideCount(t *testing.T) {
	e, _ := newTestEngine(t, Config{})
	for i := 0; i < 4; i++ {
		feedTCP(e, 50000+uint16(i), 5223, []pkt{{float64(i), false, fS, 100, 0, "", 0}})
	}
	// An answered exchange, and time going on: nothing is cut off.
	feedTCP(e, 40000, 443, []pkt{{5, false, fS, 1, 0, "", 0}, {5.1, true, fS | fA, 9, 2, "", 0}, {5.1, false, fA, 2, 10, "", 0}})
	feedUDP(e, []udpPkt{{60, "192.168.1.30", "192.168.1.1", 40000, 9999, []byte("x")}})
	r := e.Finish()
	if len(r.Findings) != 1 || r.Findings[0].Count != 4 || !strings.HasPrefix(r.Findings[0].Evidence, "4 connections, each: 1 SYN, no reply") {
		for _, f := range r.Findings {
			t.Errorf("%s %d: %s", f.Finding, f.Count, f.Evidence)
		}
	}
}
