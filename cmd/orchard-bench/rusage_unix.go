//go:build unix

package main

import (
	"os"
	"syscall"
	"time"
)

// sysUsage returns a finished command's peak RSS in bytes and its CPU time.
func sysUsage(ps *os.ProcessState) (int64, time.Duration) {
	ru, ok := ps.SysUsage().(*syscall.Rusage)
	if !ok {
		return 0, 0
	}
	// Kilobytes on Linux and the BSDs (bytes on macOS, where the bench
	// is not run).
	return int64(ru.Maxrss) << 10, time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
