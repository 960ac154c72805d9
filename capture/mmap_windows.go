package capture

import (
	"os"
	"unsafe"

	"golang.org/x/sys/windows"
)

// mapFile maps size bytes of a file read-only, or returns nil. The view
// keeps the file mapping object alive, so its handle is closed at once;
// while the view exists Windows refuses to truncate the file.
func mapFile(fh *os.File, size int64) []byte {
	h, err := windows.CreateFileMapping(windows.Handle(fh.Fd()), nil, windows.PAGE_READONLY, uint32(size>>32), uint32(size), nil)
	if err != nil {
		return nil
	}
	addr, err := windows.MapViewOfFile(h, windows.FILE_MAP_READ, 0, 0, uintptr(size))
	_ = windows.CloseHandle(h)
	if err != nil || addr == 0 {
		return nil
	}
	// The view is outside Go's heap: read the address through memory so
	// vet's check for uintptr conversions, meant for heap pointers, is
	// not misled.
	p := *(*unsafe.Pointer)(unsafe.Pointer(&addr))
	return unsafe.Slice((*byte)(p), int(size))
}

// dropPages takes the pages of b out of the process's working set:
// VirtualUnlock on pages that are not locked does exactly that (and
// reports ERROR_NOT_LOCKED). The view stays valid; a later read faults
// the page in again from the file cache.
func dropPages(b []byte) {
	if len(b) > 0 {
		_ = windows.VirtualUnlock(uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
	}
}

func unmapFile(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	return windows.UnmapViewOfFile(uintptr(unsafe.Pointer(&b[0])))
}

// populate leaves the pages to fault in as they are read: the cache
// manager reads a mapped file ahead on its own.
func populate([]byte) {}
