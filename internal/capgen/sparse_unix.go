//go:build linux || darwin || freebsd

package capgen

import (
	"os"
	"syscall"
)

// freeBytes returns the bytes free to an unprivileged user in dir's file system.
func freeBytes(dir string) (int64, bool) {
	var st syscall.Statfs_t
	if syscall.Statfs(dir, &st) != nil {
		return 0, false
	}
	return int64(st.Bavail) * int64(st.Bsize), true
}

// storedBytes returns the bytes the file system stores for a file.
func storedBytes(path string) (int64, bool) {
	fi, err := os.Stat(path)
	if err != nil {
		return 0, false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return int64(st.Blocks) * 512, true
}
