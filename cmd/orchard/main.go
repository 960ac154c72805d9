package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"orchard/internal/crash"
)

// Exit statuses scripts can rely on. When several apply, the first in this
// order wins: exitUsage (nothing was run), exitInternal, an interruption
// (128 + the signal's number), exitInput, exitFindings, exitOK.
const (
	exitOK       = 0
	exitInput    = 1 // an input could not be read, or an output not written
	exitUsage    = 2 // bad flags or arguments
	exitFindings = 3 // findings at or above --fail-on
	exitInternal = crash.ExitInternal
	exitSIGINT   = 128 + int(syscall.SIGINT)  // 130: interrupted by Ctrl-C
	exitSIGTERM  = 128 + int(syscall.SIGTERM) // 143: interrupted by SIGTERM
)

func main() {
	defer crash.Guard()
	ctx, cancel := context.WithCancelCause(context.Background())
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go stopOnSignals(sigs, cancel, os.Stderr)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	os.Exit(code)
}

// interrupted is the cause of the context's cancellation by a signal.
type interrupted struct{ sig os.Signal }

func (i interrupted) Error() string { return "interrupted by " + signalName(i.sig) }

// exitCode is the conventional status of a process stopped by the signal.
func (i interrupted) exitCode() int {
	if i.sig == syscall.SIGTERM {
		return exitSIGTERM
	}
	return exitSIGINT
}

func signalName(s os.Signal) string {
	if s == syscall.SIGTERM {
		return "SIGTERM"
	}
	return "SIGINT"
}

// stopOnSignals cancels the run at the first signal, so it stops reading
// and prints what it has, and exits at once at the second.
func stopOnSignals(sigs <-chan os.Signal, cancel context.CancelCauseFunc, stderr io.Writer) {
	defer crash.Guard()
	s := <-sigs
	cancel(interrupted{s})
	s = <-sigs
	fmt.Fprintf(stderr, "\norchard: %s again: exiting at once, no report\n", signalName(s))
	os.Exit(interrupted{s}.exitCode())
}

// interruption returns the signal that cancelled ctx, if one did.
func interruption(ctx context.Context) (interrupted, bool) {
	i, ok := context.Cause(ctx).(interrupted)
	return i, ok
}

//go:generate sh -c "go run . manpage > ../../orchard.1"

// run dispatches to a subcommand and returns the exit status.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case "catalog":
			return runCatalog(args[1:], stdout, stderr)
		case "fleet":
			return runFleet(ctx, args[1:], stdout, stderr)
		case "version":
			return runVersion(stdout)
		case "help":
			return runHelp(args[1:], stdout, stderr)
		case "completion":
			return runCompletion(args[1:], stdout, stderr)
		case "manpage": // for go generate: the man page, orchard.1
			writeManPage(stdout)
			return exitOK
		}
	}
	return runAnalyze(ctx, args, stdin, stdout, stderr)
}
