package flow

import (
	"unsafe"

	"orchard/dissect"
)

// sideState holds what only some flows need, beside the flow rather than
// in it: a flow is in the table for every packet of a flood, its
// dissectors' state only while a dissector runs. Everything a flow's
// dissectors keep (their facts, QUIC assemblers, TLS parsers, the
// ClientHello, certificates) is charged to the flow's facts and counted
// against a budget with a hard cap; the charge is returned when the flow
// ends. Beyond the budget a flow is not dissected, and the refusal is
// counted (Stats.StateDenied). Free lists recycle facts and assemblers;
// each is bounded, and what does not fit is left to the collector.
type sideState struct {
	apps   []*Facts
	quic   []*dissect.QUICAssembler
	InUse  int    // bytes charged to flows in the table
	Budget int    // cap on inUse; 0: none
	Denied uint64 // dissector state refused for the budget
}

// sideKeep bounds each free list of sideState.
const sideKeep = 1024

// Estimated costs of dissector state, in bytes, for the budget.
const (
	appFactsCost  = int(unsafe.Sizeof(Facts{}))
	quicCost      = int(unsafe.Sizeof(dissect.QUICAssembler{})) + 4<<10 // keys and ciphers, decryption and CRYPTO buffers
	TLSParserCost = int(unsafe.Sizeof(dissect.TLSStreamParser{})) + 1<<10
)

// HelloCost estimates the memory of a parsed ClientHello.
func HelloCost(ch *dissect.ClientHello) int {
	n := int(unsafe.Sizeof(*ch)) + len(ch.SNI) + 16*len(ch.ALPN)
	for _, l := range [][]uint16{ch.CipherSuites, ch.Extensions, ch.SupportedVersions, ch.SupportedGroups, ch.KeyShareGroups, ch.SignatureAlgorithms} {
		n += 2 * len(l)
	}
	for _, s := range ch.ALPN {
		n += len(s)
	}
	return n
}

// CertsCost is the memory of a copied certificate chain.
func CertsCost(certs [][]byte) int {
	n := 24 * len(certs)
	for _, c := range certs {
		n += len(c)
	}
	return n
}

// Charge counts n more bytes of a's state against the budget; false when
// that would exceed it (nothing is charged then).
func (t *Table) Charge(a *Facts, n int) bool {
	s := &t.Side
	if s.Budget > 0 && s.InUse+n > s.Budget {
		s.Denied++
		return false
	}
	s.InUse += n
	a.cost += n
	return true
}

// Uncharge returns n bytes of a's charge, for state let go early.
func (t *Table) Uncharge(a *Facts, n int) {
	n = min(n, a.cost)
	t.Side.InUse -= n
	a.cost -= n
}

// release returns the charge of an ending flow's state. The state itself
// lives on until the flow is judged and recycled.
func (t *Table) release(f *Flow) {
	if a := f.App; a != nil {
		t.Side.InUse -= a.cost
		a.cost = 0
	}
}

// Facts returns f's application facts, allocating them at the first
// dissector that needs them; nil when the state budget is spent.
func (t *Table) Facts(f *Flow) *Facts {
	if f.App != nil {
		return f.App
	}
	s := &t.Side
	if s.Budget > 0 && s.InUse+appFactsCost > s.Budget {
		s.Denied++
		return nil
	}
	if n := len(s.apps); n > 0 {
		f.App = s.apps[n-1]
		s.apps[n-1] = nil
		s.apps = s.apps[:n-1]
	} else {
		f.App = new(Facts)
	}
	s.InUse += appFactsCost
	f.App.cost = appFactsCost
	return f.App
}

// putFacts recycles a's memory once nothing refers to it.
func (t *Table) putFacts(a *Facts) {
	if a.QUIC != nil {
		t.PutQUIC(a, a.QUIC)
	}
	t.Side.InUse -= a.cost
	pend := a.DNSPending[:0]
	clear(a.DNSPending)
	*a = Facts{DNSPending: pend[:0:min(cap(pend), maxPendingQueries)]}
	if s := &t.Side; len(s.apps) < sideKeep {
		s.apps = append(s.apps, a)
	}
}

// QUICAssembler returns an empty QUIC Initial assembler charged to a, or
// nil when the budget is spent.
func (t *Table) QUICAssembler(a *Facts) *dissect.QUICAssembler {
	if !t.Charge(a, quicCost) {
		return nil
	}
	s := &t.Side
	if n := len(s.quic); n > 0 {
		q := s.quic[n-1]
		s.quic[n-1] = nil
		s.quic = s.quic[:n-1]
		return q
	}
	return new(dissect.QUICAssembler)
}

// PutQUIC recycles a's assembler q: its keys are dropped, its buffers kept.
func (t *Table) PutQUIC(a *Facts, q *dissect.QUICAssembler) {
	t.Uncharge(a, quicCost)
	q.Reset()
	if s := &t.Side; len(s.quic) < sideKeep {
		s.quic = append(s.quic, q)
	}
}
