package analyzer

import "orchard/flow"

// Evidence limits: packets kept per flow, and bytes kept in all.
const (
	keepPerFlow = 64
	keepBudget  = 256 << 20
)

// KeepState is what the evidence kept so far costs: its bytes, within
// keepBudget, and the packets of open flows left out for the limits.
type KeepState struct {
	bytes   int
	dropped uint64
}

// keep copies the current frame into f's evidence, within the limits.
func (e *flowEngine) keep(f *flow.Flow) {
	ev, cur := e.ev, &e.cur
	if len(f.Kept) >= keepPerFlow || ev.bytes+len(cur.Frame) > keepBudget {
		ev.dropped++
		return
	}
	ev.bytes += len(cur.Frame)
	f.Kept = append(f.Kept, flow.KeptPacket{Link: cur.Link, TS: cur.TS, Frame: append([]byte(nil), cur.Frame...)})
}
