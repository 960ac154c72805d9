//go:build linux || darwin || freebsd || netbsd || openbsd

package capture

import (
	"os"

	"golang.org/x/sys/unix"
)

// mapFile maps size bytes of a file read-only, or returns nil.
func mapFile(fh *os.File, size int64) []byte {
	b, err := unix.Mmap(int(fh.Fd()), 0, int(size), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return nil
	}
	_ = unix.Madvise(b, unix.MADV_SEQUENTIAL)
	return b
}

// dropPages hands the pages of b back to the kernel: the mapping stays
// valid, and a later read faults the file's page in again. On a shared
// read-only file mapping MADV_DONTNEED never loses data: Linux drops the
// pages, the BSDs and macOS mark them as the first to reclaim.
func dropPages(b []byte) {
	if len(b) > 0 {
		_ = unix.Madvise(b, unix.MADV_DONTNEED)
	}
}

func unmapFile(b []byte) error { return unix.Munmap(b) }

// populate maps in the pages of b, which are about to be read. Where the
// kernel refuses the advice, the pages fault in as they are read.
func populate(b []byte) { _ = unix.Madvise(b, madvPopulate) }
