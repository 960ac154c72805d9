package crash

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestGuardExitsInternal re-runs the test binary with a goroutine that
// panics under Guard, and checks the exit status and the message.
func TestGuardExitsInternal(t *testing.T) {
	if os.Getenv("CRASH_TEST_CHILD") == "1" {
		done := make(chan struct{})
		go func() {
			defer close(done)
			defer Guard()
			var s []int
			_ = s[len(os.Args)] // a real runtime panic: index out of range
		}()
		<-done
		os.Exit(0)
	}
	cmd := exec.Command(os.Args[0], "-test.run", "^TestGuardExitsInternal$")
	cmd.Env = append(os.Environ(), "CRASH_TEST_CHILD=1")
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != ExitInternal {
		t.Fatalf("exit %v, want %d; output:\n%s", err, ExitInternal, out)
	}
	if !strings.Contains(string(out), "orchard: internal error: runtime error: index out of range") || !strings.Contains(string(out), "crash_test.go") {
		t.Errorf("message lacks the panic or its stack:\n%s", out)
	}
}
