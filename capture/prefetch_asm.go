//go:build amd64 || arm64

package capture

// prefetch asks the CPU to bring b into its caches, a line at a time,
// without waiting for it. It never faults, even on pages a shrunken file
// no longer backs.
//
//go:noescape
func prefetch(b []byte)
