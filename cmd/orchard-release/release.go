package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// sumsFile lists every binary's SHA-256, in sha256sum's format.
const sumsFile = "SHA256SUMS"

// platform is a GOOS/GOARCH pair.
type platform struct{ OS, Arch string }

func (p platform) String() string { return p.OS + "/" + p.Arch }

// releasePlatforms are the platforms a release is built for and CI builds
// and vets on every run.
func releasePlatforms() []platform {
	return []platform{
		{"linux", "amd64"}, {"linux", "arm64"},
		{"darwin", "arm64"}, {"darwin", "amd64"},
		{"windows", "amd64"},
		{"freebsd", "amd64"}, {"openbsd", "amd64"}, {"netbsd", "amd64"},
	}
}

// parsePlatforms reads a comma-separated GOOS/GOARCH list; empty means
// every release platform.
func parsePlatforms(s string) ([]platform, error) {
	if strings.TrimSpace(s) == "" {
		return releasePlatforms(), nil
	}
	var out []platform
	for _, f := range strings.Split(s, ",") {
		goos, goarch, ok := strings.Cut(strings.TrimSpace(f), "/")
		if !ok || !isWord(goos) || !isWord(goarch) {
			return nil, fmt.Errorf("--platforms: %q is not GOOS/GOARCH", f)
		}
		p := platform{goos, goarch}
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out, nil
}

var wordRE = regexp.MustCompile(`^[a-z0-9]+$`)

func isWord(s string) bool { return wordRE.MatchString(s) }

// options say what to build where.
type options struct {
	Dir       string // the module root
	Out       string // the folder to write to
	Version   string
	Commit    string
	Edition   string
	Platforms []platform
}

// artifact is one binary written.
type artifact struct {
	Platform platform
	Name     string // file name in the output folder
	Size     int64
	SHA256   string
}

// embedRE is what a value passed through -ldflags -X may hold: no spaces
// or quotes, which the linker's flag parsing would split on.
var embedRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._+:~-]*$`)

// fileName is the binary's name for p.
func fileName(version string, p platform) string {
	name := "orchard-" + version + "-" + p.OS + "-" + p.Arch
	if p.OS == "windows" {
		name += ".exe"
	}
	return name
}

// release builds ./cmd/orchard for every platform of o, without cgo,
// into o.Out, and writes SHA256SUMS for them. Build output goes to log.
func release(ctx context.Context, o options, log io.Writer) ([]artifact, error) {
	for _, v := range []struct{ name, val string }{{"version", o.Version}, {"commit", o.Commit}, {"catalog edition", o.Edition}} {
		if !embedRE.MatchString(v.val) {
			return nil, fmt.Errorf("%s %q: want letters, digits and . _ + : ~ - only", v.name, v.val)
		}
	}
	if len(o.Platforms) == 0 {
		return nil, errors.New("no platforms to build")
	}
	out, err := filepath.Abs(o.Out)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, fmt.Errorf("output folder: %w", err)
	}
	ldflags := fmt.Sprintf("-s -w -X main.version=%s -X main.commit=%s -X main.catalogEdition=%s", o.Version, o.Commit, o.Edition)
	var arts []artifact
	var sums bytes.Buffer
	for _, p := range o.Platforms {
		name := fileName(o.Version, p)
		path := filepath.Join(out, name)
		cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-buildvcs=false", "-ldflags", ldflags, "-o", path, "./cmd/orchard")
		cmd.Dir = o.Dir
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+p.OS, "GOARCH="+p.Arch)
		cmd.Stdout, cmd.Stderr = log, log
		if err := cmd.Run(); err != nil {
			return nil, fmt.Errorf("build for %s: %w", p, err)
		}
		a, err := hashFile(path)
		if err != nil {
			return nil, err
		}
		a.Platform, a.Name = p, name
		arts = append(arts, a)
		fmt.Fprintf(&sums, "%s  %s\n", a.SHA256, name)
	}
	if err := os.WriteFile(filepath.Join(out, sumsFile), sums.Bytes(), 0o644); err != nil {
		return nil, fmt.Errorf("%s: %w", sumsFile, err)
	}
	return arts, nil
}

// hashFile returns the size and SHA-256 of a file.
func hashFile(path string) (artifact, error) {
	f, err := os.Open(path)
	if err != nil {
		return artifact{}, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return artifact{}, fmt.Errorf("%s: %w", path, err)
	}
	return artifact{Size: n, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}
