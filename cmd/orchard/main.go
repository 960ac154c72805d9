// Command orchard analyses packet captures and live traffic of Apple devices
// and reports which Apple services the network blocks, resets or intercepts.
package main

import (
	"fmt"
	"os"

	"github.com/spf13/pflag"
)

func main() {
	fs := pflag.NewFlagSet("orchard", pflag.ContinueOnError)
	if err := fs.Parse(os.Args[1:]); err != nil {
		os.Exit(1)
	}
	fmt.Fprintln(os.Stderr, "orchard: analysis pipeline not built yet")
	os.Exit(1)
}
