// Command gen writes orchard's demo capture: one iPad on a school network
// whose firewall, proxy and TLS inspection break several Apple services.
// Every byte comes from this program: TLS handshakes are real ones between
// crypto/tls peers, wrapped into TCP segments.
//
//	go run ./testdata/gen -o testdata/demo-ipad.pcap
package main

import (
	"flag"
	"fmt"
	"orchard/internal/demo"
	"os"
)

func main() {
	out := flag.String("o", "testdata/demo-ipad.pcap", "output capture")
	flag.Parse()
	b, err := demo.Capture()
	if err != nil {
		fmt.Fprintf(os.Stderr, "gen: %v\n", err)
		os.Exit(1)
	}
	if err := os.WriteFile(*out, b, 0o644); err != nil {
		fmt.Fprintf(os.Stderr, "gen: %v\n", err)
		os.Exit(1)
	}
}
