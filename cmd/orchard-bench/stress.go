package main

import (
	"fmt"
	"os"
	"path/filepath"

	"orchard/internal/stress"
)

// Sizes of the stress rows' captures.
const (
	benchDNSResponses = 250_000   // query/response pairs, 20 answers each
	benchSYNs         = 2_000_000 // unique SYNs
)

// Targets of the stress rows (issue 18), in units a second on one worker.
const (
	targetDNSResponses = 1_000_000
	targetSYNs         = 2_000_000
)

// stressTools writes the DNS-heavy and SYN-flood captures (internal/stress)
// into dir and returns their rows: tcpdump -r on each as its read floor,
// then orchard on one worker on it, whose ratio is to that floor and whose
// rate is also given against its target.
func stressTools(dir, bin string) ([]*tool, error) {
	var out []*tool
	for _, c := range []struct {
		kind, label string
		n, packets  int
		unit        string
		per         int // packets per unit
		target      float64
	}{
		{"dns", "DNS-heavy", benchDNSResponses, 2 * benchDNSResponses, "responses", 2, targetDNSResponses},
		{"syn", "SYN flood", benchSYNs, benchSYNs, "SYNs", 1, targetSYNs},
	} {
		path := filepath.Join(dir, c.kind+".pcap")
		f, err := os.Create(path)
		if err != nil {
			return nil, err
		}
		err = stress.Write(f, c.kind, stress.Spec{N: c.n})
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		floor := &tool{name: "tcpdump -r, " + c.label + " (read floor)", argv: []string{"tcpdump", "-r", path, "-w", "/dev/null"}, packets: c.packets}
		out = append(out, floor,
			&tool{name: fmt.Sprintf("orchard, 1 worker, %s (%s %s)", c.label, humanRate(float64(c.n)), c.unit),
				argv: []string{bin, "--workers", "1", "--format", "json", "-q", path}, packets: c.packets, vs: floor, unit: c.unit, per: c.per, target: c.target})
	}
	return out, nil
}

// unitRate gives a rate in its unit and, with a target, how far it is
// from it: "310 k responses/s, 0.31× the 1.00 M target".
func unitRate(rate float64, unit string, target float64) string {
	s := fmt.Sprintf("%s %s/s", humanRate(rate), unit)
	switch {
	case target <= 0:
	case rate >= target:
		s += fmt.Sprintf(", meets the %s target", humanRate(target))
	default:
		s += fmt.Sprintf(", %.2f× the %s target", rate/target, humanRate(target))
	}
	return s
}
