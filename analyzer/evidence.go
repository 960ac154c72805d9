package analyzer

import (
	"strconv"

	"github.com/gopacket/gopacket/layers"

	"orchard/flow"
)

// Recorder receives the packets of flagged flows (--write-evidence), in the
// order flows are judged (not in time order), each with a note naming the
// finding it supports ("tcp.syn_unanswered 27-courier.push.apple.com:5223",
// or "DNS answer for ..." for the answer that named the host).
type Recorder interface {
	WritePacket(link layers.LinkType, ts int64, frame []byte, note string) error
}

// Evidence limits: packets kept per flow, and bytes kept in all.
const (
	keepPerFlow   = 64
	keepBudget    = 256 << 20
	keepDNSPerKey = 4
)

// evidence keeps the first packets of each open flow until the flow is
// judged, and the DNS answers for Apple names, so that flagged flows can be
// written out with the answers that named them.
type evidence struct {
	rec     Recorder
	bytes   int
	dropped uint64
	dns     map[string][]flow.KeptPacket // by query name
	dnsRing []string
	written map[string]bool // DNS names already written
	// errs counts the packets the Recorder failed to write; firstErr is
	// the first failure.
	errs     uint64
	firstErr error
}

// SetRecorder makes the engine keep packets for evidence and hand those of
// flagged flows to r.
func (e *Engine) SetRecorder(r Recorder) {
	e.judge.env.ev = &evidence{rec: r, dns: make(map[string][]flow.KeptPacket), written: make(map[string]bool)}
	e.run.setRecorder(e.judge.env.ev)
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

// keepDNS remembers fr, a DNS answer's frame, as the answer for name.
func (e *judgeEnv) keepDNS(name string, fr flow.FrameRef) {
	ev := e.ev
	if ev == nil || ev.bytes+len(fr.Frame) > keepBudget {
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
				ev.bytes -= len(p.Frame)
			}
			delete(ev.dns, old)
		}
	}
	ev.bytes += len(fr.Frame)
	ev.dns[name] = append(l, flow.KeptPacket{Link: fr.Link, TS: fr.TS, Frame: append([]byte(nil), fr.Frame...)})
}

// releaseEvidence drops f's kept packets, writing them first when the
// flow's verdict v is a reported finding of severity warn or above; the DNS
// answers that named the host (at.host, when named by DNS) go with them.
func (e *judgeEnv) releaseEvidence(f *flow.Flow, v verdict, at *attribution, reported bool) {
	ev := e.ev
	if ev == nil {
		return
	}
	if v.def != nil && reported && v.sev >= SevWarn {
		note := findingNote(v.def.Name, at.host, at.port)
		if at.source == SourceDNS && !ev.written[at.host] {
			ev.written[at.host] = true
			for _, p := range ev.dns[at.host] {
				p.Note = "DNS answer naming the host of " + note
				ev.write(p)
			}
		}
		for _, p := range f.Kept {
			p.Note = note
			ev.write(p)
		}
	}
	for _, p := range f.Kept {
		ev.bytes -= len(p.Frame)
	}
	f.Kept = nil
}

// writeAnswer writes fr, a DNS answer that is itself the finding v for
// the name host.
func (e *judgeEnv) writeAnswer(v verdict, host string, fr flow.FrameRef) {
	if e.ev != nil {
		e.ev.write(flow.KeptPacket{Link: fr.Link, TS: fr.TS, Frame: fr.Frame, Note: v.def.Name + " " + host})
	}
}

// findingNote names a finding in an evidence packet's comment.
func findingNote(name, host string, port uint16) string {
	return name + " " + host + ":" + strconv.Itoa(int(port))
}

func (ev *evidence) write(p flow.KeptPacket) {
	if err := ev.rec.WritePacket(p.Link, p.TS, p.Frame, p.Note); err != nil {
		if ev.errs == 0 {
			ev.firstErr = err
		}
		ev.errs++
	}
}

// evidenceWarnings fills st's evidence counters from the judge's evidence
// ev (nil: none is kept) and returns what the report must warn of.
func evidenceWarnings(ev *evidence, st *Stats) []string {
	if ev == nil {
		return nil
	}
	st.EvidenceErrors = ev.errs
	var w []string
	if st.EvidenceDropped > 0 {
		w = append(w, strconv.FormatUint(st.EvidenceDropped, 10)+" packets of open flows were not kept as evidence (at most "+
			strconv.Itoa(keepPerFlow)+" a flow, "+strconv.Itoa(keepBudget>>20)+" MiB in all): the evidence written may lack some")
	}
	if ev.errs > 0 {
		w = append(w, strconv.FormatUint(ev.errs, 10)+" evidence packets could not be written: "+ev.firstErr.Error())
	}
	return w
}
