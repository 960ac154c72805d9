package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"orchard/shapes"
)

// loadShapes returns the server shapes TLS answers are compared with: the
// embedded baseline of Apple's servers plus the files --shapes names, or
// nil (the embedded baseline alone) when there are none.
func loadShapes(files []string) (*shapes.Baseline, error) {
	if len(files) == 0 {
		return nil, nil
	}
	b := shapes.Default()
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			return nil, fmt.Errorf("--shapes: %w", err)
		}
		o, err := shapes.Parse(f, name)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("--shapes: %w", err)
		}
		b.Merge(o)
	}
	return b, nil
}

// shapeLearner collects the server shapes of a run for --learn-shapes.
// Its file is created before anything is read, so a path that cannot be
// written fails the run at once, and is put in place when the run ends.
type shapeLearner struct {
	b   *shapes.Baseline
	out *outFile
}

// newShapeLearner opens --learn-shapes' file; nil without the flag.
func newShapeLearner(o *options, files []string) (*shapeLearner, error) {
	if o.learnShapes == "" {
		return nil, nil
	}
	if o.learnShapes == "-" {
		return nil, fmt.Errorf("--learn-shapes needs a file (standard output carries the report)")
	}
	out, err := createOutput("--learn-shapes", o.learnShapes)
	if err != nil {
		return nil, err
	}
	b := shapes.New()
	b.Source = learnSource(o, files)
	return &shapeLearner{b: b, out: out}, nil
}

// learnSource names what the shapes are learned from in the file's source
// column: the capture's file name, or the interface.
func learnSource(o *options, files []string) string {
	if o.iface != "" {
		return "live:" + o.iface
	}
	if len(files) == 0 {
		return ""
	}
	s := filepath.Base(files[0])
	if files[0] == "-" {
		s = "stdin"
	}
	if len(files) > 1 {
		s += "+" + strconv.Itoa(len(files)-1)
	}
	return s
}

// finish writes the learned shapes and says how many; an interrupted or
// failed read still writes what it saw.
func (l *shapeLearner) finish(o *options, stderr io.Writer) error {
	if l == nil {
		return nil
	}
	if err := l.b.WriteTSV(l.out); err != nil {
		l.out.Abort()
		return l.out.writeErr(err)
	}
	if err := l.out.Commit(); err != nil {
		return err
	}
	if !o.quiet {
		fmt.Fprintf(stderr, "orchard: the server shapes of %d Apple hosts learned into %s (use it with --shapes)\n", l.b.Hosts(), o.learnShapes)
	}
	return nil
}

// abort removes the unfinished file when the run fails before its end.
func (l *shapeLearner) abort() {
	if l != nil {
		l.out.Abort()
	}
}
