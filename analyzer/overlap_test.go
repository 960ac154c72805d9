package analyzer

import (
	"strconv"
	"strings"
	"testing"
)

// TestOverlapNote checks the note on inputs whose times overlap: none, one
// pair named in full, and many pairs cut to the first few and a count.
func TestOverlapNote(t *testing.T) {
	span := func(first, last int64) InputResult {
		return InputResult{Packets: 1, First: first * 1e9, Last: last * 1e9}
	}
	for _, c := range []struct {
		name      string
		res       []InputResult
		want      []string // substrings of the note; none: no note
		wantPairs int      // pairs named in the note
	}{
		{"apart", []InputResult{span(0, 10), span(11, 20), span(21, 30)}, nil, 0},
		{"one pair", []InputResult{span(0, 10), span(5, 20), span(21, 30)}, []string{"in0 (", ") and in1 (", "): their packets were merged"}, 1},
		{"an empty input overlaps nothing", []InputResult{span(0, 10), {}}, nil, 0},
		{"ten pairs", []InputResult{span(0, 10), span(1, 10), span(2, 10), span(3, 10), span(4, 10)}, []string{"in0 (", "; and 7 more pairs): their"}, 3},
	} {
		t.Run(c.name, func(t *testing.T) {
			in := make([]Input, len(c.res))
			for i := range in {
				in[i].Name = "in" + strconv.Itoa(i)
			}
			got := overlapNote(in, c.res)
			if len(c.want) == 0 {
				if got != "" {
					t.Fatalf("note %q, want none", got)
				}
				return
			}
			for _, w := range c.want {
				if !strings.Contains(got, w) {
					t.Errorf("note %q lacks %q", got, w)
				}
			}
			if n := strings.Count(got, ") and "); n != c.wantPairs {
				t.Errorf("%d pairs named in %q, want %d", n, got, c.wantPairs)
			}
		})
	}
}
