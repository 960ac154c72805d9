package analyzer

import (
	"github.com/gopacket/gopacket/layers"
)

// Recorder receives the packets of flagged flows (--write-evidence).
type Recorder interface {
	WritePacket(link layers.LinkType, ts int64, frame []byte) error
}

// Evidence limits: packets kept per flow, and bytes kept in all.
const (
	keepPerFlow   = 64
	keepBudget    = 256 << 20
	keepDNSPerKey = 4
)

type keptPacket struct {
	link  layers.LinkType
	ts    int64
	frame []byte
}

// evidence keeps the first packets of each open flow until the flow is
// judged, and the DNS answers for Apple names, so that flagged flows can be
// written out with the answers that named them.
type evidence struct {
	rec     Recorder
	bytes   int
	dropped uint64
	dns     map[string][]keptPacket // by query name
	dnsRing []string
	written map[string]bool // DNS names already written
	errs    int
}

// SetRecorder makes the engine keep packets for evidence and hand those of
// flagged flows to r.
func (e *Engine) SetRecorder(r Recorder) {
	e.ev = &evidence{rec: r, dns: make(map[string][]keptPacket), written: make(map[string]bool)}
	if e.par != nil {
		e.par.setRecorder()
	}
}

// keep copies the current frame into f's evidence, within the limits.
func (e *Engine) keep(f *Flow) {
	ev := e.ev
	if len(f.kept) >= keepPerFlow || ev.bytes+len(e.curFrame) > keepBudget {
		ev.dropped++
		return
	}
	ev.bytes += len(e.curFrame)
	f.kept = append(f.kept, keptPacket{link: e.curLink, ts: e.curTS, frame: append([]byte(nil), e.curFrame...)})
}

// keepDNS remembers the current frame as the answer for name.
func (e *Engine) keepDNS(name string) {
	ev := e.ev
	if ev == nil || ev.bytes+len(e.curFrame) > keepBudget {
		return
	}
	l := ev.dns[name]
	if len(l) >= keepDNSPerKey {
		return
	}
	if l == nil {
		ev.dnsRing = append(ev.dnsRing, name)
		if len(ev.dnsRing) > 8192 {
			old := ev.dnsRing[0]
			ev.dnsRing = ev.dnsRing[1:]
			for _, p := range ev.dns[old] {
				ev.bytes -= len(p.frame)
			}
			delete(ev.dns, old)
		}
	}
	ev.bytes += len(e.curFrame)
	ev.dns[name] = append(l, keptPacket{link: e.curLink, ts: e.curTS, frame: append([]byte(nil), e.curFrame...)})
}

// release drops f's kept packets, writing them first when flagged.
func (e *Engine) releaseEvidence(f *Flow, flagged bool, dnsName string) {
	ev := e.ev
	if ev == nil {
		return
	}
	if flagged {
		if dnsName != "" && !ev.written[dnsName] {
			ev.written[dnsName] = true
			for _, p := range ev.dns[dnsName] {
				ev.write(p)
			}
		}
		for _, p := range f.kept {
			ev.write(p)
		}
	}
	for _, p := range f.kept {
		ev.bytes -= len(p.frame)
	}
	f.kept = nil
}

// writeCurrent writes the packet being processed (a DNS answer that is itself a finding).
func (e *Engine) writeCurrent() {
	if e.ev != nil {
		e.ev.write(keptPacket{link: e.curLink, ts: e.curTS, frame: e.curFrame})
	}
}

func (ev *evidence) write(p keptPacket) {
	if err := ev.rec.WritePacket(p.link, p.ts, p.frame); err != nil {
		ev.errs++
	}
}
