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
// speaks of every flow it counts.
func settle(fd *Finding) {
	t := &fd.Tally
	if !t.Stale {
		return
	}
	t.Stale = false
	fd.First, fd.Last = rfc3339(t.FirstNS), rfc3339(t.LastNS)
	switch {
	case fd.Count <= 1:
	case t.Mixed:
		fd.Evidence = fmt.Sprintf("%d %s; the latest: %s", fd.Count, t.Unit, t.LastEv)
	default:
		fd.Evidence = fmt.Sprintf("%d %s, each: %s", fd.Count, t.Unit, t.LastEv)
	}
}
