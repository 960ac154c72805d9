// Command orchard analyses packet captures and live traffic of Apple devices
// and reports which Apple services the network blocks, resets or intercepts.
//
// It is the user interface: flags and help, output files, the terminal
// layout, live capture and signals. Nothing may import it; it must never
// import the test tools (internal/capgen, internal/demo, internal/stress,
// internal/lab).
package main
