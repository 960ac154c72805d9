package analyzer

import (
	"orchard/decode"
	"orchard/flow"
)

// flows returns a one-worker engine's flow engine, for tests that look
// into its table and reassembly.
func (e *Engine) flows() *flow.Engine { return e.run.(*serial).fe }

// Packet feeds one decoded packet to a one-worker engine at time ts, as
// FrameNS does after decoding: tests build packets without frames.
func (e *Engine) Packet(p *decode.Packet, ts int64) {
	s := e.run.(*serial)
	s.tl.observe(ts)
	s.fe.Clock(ts)
	s.fe.Packet(p, ts)
}
