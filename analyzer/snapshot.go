package analyzer

import "slices"

// reportView is what a report reads of the judge: its counters and its
// findings, hosts and devices. It is taken with the judge at rest, and the
// report is built from it afterwards, so that a live report (--report-every)
// never keeps the judge, and through it the workers and the capture,
// waiting while it sorts and lays out tens of thousands of lines.
type reportView struct {
	stats      Stats
	evWarn     []string
	vis        Visibility
	appleFlows uint64
	untracked  uint64
	findings   []*Finding // in the judge's order
	hosts      []*HostSummary
	devs       []*DeviceSummary
}

// viewSlabs are the flat copies a view fills: allocated before the judge
// is stopped, so that the pause is only the copying.
type viewSlabs struct {
	findings []Finding
	hosts    []HostSummary
	devs     []DeviceSummary
}

// tableSizes are the lengths of the judge's findings, hosts and devices.
func (j *judge) tableSizes() [3]int {
	return [3]int{len(j.order), len(j.hostOrder), len(j.env.devs.idx.devs)}
}

// newSlabs returns slabs for tables of sizes n, with room to spare for
// what the judge adds before they are filled.
func newSlabs(n [3]int) *viewSlabs {
	room := func(n int) int { return max(min(n+n/8+256, maxTracked), n) }
	s := &viewSlabs{
		findings: make([]Finding, room(n[0])),
		hosts:    make([]HostSummary, room(n[1])),
		devs:     make([]DeviceSummary, room(n[2])),
	}
	// Fresh memory is mapped on first touch: touch it now, not while
	// the judge waits for the copy.
	prefault(s.findings)
	prefault(s.hosts)
	prefault(s.devs)
	return s
}

// prefault writes every page of s.
func prefault[T any](s []T) {
	clear(s)
}

// view takes what the report reads. The judge must be at rest for the
// call only. With slabs, the findings, hosts and devices are flat copies
// in them (a slab too small grows) that the judge no longer touches:
// their slices are shared, but the judge only appends to those, beyond
// what a copy holds. Without, they are the judge's own, for a final
// report after which it judges nothing.
func (e *Engine) view(s *viewSlabs) *reportView {
	j := e.judge
	j.judgeUnanswered()
	v := &reportView{stats: e.Stats(), appleFlows: j.appleFlows, vis: j.vis.finish()}
	v.evWarn = evidenceWarnings(j.env.ev, &v.stats)
	v.untracked = j.untracked
	v.findings = make([]*Finding, len(j.order))
	v.hosts = make([]*HostSummary, len(j.hostOrder))
	v.devs = make([]*DeviceSummary, len(j.env.devs.idx.devs))
	if s == nil {
		copy(v.findings, j.order)
		copy(v.hosts, j.hostOrder)
		copy(v.devs, j.env.devs.idx.devs)
		return v
	}
	// The slabs must not move once pointed into.
	fs := slices.Grow(s.findings[:0], len(j.order))
	for i, fd := range j.order {
		fs = append(fs, *fd)
		v.findings[i] = &fs[i]
	}
	hs := slices.Grow(s.hosts[:0], len(j.hostOrder))
	for i, h := range j.hostOrder {
		hs = append(hs, *h)
		v.hosts[i] = &hs[i]
	}
	ds := slices.Grow(s.devs[:0], len(v.devs))
	for i, d := range j.env.devs.idx.devs {
		ds = append(ds, *d)
		v.devs[i] = &ds[i]
	}
	return v
}
