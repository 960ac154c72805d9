// Command orchard analyses packet captures and live traffic of Apple devices
// and reports which Apple services the network blocks, resets or intercepts.
package main

import (
	"context"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// Exit statuses scripts can rely on.
const (
	exitOK       = 0
	exitInput    = 1 // usage error or unreadable input
	exitUsage    = 2 // bad flags
	exitFindings = 3 // findings at or above --fail-on
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

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
		}
	}
	return runAnalyze(ctx, args, stdin, stdout, stderr)
}
