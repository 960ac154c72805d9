//go:build !unix

package main

import (
	"os"
	"time"
)

// sysUsage returns a finished command's CPU time; the peak RSS is not
// known here.
func sysUsage(ps *os.ProcessState) (int64, time.Duration) {
	return 0, ps.UserTime() + ps.SystemTime()
}
