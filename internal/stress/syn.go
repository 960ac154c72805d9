package stress

import (
	"bufio"
	"time"

	"orchard/internal/capgen"
)

// writeSYN writes s.N SYNs, each from a new (client, port) to an Apple
// server on 443 or 5223, a microsecond apart. No SYN is answered or
// repeated: every one is a new flow in the S0 state.
func writeSYN(w *bufio.Writer, s Spec) error {
	p := newPcap(w)
	const clients = 1 << 16
	for i := 0; i < s.N; i++ {
		port := uint16(443)
		if i%4 == 3 {
			port = 5223
		}
		seg := capgen.TCP{
			Src: clientAddr(i % clients), Dst: appleAddr(i/clients*7 + i),
			SrcPort: uint16(1024 + i/clients), DstPort: port,
			Flags: capgen.SYN, Seq: uint32(i) * 2654435761, TTL: 64, IPID: uint16(i),
		}
		if err := p.tcp(seg, true, time.Microsecond); err != nil {
			return err
		}
	}
	return p.w.Err()
}
