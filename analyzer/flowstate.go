package analyzer

import "orchard/dissect"

// sideState recycles what only some flows need, kept beside the flow
// rather than in it: a flow is in the table for every packet of a flood,
// its dissectors' state only while a dissector runs. Each list is
// bounded; what does not fit is left to the collector.
type sideState struct {
	apps []*appFacts
	quic []*dissect.QUICAssembler
}

// sideKeep bounds each free list of sideState.
const sideKeep = 1024

// facts returns f's application facts, allocating them at the first
// dissector that needs them.
func (t *table) facts(f *Flow) *appFacts {
	if f.app != nil {
		return f.app
	}
	s := &t.side
	if n := len(s.apps); n > 0 {
		f.app = s.apps[n-1]
		s.apps[n-1] = nil
		s.apps = s.apps[:n-1]
	} else {
		f.app = new(appFacts)
	}
	return f.app
}

// putFacts recycles a's memory once nothing refers to it.
func (t *table) putFacts(a *appFacts) {
	if a.quic != nil {
		t.putQUIC(a.quic)
	}
	*a = appFacts{}
	if s := &t.side; len(s.apps) < sideKeep {
		s.apps = append(s.apps, a)
	}
}

// quicAssembler returns an empty QUIC Initial assembler.
func (t *table) quicAssembler() *dissect.QUICAssembler {
	s := &t.side
	if n := len(s.quic); n > 0 {
		q := s.quic[n-1]
		s.quic[n-1] = nil
		s.quic = s.quic[:n-1]
		return q
	}
	return new(dissect.QUICAssembler)
}

// putQUIC recycles an assembler: its keys are dropped, its buffers kept.
func (t *table) putQUIC(q *dissect.QUICAssembler) {
	q.Reset()
	if s := &t.side; len(s.quic) < sideKeep {
		s.quic = append(s.quic, q)
	}
}
