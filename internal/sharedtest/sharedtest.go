package sharedtest

import (
	"os"
	"path/filepath"
	"testing"
)

// Dir returns the path of the shared folder (holding pcaps/, seeds/ and bench/),
// found by ORCHARD_SHARED or by walking up from the working directory; it
// skips the test when there is none.
func Dir(t testing.TB) string {
	t.Helper()
	if d := find(); d != "" {
		return d
	}
	t.Skip("shared corpus not found (set ORCHARD_SHARED or place shared/ beside the repository)")
	return ""
}

// Path returns the path of a file below the shared folder, skipping the test
// when the folder or the file is absent.
func Path(t testing.TB, rel string) string {
	t.Helper()
	p := filepath.Join(Dir(t), rel)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("shared file %s not found", rel)
	}
	return p
}

// Pcaps returns the paths of every capture in shared/pcaps, skipping the test
// when the folder is absent.
func Pcaps(t testing.TB) []string {
	t.Helper()
	dir := filepath.Join(Dir(t), "pcaps")
	var out []string
	for _, pat := range []string{"*.pcap", "*.pcapng"} {
		m, _ := filepath.Glob(filepath.Join(dir, pat))
		out = append(out, m...)
	}
	if len(out) == 0 {
		t.Skip("no captures in shared/pcaps")
	}
	return out
}

func find() string {
	if d := os.Getenv("ORCHARD_SHARED"); d != "" {
		if ok(d) {
			return d
		}
		return ""
	}
	wd, err := os.Getwd()
	if err != nil {
		return ""
	}
	for d := wd; ; d = filepath.Dir(d) {
		if c := filepath.Join(d, "shared"); ok(c) {
			return c
		}
		if c := filepath.Join(d, "..", "shared"); ok(c) {
			return filepath.Clean(c)
		}
		if filepath.Dir(d) == d {
			return ""
		}
	}
}

func ok(d string) bool {
	st, err := os.Stat(filepath.Join(d, "pcaps"))
	return err == nil && st.IsDir()
}

// Optional returns the path of a file below the shared folder, or "" when
// the folder or the file is absent: for tests that use it when they can.
func Optional(rel string) string {
	d := find()
	if d == "" {
		return ""
	}
	p := filepath.Join(d, rel)
	if _, err := os.Stat(p); err != nil {
		return ""
	}
	return p
}
