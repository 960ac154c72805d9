package main

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
)

// moduleRoot is the folder of the go.mod the release builds from.
func moduleRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == "/dev/null" || mod == "NUL" {
		return "", fmt.Errorf("not inside the orchard module (run from the repository)")
	}
	return filepath.Dir(mod), nil
}

// gitDefaults fills the version and commit the flags left empty from the
// work tree in o.Dir.
func gitDefaults(ctx context.Context, o *options) error {
	git := func(args ...string) (string, error) {
		cmd := exec.CommandContext(ctx, "git", args...)
		cmd.Dir = o.Dir
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			return "", fmt.Errorf("git %s: %v %s (or pass --version and --commit)", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
		}
		return strings.TrimSpace(string(out)), nil
	}
	if o.Version == "" {
		v, err := git("describe", "--tags", "--always", "--dirty")
		if err != nil {
			return err
		}
		o.Version = v
	}
	if o.Commit == "" {
		c, err := git("rev-parse", "HEAD")
		if err != nil {
			return err
		}
		st, err := git("status", "--porcelain", "--untracked-files=no")
		if err != nil {
			return err
		}
		if st != "" {
			c += "-dirty"
		}
		o.Commit = c
	}
	return nil
}
