package capture

import (
	"encoding/binary"
	"testing"
)

// TestEachOption: options are walked to opt_endofopt or the end of the
// bytes, and an option whose padding runs past the end stops the walk
// instead of slicing out of range.
func TestEachOption(t *testing.T) {
	le := binary.LittleEndian
	cases := []struct {
		name string
		opts []byte
		want []uint16
	}{
		{"two then end", []byte{2, 0, 4, 0, 'a', 'p', 's', 'd', 3, 0, 1, 0, 'x', 0, 0, 0, 0, 0, 0, 0}, []uint16{2, 3}},
		{"padding past the end", []byte{2, 0, 5, 0, 'a', 'b', 'c', 'd', 'e'}, []uint16{2}},
		{"length past the end", []byte{2, 0, 9, 0, 'a'}, nil},
		{"empty", nil, nil},
	}
	for _, c := range cases {
		var got []uint16
		eachOption(c.opts, le, func(code uint16, val []byte) bool {
			got = append(got, code)
			return true
		})
		if len(got) != len(c.want) {
			t.Errorf("%s: codes %v, want %v", c.name, got, c.want)
			continue
		}
		for i := range got {
			if got[i] != c.want[i] {
				t.Errorf("%s: codes %v, want %v", c.name, got, c.want)
			}
		}
	}
}
