//go:build !amd64 && !arm64

package capture

// prefetch is a no-op where orchard has no prefetch instruction for it.
func prefetch([]byte) {}
