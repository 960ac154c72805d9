package flow

// Evidence limits: packets kept per flow, and bytes kept in all.
const (
	KeepPerFlow = 64
	KeepBudget  = 256 << 20
)

// KeepState is what the evidence kept so far costs: its bytes, within
// keepBudget, and the packets of open flows left out for the limits.
type KeepState struct {
	Bytes   int
	dropped uint64
}

// keep copies the current frame into f's evidence, within the limits.
func (e *Engine) keep(f *Flow) {
	ev, cur := e.Keep, &e.Cur
	if len(f.Kept) >= KeepPerFlow || ev.Bytes+len(cur.Frame) > KeepBudget {
		ev.dropped++
		return
	}
	ev.Bytes += len(cur.Frame)
	f.Kept = append(f.Kept, KeptPacket{Link: cur.Link, TS: cur.TS, Frame: append([]byte(nil), cur.Frame...)})
}
