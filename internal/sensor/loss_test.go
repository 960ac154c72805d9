package sensor

import (
	"testing"

	"orchard/analyzer"
)

func TestCaptureLoss(t *testing.T) {
	for _, tc := range []struct {
		name   string
		live   *analyzer.LiveStats
		vis    *analyzer.Visibility
		want   float64
		spanOK bool
	}{
		{"nothing", nil, nil, 0, false},
		{"no drops", &analyzer.LiveStats{Received: 1000}, nil, 0, false},
		{"drops only", &analyzer.LiveStats{Received: 1000, DroppedKernel: 3, DroppedIface: 1}, nil, 0.004, false},
		{"drops, none received", &analyzer.LiveStats{DroppedKernel: 1}, nil, 1, false},
		{"span too few bytes", &analyzer.LiveStats{Received: 1000}, &analyzer.Visibility{AckedBytes: SpanLossMinBytes - 1, MissedBytes: 1000}, 0, false},
		{"span measured", &analyzer.LiveStats{Received: 1000}, &analyzer.Visibility{AckedBytes: 1 << 20, MissedBytes: 1 << 14}, 1.0 / 64, true},
		{"span below drops", &analyzer.LiveStats{Received: 100, DroppedKernel: 5}, &analyzer.Visibility{AckedBytes: 1 << 20, MissedBytes: 1 << 10}, 0.05, true},
		{"span without live stats", nil, &analyzer.Visibility{AckedBytes: 1 << 20, MissedBytes: 1 << 19}, 0.5, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := CaptureLoss(tc.live, tc.vis); got != tc.want {
				t.Errorf("CaptureLoss = %v, want %v", got, tc.want)
			}
			if _, ok := SpanLoss(tc.vis); ok != tc.spanOK {
				t.Errorf("SpanLoss measured = %v, want %v", ok, tc.spanOK)
			}
		})
	}
}
