package analyzer

import "fmt"

// containsFold reports whether s contains substr, ignoring ASCII case,
// without building a lower-cased copy of s (the judge asks it of catalog
// descriptions for every flow). substr must be lower-case ASCII.
func containsFold(s, substr string) bool {
	n := len(substr)
	for i := 0; i+n <= len(s); i++ {
		j := 0
		for ; j < n; j++ {
			c := s[i+j]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			if c != substr[j] {
				break
			}
		}
		if j == n {
			return true
		}
	}
	return false
}

// keptOnly is fd when the judge keeps it, else nil.
func keptOnly(fd *Finding, kept bool) *Finding {
	if kept {
		return fd
	}
	return nil
}

// settle writes a finding's First, Last and, once it counts more than one
// flow, its Evidence from its tallies, if they are behind them: a repeat
// of a kept finding only counts, and this formats once per report what
// a flood of repeats would format every flow. Evidence beside a count
// speaks of every flow it counts, in its definition's unit.
func settle(fd *Finding) {
	t := &fd.Tally
	if !t.Stale {
		return
	}
	t.Stale = false
	fd.First, fd.Last = rfc3339(t.FirstNS), rfc3339(t.LastNS)
	if fd.Count <= 1 {
		return
	}
	unit := ""
	if d := lookupDef(fd.Finding); d != nil {
		unit = d.Unit
	}
	if t.Mixed {
		fd.Evidence = fmt.Sprintf("%d %s; the latest: %s", fd.Count, unit, t.LastEv)
	} else {
		fd.Evidence = fmt.Sprintf("%d %s, each: %s", fd.Count, unit, t.LastEv)
	}
}

// findKey returns the position of finding key k, of hash h, among the
// kept findings, or -1: among those its client's device slot sl holds,
// then, unless the slot says there are no others (or there is no slot),
// in the index. A flood of new keys past the cap is told so by the slot
// that found the flow's device.
func (j *judge) findKey(sl *devSlot, k *findingKey, h uint64) int {
	if sl != nil {
		tag := uint32(h >> 32)
		for _, r := range sl.refs {
			if r.pos == 0 {
				break
			}
			if r.tag == tag && j.keys.keys[r.pos-1] == *k {
				return int(r.pos - 1)
			}
		}
		if sl.h&slotMore == 0 {
			return -1
		}
	}
	return j.keys.find(k, h)
}

// keepKey keeps finding key k, of hash h, at the next position: in its
// client's device slot sl while it has room, else in the index (the
// slot then says so).
func (j *judge) keepKey(sl *devSlot, k *findingKey, h uint64) {
	p := j.keys.push(k)
	if sl != nil {
		for i := range sl.refs {
			if sl.refs[i].pos == 0 {
				sl.refs[i] = findRef{uint32(h >> 32), uint32(p + 1)}
				return
			}
		}
		sl.h |= slotMore
	}
	j.keys.index(h, p)
}
