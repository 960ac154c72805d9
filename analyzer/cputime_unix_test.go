//go:build unix

package analyzer

import (
	"syscall"
	"testing"
	"time"
)

// processCPU is the CPU time the process has used, user and system.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// cpuTimer reports a benchmark's CPU time per operation beside its wall
// time: on a machine shared with other work the wall time measures the
// neighbours as much as the code.
type cpuTimer struct{ start time.Duration }

func startCPU(b *testing.B) cpuTimer {
	b.ResetTimer()
	return cpuTimer{processCPU()}
}

func (c cpuTimer) report(b *testing.B) {
	if d := processCPU() - c.start; d > 0 && b.N > 0 {
		b.ReportMetric(float64(d.Nanoseconds())/float64(b.N), "cpu-ns/op")
	}
}
