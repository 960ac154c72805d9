package main

import (
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
)

// defaultMemoryLimit is the Go runtime's soft memory limit unless
// --memory-limit or GOMEMLIMIT says otherwise: every structure the
// analysis keeps is capped well below it, so the collector works harder
// only on a heap that a raised GOGC has let run ahead of its live data.
const defaultMemoryLimit = 192 << 20

// setMemoryLimit applies --memory-limit (empty: GOMEMLIMIT, else the
// default; "off": none). Reading files, it collects less often than Go's
// default while the heap is far below the limit, unless GOGC is set; live,
// it keeps Go's default (a sensor's full flow table at GOGC 400 let the
// heap grow to 470 MB).
func setMemoryLimit(flag string, live bool) error {
	if os.Getenv("GOGC") == "" && !live {
		// The heap is small and short-lived per packet: collect less
		// often; the memory limit still bounds it.
		debug.SetGCPercent(400)
	}
	switch {
	case flag == "" && os.Getenv("GOMEMLIMIT") != "":
		return nil // the runtime read it
	case flag == "":
		debug.SetMemoryLimit(defaultMemoryLimit)
		return nil
	case flag == "off":
		debug.SetMemoryLimit(-1 >> 1)
		return nil
	}
	n, err := parseBytes(flag)
	if err != nil {
		return fmt.Errorf("--memory-limit: %w", err)
	}
	debug.SetMemoryLimit(n)
	return nil
}

// parseBytes reads a size such as 300MiB, 1GiB, 512M or 1000000.
func parseBytes(s string) (int64, error) {
	t := strings.TrimSuffix(strings.TrimSuffix(strings.ToUpper(s), "B"), "I")
	mult := int64(1)
	if t != "" {
		switch t[len(t)-1] {
		case 'K':
			mult = 1 << 10
		case 'M':
			mult = 1 << 20
		case 'G':
			mult = 1 << 30
		}
		if mult != 1 {
			t = t[:len(t)-1]
		}
	}
	v, err := strconv.ParseInt(t, 10, 64)
	if err != nil || v <= 0 || v > (1<<62)/mult {
		return 0, fmt.Errorf("bad size %q (e.g. 300MiB, 1GiB)", s)
	}
	return v * mult, nil
}

// writeHeapProfile writes the live heap, after a collection, to path.
func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	runtime.GC()
	if err := pprof.WriteHeapProfile(f); err != nil {
		f.Close()
		return fmt.Errorf("heap profile: %w", err)
	}
	return f.Close()
}
