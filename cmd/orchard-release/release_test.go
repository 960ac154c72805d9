package main

import (
	"bufio"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"orchard/catalog"
)

func TestParsePlatforms(t *testing.T) {
	all, err := parsePlatforms("")
	if err != nil || len(all) != len(releasePlatforms()) {
		t.Fatalf("default: %v %v", all, err)
	}
	for _, c := range []struct {
		in   string
		want string // platforms joined by spaces, or "error"
	}{
		{"linux/amd64", "linux/amd64"},
		{" darwin/arm64 , windows/amd64,darwin/arm64", "darwin/arm64 windows/amd64"},
		{"linux", "error"},
		{"linux/amd64,", "error"},
		{"Linux/AMD64", "error"},
		{"linux/amd64 -o x", "error"},
	} {
		ps, err := parsePlatforms(c.in)
		got := "error"
		if err == nil {
			var s []string
			for _, p := range ps {
				s = append(s, p.String())
			}
			got = strings.Join(s, " ")
		}
		if got != c.want {
			t.Errorf("%q: %q, want %q", c.in, got, c.want)
		}
	}
}

// Values that would split the linker's flags are refused before anything
// is built.
func TestReleaseRefusesBadValues(t *testing.T) {
	good := options{Out: t.TempDir(), Version: "v1.0.0", Commit: "abc", Edition: "2025+0123", Platforms: releasePlatforms()}
	for name, mod := range map[string]func(*options){
		"space in version": func(o *options) { o.Version = "v1 -X main.commit=evil" },
		"quote in commit":  func(o *options) { o.Commit = `abc"` },
		"empty edition":    func(o *options) { o.Edition = "" },
		"no platforms":     func(o *options) { o.Platforms = nil },
	} {
		o := good
		mod(&o)
		if _, err := release(t.Context(), o, os.Stderr); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// The release command builds this platform's binary: it runs, prints the
// embedded version, commit and catalog edition, is static where that can
// be checked (ELF: no interpreter), and SHA256SUMS lists it with its hash.
func TestReleaseHostBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds orchard")
	}
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command")
	}
	root, err := moduleRoot(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	host := platform{runtime.GOOS, runtime.GOARCH}
	o := options{Dir: root, Out: t.TempDir(), Version: "v0.0.0-test.1", Commit: "0123456789abcdef", Edition: catalog.Edition(), Platforms: []platform{host}}
	var log strings.Builder
	arts, err := release(t.Context(), o, &log)
	if err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	if len(arts) != 1 || arts[0].Name != fileName(o.Version, host) || arts[0].Size < 1<<20 {
		t.Fatalf("artifacts %+v", arts)
	}
	bin := filepath.Join(o.Out, arts[0].Name)

	want := "orchard v0.0.0-test.1\ncommit  0123456789abcdef\ncatalog " + o.Edition + "\ngo      " + runtime.Version() + " " + host.String() + "\n"
	for _, arg := range []string{"version", "--version"} {
		out, err := exec.CommandContext(t.Context(), bin, arg).CombinedOutput()
		if err != nil || string(out) != want {
			t.Errorf("%s %s: %v\n%s\nwant\n%s", arts[0].Name, arg, err, out, want)
		}
	}

	if f, err := elf.Open(bin); err == nil {
		for _, p := range f.Progs {
			if p.Type == elf.PT_INTERP {
				t.Errorf("%s has a dynamic loader: not static", arts[0].Name)
			}
		}
		f.Close()
	}

	sums, err := os.Open(filepath.Join(o.Out, sumsFile))
	if err != nil {
		t.Fatal(err)
	}
	defer sums.Close()
	sc := bufio.NewScanner(sums)
	var lines []string
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if len(lines) != 1 || lines[0] != arts[0].SHA256+"  "+arts[0].Name {
		t.Errorf("%s: %q", sumsFile, lines)
	}
	if got, err := hashFile(bin); err != nil || got.SHA256 != arts[0].SHA256 {
		t.Errorf("hash of the file %v %v, listed %s", got.SHA256, err, arts[0].SHA256)
	}
	if _, err := exec.LookPath("sha256sum"); err == nil {
		cmd := exec.CommandContext(t.Context(), "sha256sum", "-c", sumsFile)
		cmd.Dir = o.Out
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("sha256sum -c: %v\n%s", err, out)
		}
	}
}
