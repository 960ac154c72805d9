//go:build darwin || freebsd || netbsd || openbsd

package capture

import "golang.org/x/sys/unix"

// madvPopulate is MADV_WILLNEED: these kernels have no call that maps a
// range in, but start reading it ahead.
const madvPopulate = unix.MADV_WILLNEED
