//go:build linux || darwin || freebsd || netbsd || openbsd

package capture

import (
	"os"
	"syscall"
)

// mapFile maps size bytes of a file read-only, or returns nil.
func mapFile(fh *os.File, size int64) []byte {
	b, err := syscall.Mmap(int(fh.Fd()), 0, int(size), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil
	}
	_ = syscall.Madvise(b, syscall.MADV_SEQUENTIAL)
	return b
}

// dropPages hands the pages of b back to the kernel: the mapping stays
// valid, and a later read faults the file's page in again.
func dropPages(b []byte) {
	if len(b) > 0 {
		_ = syscall.Madvise(b, syscall.MADV_DONTNEED)
	}
}

func unmapFile(b []byte) error { return syscall.Munmap(b) }

// madvPopulateRead is Linux's MADV_POPULATE_READ (5.14): map a range's
// pages in one call. Elsewhere, or on older kernels, it fails and the
// pages fault in as they are read.
const madvPopulateRead = 22

// populate maps in the pages of b, which are about to be read.
func populate(b []byte) { _ = syscall.Madvise(b, madvPopulateRead) }
