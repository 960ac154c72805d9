package analyzer

import "math/bits"

// mum folds the 128-bit product of a and b (hi ^ lo), as wyhash does: the
// mixing step of the judge's keyed hashes.
func mum(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}
