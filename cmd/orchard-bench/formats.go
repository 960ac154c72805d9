package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"

	"github.com/klauspost/compress/zstd"
)

// The same capture in the other input formats orchard reads, for their
// rows: pcapng as Wireshark writes it, and zstd.

// pcapngFile converts src to pcapng with editcap (Wireshark's), or returns
// an error when editcap is not installed. editcap's output is then copied
// in large writes, as the pcap was written: the page cache keeps a file
// written in small writes in small pages, which a mapped reader walks up
// to twice as slowly (measured: the same pcap rewritten by editcap -F pcap
// reads 3x slower mapped until copied), and that would be the writer's
// cost, not the format's.
func pcapngFile(src, dst string) error {
	if _, err := exec.LookPath("editcap"); err != nil {
		return fmt.Errorf("editcap not installed")
	}
	tmp := dst + ".editcap"
	defer os.Remove(tmp)
	out, err := exec.Command("editcap", "-F", "pcapng", src, tmp).CombinedOutput()
	if err != nil {
		return fmt.Errorf("editcap -F pcapng: %w: %s", err, out)
	}
	in, err := os.Open(tmp)
	if err != nil {
		return err
	}
	defer in.Close()
	w, err := os.Create(dst)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	if _, err := io.Copy(bw, in); err != nil {
		w.Close()
		return fmt.Errorf("copy %s: %w", tmp, err)
	}
	if err := bw.Flush(); err != nil {
		w.Close()
		return fmt.Errorf("copy %s: %w", tmp, err)
	}
	return w.Close()
}

// zstdFile compresses src to dst at zstd's default level (3).
func zstdFile(src, dst string) error {
	return compressFile(src, dst, "zstd", func(w io.Writer) (io.WriteCloser, error) {
		return zstd.NewWriter(w, zstd.WithEncoderLevel(zstd.SpeedDefault))
	})
}

// targets are the ratios issue 18 sets, between rows of one run.
var targets = []struct {
	what, num, den string
	max            float64 // num/den at most this
}{
	{"pcapng / pcap, 1 worker", "orchard, 1 worker, pcapng", "orchard, 1 worker", 1.15},
	{"zstd / pcap, 1 worker", "orchard, 1 worker, zstd", "orchard, 1 worker", 2},
	{"zstd / gzip, 1 worker", "orchard, 1 worker, zstd", "orchard, 1 worker, gzip", 1.0 / 3},
}

// printTargets prints each target's ratio in this run, then each stress
// row's rate against its target.
func printTargets(w io.Writer, tools []*tool) {
	byName := map[string]*tool{}
	for _, t := range tools {
		if t.err == nil {
			byName[t.name] = t
		}
	}
	for _, g := range targets {
		n, d := byName[g.num], byName[g.den]
		if n == nil || d == nil {
			continue
		}
		r := n.result.wall.Seconds() / d.result.wall.Seconds()
		verdict := "met"
		if r > g.max {
			verdict = "NOT met"
		}
		fmt.Fprintf(w, "%s: %.2f× (target ≤ %.2f×: %s)\n", g.what, r, g.max, verdict)
	}
	for _, t := range tools {
		if t.err != nil || t.target <= 0 {
			continue
		}
		rate := float64(t.packets/t.per) / t.result.wall.Seconds()
		verdict := "met"
		if rate < t.target {
			verdict = "NOT met"
		}
		fmt.Fprintf(w, "%s: %s %s/s, fastest of %d runs (target ≥ %s: %s)\n", t.name, humanRate(rate), t.unit, t.result.runs, humanRate(t.target), verdict)
	}
}
