package main

import (
	"strings"
	"testing"

	"orchard/analyzer"
)

// The live health warns on the SPAN loss estimate as on dropped packets.
func TestLossWarning(t *testing.T) {
	span := func(acked, missed uint64) *analyzer.Visibility {
		return &analyzer.Visibility{AckedBytes: acked, MissedBytes: missed}
	}
	for _, tc := range []struct {
		name string
		live *analyzer.LiveStats
		vis  *analyzer.Visibility
		high bool
		want []string // substrings; nil means no warning
	}{
		{"file", nil, span(1<<20, 1<<19), false, nil},
		{"clean", &analyzer.LiveStats{Received: 1000}, span(1<<20, 0), false, nil},
		{"span at the limit", &analyzer.LiveStats{Received: 1000}, span(1000000, 1000), false, nil},
		{"span above", &analyzer.LiveStats{Received: 1000}, span(1000000, 1001), true,
			[]string{"the capture missed 1001 of the 1000000 bytes the endpoints acknowledged (0.10%)", "SPAN port"}},
		{"span unmeasured", &analyzer.LiveStats{Received: 1000}, span(60000, 30000), false, nil},
		{"drops only", &analyzer.LiveStats{Received: 1000, DroppedKernel: 25}, span(1<<20, 0), true,
			[]string{"the kernel dropped 25 of 1000 packets (2.50%)", "findings may be incomplete"}},
		{"both", &analyzer.LiveStats{Received: 1000, DroppedKernel: 25}, span(1<<20, 1<<16), true,
			[]string{"the kernel dropped 25 of 1000 packets (2.50%)", "; the capture missed 65536 of the 1048576 bytes the endpoints acknowledged (6.25%)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.live != nil {
				if got := highLoss(tc.live, tc.vis); got != tc.high {
					t.Errorf("highLoss = %v, want %v", got, tc.high)
				}
			}
			got := lossWarning(tc.live, tc.vis)
			checkWarning(t, got, tc.want)
		})
	}
}

// checkWarning fails unless got holds every one of want, or is empty when
// want is nil.
func checkWarning(t *testing.T, got string, want []string) {
	t.Helper()
	if want == nil {
		if got != "" {
			t.Fatalf("warning %q, want none", got)
		}
		return
	}
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("%q lacks %q", got, w)
		}
	}
}
