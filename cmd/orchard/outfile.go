package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// outFile is one output file (-o, --events, --write-evidence). A regular
// file (or a new one) is written to a temporary file beside it and renamed
// into place by Commit, so a failed or interrupted run leaves the old file
// as it was; anything else (/dev/full, a FIFO, a terminal) is written
// directly. Every write, flush and close error reaches the caller.
type outFile struct {
	flag   string // "-o", "--events", ...: for messages
	name   string // as given
	target string // the file to replace (symlinks resolved)
	tmp    string // "" when written directly
	f      *os.File
}

// createOutput opens an output for writing.
func createOutput(flag, name string) (*outFile, error) {
	o := &outFile{flag: flag, name: name, target: name}
	if st, err := os.Stat(name); err == nil && !st.Mode().IsRegular() {
		if st.IsDir() {
			return nil, fmt.Errorf("%s %s: is a directory", flag, name)
		}
		f, err := os.OpenFile(name, os.O_WRONLY, 0)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", flag, err)
		}
		o.f = f
		return o, nil
	}
	if t, err := filepath.EvalSymlinks(name); err == nil {
		o.target = t
	}
	dir, base := filepath.Split(o.target)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".*.tmp")
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", flag, name, unwrapPath(err))
	}
	o.f, o.tmp = f, f.Name()
	return o, nil
}

// unwrapPath drops the temporary file's name from an error about it.
func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// Write writes to the file.
func (o *outFile) Write(p []byte) (int, error) { return o.f.Write(p) }

// Commit closes the file and, for a regular file, renames it into place
// with the permissions a new file gets (or the old file had).
func (o *outFile) Commit() error {
	if o.tmp == "" {
		if err := o.f.Close(); err != nil {
			return fmt.Errorf("%s %s: %w", o.flag, o.name, unwrapPath(err))
		}
		return nil
	}
	mode := os.FileMode(0o644)
	if st, err := os.Stat(o.target); err == nil {
		mode = st.Mode().Perm()
	}
	err := o.f.Chmod(mode)
	if e := o.f.Close(); err == nil {
		err = e
	}
	if err == nil {
		err = os.Rename(o.tmp, o.target)
	}
	if err != nil {
		_ = os.Remove(o.tmp)
		return fmt.Errorf("%s %s: %w", o.flag, o.name, unwrapPath(err))
	}
	return nil
}

// Abort closes the file and removes the temporary file: the target is left
// as it was.
func (o *outFile) Abort() {
	_ = o.f.Close()
	if o.tmp != "" {
		_ = os.Remove(o.tmp)
	}
}

// writeErr names the output in a write error.
func (o *outFile) writeErr(err error) error {
	return fmt.Errorf("%s %s: %w", o.flag, o.name, unwrapPath(err))
}

// namedOutput is an output path and the flag that gave it.
type namedOutput struct{ flag, name string }

// checkOutputs refuses outputs that are the same file as an input (through
// symlinks and hard links too) or as another output, before anything is
// opened. stdin is checked when it is a file.
func checkOutputs(outs []namedOutput, inputs []string, stdin io.Reader) error {
	type in struct {
		name string
		st   os.FileInfo
	}
	var ins []in
	for _, name := range inputs {
		if name == "-" {
			if f, ok := stdin.(*os.File); ok {
				if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
					ins = append(ins, in{"standard input", st})
				}
			}
			continue
		}
		if st, err := os.Stat(name); err == nil {
			ins = append(ins, in{name, st})
		}
	}
	seen := map[string]namedOutput{} // resolved path of outputs that do not exist yet
	var outSt []struct {
		o  namedOutput
		st os.FileInfo
	}
	for _, o := range outs {
		if o.name == "" {
			continue
		}
		st, err := os.Stat(o.name)
		if err == nil {
			if !st.Mode().IsRegular() && !st.IsDir() {
				continue // /dev/null, /dev/full, a FIFO: written directly, never replaced
			}
			for _, i := range ins {
				if os.SameFile(st, i.st) {
					return fmt.Errorf("%s %s is the input %s: refusing to overwrite a capture with output", o.flag, o.name, i.name)
				}
			}
			for _, p := range outSt {
				if os.SameFile(st, p.st) {
					return fmt.Errorf("%s %s and %s %s are the same file", p.o.flag, p.o.name, o.flag, o.name)
				}
			}
			outSt = append(outSt, struct {
				o  namedOutput
				st os.FileInfo
			}{o, st})
			continue
		}
		key := resolvedPath(o.name)
		if p, ok := seen[key]; ok {
			return fmt.Errorf("%s %s and %s %s are the same file", p.flag, p.name, o.flag, o.name)
		}
		seen[key] = o
	}
	return nil
}

// resolvedPath is the absolute path of a file that may not exist yet, with
// the symlinks of its directory resolved.
func resolvedPath(name string) string {
	dir, base := filepath.Split(name)
	if dir == "" {
		dir = "."
	}
	if d, err := filepath.EvalSymlinks(dir); err == nil {
		dir = d
	}
	if d, err := filepath.Abs(dir); err == nil {
		dir = d
	}
	return filepath.Join(dir, base)
}
