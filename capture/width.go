package capture

import "math"

// intLen converts a 32-bit length field to an int, saturating where int
// has 32 bits: a hostile 0xffffffff must not turn negative there.
func intLen(v uint32) int {
	if uint64(v) > math.MaxInt {
		return math.MaxInt
	}
	return int(v)
}
