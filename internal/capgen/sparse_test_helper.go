package capgen

import (
	"path/filepath"
	"testing"
	"time"
)

// TempSparsePcap writes a SparsePcap of at least size bytes in the test's
// temporary folder and returns its path and number of records. It skips
// the test when the file system lacks the room or does not keep holes.
func TempSparsePcap(t testing.TB, size int64, t0 time.Time, frames [][]byte) (string, int) {
	t.Helper()
	var n int
	path := tempSparse(t, "sparse.pcap", size, func(path string) (err error) {
		n, err = SparsePcap(path, size, t0, frames)
		return err
	})
	return path, n
}

// TempSparsePcapNG writes a SparsePcapNG in the test's temporary folder
// and returns its path, skipping the test as TempSparsePcap does.
func TempSparsePcapNG(t testing.TB, gap int64, t0 time.Time, before, after [][]byte) string {
	t.Helper()
	return tempSparse(t, "sparse.pcapng", gap, func(path string) error {
		return SparsePcapNG(path, gap, t0, before, after)
	})
}

// tempSparse writes a sparse file of size bytes with write, checking that
// there is room (256 MiB free) and that the file system keeps its holes.
func tempSparse(t testing.TB, name string, size int64, write func(path string) error) string {
	t.Helper()
	dir := t.TempDir()
	if free, ok := freeBytes(dir); !ok || free < 256<<20 {
		t.Skipf("%d bytes free for a sparse file of %d bytes", free, size)
	}
	path := filepath.Join(dir, name)
	if err := write(path); err != nil {
		t.Fatal(err)
	}
	if used, ok := storedBytes(path); !ok || used > 128<<20 {
		t.Skipf("the file system stores %d bytes of a sparse file of %d", used, size)
	}
	return path
}
