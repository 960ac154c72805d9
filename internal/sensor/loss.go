package sensor

import "orchard/analyzer"

// SpanLossMinBytes is how many payload bytes the endpoints must have
// acknowledged before the SPAN loss estimate says anything (the analyzer's
// own threshold for its visibility statement).
const SpanLossMinBytes = 64 << 10

// PacketLoss returns the packets the kernel and the interface dropped
// over those the capture received; 1 when packets were dropped and none
// received, 0 without live statistics.
func PacketLoss(l *analyzer.LiveStats) float64 {
	if l == nil {
		return 0
	}
	lost := l.DroppedKernel + l.DroppedIface
	switch {
	case lost == 0:
		return 0
	case l.Received == 0:
		return 1
	}
	return float64(lost) / float64(l.Received)
}

// SpanLoss returns the SPAN loss estimate of a capture's visibility: the
// share of the bytes the endpoints acknowledged that the capture never
// saw, lost at the mirror port or the tap before any socket counted them.
// ok is false until SpanLossMinBytes were acknowledged.
func SpanLoss(v *analyzer.Visibility) (loss float64, ok bool) {
	if v == nil || v.AckedBytes < SpanLossMinBytes {
		return 0, false
	}
	return float64(v.MissedBytes) / float64(v.AckedBytes), true
}

// CaptureLoss returns the larger of the packet loss and the SPAN loss
// estimate, when measured: the share of the traffic the analysis missed.
func CaptureLoss(l *analyzer.LiveStats, v *analyzer.Visibility) float64 {
	loss := PacketLoss(l)
	if s, ok := SpanLoss(v); ok && s > loss {
		loss = s
	}
	return loss
}
