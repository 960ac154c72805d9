package analyzer

import "orchard/capture"

// PacketFilter narrows what ReadFrom and ReadMerged analyse: a BPF
// expression, one device, a time window, a packet count (see
// SetPacketFilter).
type PacketFilter interface {
	// Keep reports whether to analyse p, and stop whether to end reading
	// here (the packet is then not analysed). It is called on the reading
	// goroutine, for every packet read from a file.
	Keep(p *capture.Packet) (keep, stop bool)
}

// SetPacketFilter makes file reading hand only the packets f keeps to the
// analysis; nil analyses every packet.
func (e *Engine) SetPacketFilter(f PacketFilter) { e.filter = f }

// Stopped reports whether the packet filter ended the reading: callers
// then read no further inputs.
func (e *Engine) Stopped() bool { return e.filterStop }

// PacketsRead is the number of packets handed to the analysis so far. Call
// it from the goroutine that feeds the engine.
func (e *Engine) PacketsRead() uint64 { return e.run.read() }

// filtered applies the packet filter to p: true when p is to be skipped;
// it records a stop.
func (e *Engine) filtered(p *capture.Packet) bool {
	keep, stop := e.filter.Keep(p)
	if stop {
		e.filterStop = true
		return true
	}
	return !keep
}
