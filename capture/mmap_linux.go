package capture

import "golang.org/x/sys/unix"

// madvPopulate is MADV_POPULATE_READ (Linux 5.14): map a range's pages in
// one call rather than a fault per page. Older kernels refuse it.
const madvPopulate = unix.MADV_POPULATE_READ
