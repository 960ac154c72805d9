package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"

	"github.com/spf13/pflag"

	"orchard/catalog"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet("orchard-release", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	var plats string
	list := fs.Bool("list", false, "print the release platforms, one GOOS/GOARCH a line, and exit")
	fs.StringVarP(&o.Out, "output", "o", "dist", "folder the binaries and SHA256SUMS are written to")
	fs.StringVar(&o.Version, "version", "", "version to embed and name the files with (default: git describe)")
	fs.StringVar(&o.Commit, "commit", "", "commit to embed (default: the work tree's HEAD)")
	fs.StringVar(&o.Edition, "catalog-edition", catalog.Edition(), "catalog edition to embed")
	fs.StringVar(&plats, "platforms", "", "comma-separated GOOS/GOARCH list (default: every release platform)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *list {
		for _, p := range releasePlatforms() {
			fmt.Fprintln(stdout, p)
		}
		return 0
	}
	var err error
	if o.Platforms, err = parsePlatforms(plats); err != nil {
		fmt.Fprintf(stderr, "orchard-release: %v\n", err)
		return 2
	}
	if o.Dir, err = moduleRoot(ctx); err == nil {
		err = gitDefaults(ctx, &o)
	}
	if err != nil {
		fmt.Fprintf(stderr, "orchard-release: %v\n", err)
		return 1
	}
	arts, err := release(ctx, o, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "orchard-release: %v\n", err)
		return 1
	}
	for _, a := range arts {
		fmt.Fprintf(stdout, "%-52s %5.1f MB  %s\n", filepath.Join(o.Out, a.Name), float64(a.Size)/1e6, a.Platform)
	}
	fmt.Fprintf(stdout, "%s\n", filepath.Join(o.Out, sumsFile))
	return 0
}
