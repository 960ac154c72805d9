package crash

import (
	"fmt"
	"os"
	"runtime/debug"
)

// ExitInternal is the exit status of a crash: EX_SOFTWARE of sysexits.h,
// "an internal software error has been detected".
const ExitInternal = 70

// Guard, deferred first thing in a goroutine, reports a panic of that
// goroutine on standard error with its stack and exits with ExitInternal.
// It does nothing when the goroutine returns normally. Deferred handlers
// that recover expected panics (a fault reading a shrunk mapped file) run
// before it and keep working.
func Guard() {
	if r := recover(); r != nil {
		Exit(r, debug.Stack())
	}
}

// Exit reports the panic value r with its stack and exits with ExitInternal.
func Exit(r any, stack []byte) {
	fmt.Fprintf(os.Stderr, "orchard: internal error: %v\n%s\norchard: this is a bug; please report it with the command line and, if you can, the capture\n", r, stack)
	os.Exit(ExitInternal)
}
