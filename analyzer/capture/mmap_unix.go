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
