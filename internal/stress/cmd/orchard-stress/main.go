package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/klauspost/compress/gzip"

	"orchard/internal/stress"
)

func main() {
	kind := flag.String("kind", "", "input to write (see -list)")
	n := flag.Int("n", 0, "count (SYNs, Initials, responses, flows, blocks or records); 0: the full size")
	size := flag.String("bytes", "", "size for the kinds that take one (e.g. 2.5G, 300M); empty: the full size")
	out := flag.String("o", "-", "output file; - for stdout")
	gz := flag.Bool("gzip", false, "gzip the output")
	list := flag.Bool("list", false, "list the kinds")
	flag.Parse()
	if *list || *kind == "" {
		for _, k := range stress.Kinds() {
			fmt.Printf("%-9s %s (full size: n=%d", k.Name, k.Usage, k.DefaultN)
			if k.DefaultBytes > 0 {
				fmt.Printf(", bytes=%d", k.DefaultBytes)
			}
			fmt.Println(")")
		}
		if *kind == "" && !*list {
			os.Exit(2)
		}
		return
	}
	if _, ok := stress.Lookup(*kind); !ok {
		fmt.Fprintf(os.Stderr, "orchard-stress: unknown kind %q (see -list)\n", *kind)
		os.Exit(2)
	}
	b, err := parseSize(*size)
	if err != nil {
		fmt.Fprintf(os.Stderr, "orchard-stress: -bytes: %v\n", err)
		os.Exit(2)
	}
	if err := run(*kind, stress.Spec{N: *n, Bytes: b}, *out, *gz); err != nil {
		fmt.Fprintf(os.Stderr, "orchard-stress: %v\n", err)
		os.Exit(1)
	}
}

func run(kind string, s stress.Spec, out string, gz bool) error {
	var w io.Writer = os.Stdout
	var f *os.File
	if out != "-" {
		var err error
		if f, err = os.Create(out); err != nil {
			return err
		}
		w = f
	}
	var zw *gzip.Writer
	if gz {
		zw = gzip.NewWriter(w)
		w = zw
	}
	err := stress.Write(w, kind, s)
	if zw != nil {
		if cerr := zw.Close(); err == nil {
			err = cerr
		}
	}
	if f != nil {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		return fmt.Errorf("%s: %w", out, err)
	}
	return nil
}

// parseSize reads a byte count with an optional K, M or G (powers of 1000).
func parseSize(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	mult := 1.0
	switch strings.ToUpper(s[len(s)-1:]) {
	case "K":
		mult = 1e3
	case "M":
		mult = 1e6
	case "G":
		mult = 1e9
	}
	if mult != 1 {
		s = s[:len(s)-1]
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("bad size %q", s)
	}
	return int64(v * mult), nil
}
