package capgen

import (
	"path/filepath"
	"testing"
	"time"
)

// TempSparsePcap writes a SparsePcap of at least size bytes in the test's
// temporary folder and returns its path and number of records. It skips
// the test when the file system lacks the room (256 MiB free) or does not
// keep holes.
func TempSparsePcap(t testing.TB, size int64, t0 time.Time, frames [][]byte) (string, int) {
	t.Helper()
	dir := t.TempDir()
	if free, ok := freeBytes(dir); !ok || free < 256<<20 {
		t.Skipf("%d bytes free for a sparse file of %d bytes", free, size)
	}
	path := filepath.Join(dir, "sparse.pcap")
	n, err := SparsePcap(path, size, t0, frames)
	if err != nil {
		t.Fatal(err)
	}
	if used, ok := storedBytes(path); !ok || used > 128<<20 {
		t.Skipf("the file system stores %d bytes of a sparse file of %d", used, size)
	}
	return path, n
}
