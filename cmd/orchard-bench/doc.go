// Command orchard-bench times orchard against tshark, ndpiReader and
// tcpdump on one large mixed capture, in the same run, on the same file.
//
// It builds the capture (at least --packets packets) by replicating the
// shared bench mix (shared/bench/ndpi-mix.pcap.gz) with shifted times into
// a temporary directory, plus a gzip'd and a zstd copy and a pcapng one
// (editcap -F pcapng, when Wireshark's editcap is installed); builds orchard from the
// repository it runs in (or uses --orchard); runs every tool --runs times,
// in rounds, keeping the fastest wall time, the range of wall and CPU times
// over the runs and the largest peak RSS; and prints a Markdown table, then
// the ratios the input formats are held to (pcapng and zstd against plain
// pcap, zstd against gzip) and the stress rows' rates against their
// targets (DNS responses and unique SYNs a second on one worker, from the
// fastest run, with the range over the runs and the rate per CPU second).
//
//	go run ./cmd/orchard-bench                      # from the repository root
//	go run ./cmd/orchard-bench --packets 2000000 --runs 5
//	go run ./cmd/orchard-bench --only stress --runs 5 --orchard ./orchard
//
// --only picks groups of rows (pcap, gzip, pcapng, zstd, stress); the
// stress rows alone need no bench mix and build no copy of it.
//
// Tools that are not installed are skipped. Nothing is written into the
// repository.
//
// It times the built binary as a user runs it: it must never import the
// analyzer. Nothing may import it.
package main
