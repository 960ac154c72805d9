package capture_test

import (
	"strconv"
	"testing"
)

// skipUnmapped skips a test of the mapped reader where files are read
// rather than mapped: 32-bit address spaces. Elsewhere an unmapped large
// file is a failure the caller reports.
func skipUnmapped(t *testing.T) {
	t.Helper()
	if strconv.IntSize < 64 {
		t.Skip("files are read, not mapped, where int has 32 bits")
	}
}
