package kafkaout

import (
	"bytes"
	"testing"
)

// TestArena checks that the bytes of kept records never overlap, whatever
// their sizes (small, filling a block, bigger than a block), and that
// records are distinct.
func TestArena(t *testing.T) {
	tests := []struct {
		name  string
		sizes []int
	}{
		{"small", []int{1, 10, 600, 600, 3}},
		{"block filler", []int{arenaBlock - arenaMinFree, 100, arenaMinFree, 1}},
		{"bigger than a block", []int{10, 3 * arenaBlock, 10, arenaBlock + 1, 5}},
		{"many", func() []int {
			s := make([]int, 2000)
			for i := range s {
				s[i] = 1 + i%700
			}
			return s
		}()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var a Arena
			var kept [][]byte
			seen := map[any]bool{}
			for i, n := range tc.sizes {
				b := a.Bytes()
				if len(b) != 0 {
					t.Fatalf("Bytes has length %d", len(b))
				}
				b = append(b, bytes.Repeat([]byte{byte(i)}, n)...)
				b = a.Keep(b)
				if cap(b) != len(b) || len(b) != n {
					t.Fatalf("kept len %d cap %d, want %d", len(b), cap(b), n)
				}
				kept = append(kept, b)
				r := a.Record()
				if seen[r] {
					t.Fatalf("record %d handed out twice", i)
				}
				seen[r] = true
			}
			for i, b := range kept {
				if !bytes.Equal(b, bytes.Repeat([]byte{byte(i)}, tc.sizes[i])) {
					t.Fatalf("record %d was overwritten", i)
				}
			}
		})
	}
}
