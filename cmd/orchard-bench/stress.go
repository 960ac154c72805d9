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

// stressTools writes the DNS-heavy and SYN-flood captures (internal/stress)
// into dir and returns their rows: tcpdump -r on each as its read floor,
// then orchard on it, whose ratio is to that floor.
func stressTools(dir, bin string) ([]*tool, error) {
	var out []*tool
	for _, c := range []struct {
		kind, label string
		n, packets  int
		unit        string
		per         int // packets per unit
	}{
		{"dns", "DNS-heavy", benchDNSResponses, 2 * benchDNSResponses, "responses", 2},
		{"syn", "SYN flood", benchSYNs, benchSYNs, "SYNs", 1},
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
			&tool{name: fmt.Sprintf("orchard, %s (%s %s)", c.label, humanRate(float64(c.n)), c.unit),
				argv: []string{bin, "--format", "json", "-q", path}, packets: c.packets, vs: floor, unit: c.unit, per: c.per})
	}
	return out, nil
}
