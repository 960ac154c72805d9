package analyzer

import (
	"sync"
	"sync/atomic"
)

// timelineJump is how far from the capture's span a timestamp may lie and
// still belong to it. A packet stamped decades off (a device clock at 1970,
// a corrupt 2106) is further; files of one timeline days apart are not.
const timelineJump = int64(90 * 24 * 3600 * 1e9)

// timelineSwitch is how many packets an other span needs before it joins
// the capture's span (captures merged from years apart), or replaces it
// when that one holds fewer: a capture whose first packet alone is
// stamped 1970.
const timelineSwitch = 16

// timeline is the span of a capture's timestamps, robust to outliers: a
// timestamp far outside the span does not stretch it. It costs two
// comparisons a packet.
type timeline struct {
	first, last int64
	n           uint64
	// the other span, while it is smaller than this one
	cFirst, cLast int64
	cn            uint64
	outliers      uint64 // timestamps left out of the span
}

// observe files a timestamp and reports whether it lies in the span.
func (t *timeline) observe(ts int64) bool {
	if t.n == 0 {
		t.first, t.last, t.n = ts, ts, 1
		return true
	}
	if ts >= t.first-timelineJump && ts <= t.last+timelineJump {
		t.first, t.last = min(t.first, ts), max(t.last, ts)
		t.n++
		return true
	}
	t.outliers++
	if t.cn > 0 && ts >= t.cFirst-timelineJump && ts <= t.cLast+timelineJump {
		t.cFirst, t.cLast = min(t.cFirst, ts), max(t.cLast, ts)
		t.cn++
	} else {
		t.cFirst, t.cLast, t.cn = ts, ts, 1
	}
	if t.cn >= timelineSwitch {
		t.outliers -= t.cn
		if t.n < timelineSwitch {
			// The capture is over there: what came first was the outlier.
			t.outliers += t.n
			t.first, t.last, t.n = t.cFirst, t.cLast, t.cn
		} else {
			t.first, t.last, t.n = min(t.first, t.cFirst), max(t.last, t.cLast), t.n+t.cn
		}
		t.cn = 0
		return true
	}
	return false
}

// ends returns where the timeline stops: its span's end, and the latest
// timestamp outside it (an other span still too small to count), which
// may be where a capture cut short stopped.
func (t *timeline) ends() (last, other int64) {
	if t.cn > 0 {
		other = t.cLast
	}
	return t.last, other
}

// maxEnds caps the file ends remembered for end-of-capture verdicts.
const maxEnds = 256

// captureEnds are the times the capture stopped looking: the last packet
// of each file and of the whole timeline. A request shortly before one of
// them may have been answered out of sight. Safe for concurrent use: the
// reader files ends while a Parallel's judge reads them.
type captureEnds struct {
	mu   sync.Mutex
	ends []int64
	// n is len(ends), read without the lock: until an input ends, a
	// verdict's check takes no lock.
	n atomic.Int32
}

// add files an end.
func (c *captureEnds) add(ts int64) {
	if ts == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.ends) < maxEnds {
		c.ends = append(c.ends, ts)
		c.n.Store(int32(len(c.ends)))
	} else {
		c.ends[len(c.ends)-1] = max(c.ends[len(c.ends)-1], ts)
	}
}

// addSpan files where a timeline stops.
func (c *captureEnds) addSpan(t *timeline) {
	last, other := t.ends()
	c.add(last)
	c.add(other)
}

// cutOff returns the end that came less than wait after req, with nothing
// of the flow seen after it (last is the flow's last packet), or 0.
func (c *captureEnds) cutOff(req, last, wait int64) int64 {
	if c.n.Load() == 0 {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range c.ends {
		if e >= last && e >= req && e-req < wait {
			return e
		}
	}
	return 0
}
