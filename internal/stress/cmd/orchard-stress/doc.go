// Command orchard-stress writes one of orchard's stress inputs (see
// package stress) to a file or stdout, streaming, at any size:
//
//	go run ./internal/stress/cmd/orchard-stress -kind syn -n 5000000 -o syn.pcap
//	go run ./internal/stress/cmd/orchard-stress -kind ng-idb -gzip -o idb.pcapng.gz
//	go run ./internal/stress/cmd/orchard-stress -list
//
// Nothing may import it; it builds on package stress only.
package main
