package capture

import (
	"strings"
	"testing"
)

type panicReader struct{}

func (panicReader) Read([]byte) (int, error) { panic("broken reader") }

// TestReadAheadPanicReachesReader checks a panic of the read-ahead
// goroutine is raised again by Read, on the reading goroutine, with the
// original stack, instead of killing the process from a goroutine no
// handler sees.
func TestReadAheadPanicReachesReader(t *testing.T) {
	ra := newReadAhead(panicReader{}, nil)
	defer ra.close()
	defer func() {
		p, ok := recover().(*aheadPanic)
		if !ok || p.value != "broken reader" || !strings.Contains(p.Error(), "panicReader") {
			t.Errorf("Read raised %v, want the read-ahead goroutine's panic with its stack", p)
		}
	}()
	ra.Read(make([]byte, 10))
	t.Error("Read returned")
}
