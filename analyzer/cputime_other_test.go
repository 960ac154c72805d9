//go:build !unix

package analyzer

import "testing"

// cpuTimer is a no-op where the process's CPU time is not read.
type cpuTimer struct{}

func startCPU(b *testing.B) cpuTimer { b.ResetTimer(); return cpuTimer{} }

func (cpuTimer) report(*testing.B) {}
