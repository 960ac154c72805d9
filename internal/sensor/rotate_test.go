package sensor

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func readLines(t *testing.T, name string) []string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		if os.IsNotExist(err) {
			return nil
		}
		t.Fatal(err)
	}
	s := strings.TrimSuffix(string(b), "\n")
	if s == "" {
		return nil
	}
	if !strings.HasSuffix(string(b), "\n") {
		t.Errorf("%s ends inside a line: %q", name, b)
	}
	return strings.Split(s, "\n")
}

func TestRotatingFile(t *testing.T) {
	type write struct {
		at   time.Duration
		data string
	}
	for _, tc := range []struct {
		name    string
		size    int64
		age     time.Duration
		keep    int
		reopen  int // Reopen before this write (index), or -1
		writes  []write
		want    map[string][]string // file suffix → lines
		rotated int
	}{
		{
			name: "by size, between lines", size: 10, keep: 3, reopen: -1,
			writes: []write{{0, "aaaa\n"}, {0, "bbbb\n"}, {0, "cccc\ndd"}, {0, "dd\n"}},
			// "cccc\ndd" would pass 10 bytes: the file turns before it
			want:    map[string][]string{"": {"cccc", "dddd"}, ".1": {"aaaa", "bbbb"}, ".2": nil},
			rotated: 1,
		},
		{
			name: "a write without a newline waits for one", size: 4, keep: 2, reopen: -1,
			writes:  []write{{0, "aaaaaa"}, {0, "aa\n"}, {0, "b\n"}},
			want:    map[string][]string{"": {"b"}, ".1": {"aaaaaaaa"}},
			rotated: 1,
		},
		{
			name: "keeps only Keep", size: 2, keep: 1, reopen: -1,
			writes:  []write{{0, "a\n"}, {0, "b\n"}, {0, "c\n"}},
			want:    map[string][]string{"": {"c"}, ".1": {"b"}, ".2": nil},
			rotated: 2,
		},
		{
			name: "by age", age: time.Hour, keep: 2, reopen: -1,
			writes:  []write{{0, "a\n"}, {30 * time.Minute, "b\n"}, {61 * time.Minute, "c\n"}, {90 * time.Minute, "d\n"}},
			want:    map[string][]string{"": {"c", "d"}, ".1": {"a", "b"}},
			rotated: 1,
		},
		{
			name: "reopen after logrotate moved it", keep: 2, reopen: 1,
			writes: []write{{0, "a\n"}, {0, "b\n"}, {0, "c\n"}},
			// the test moves the file to .old before the Reopen
			want:    map[string][]string{"": {"b", "c"}, ".old": {"a"}, ".1": nil},
			rotated: 0,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			name := filepath.Join(t.TempDir(), "events.ndjson")
			r, err := OpenRotating(name, tc.size, tc.age, tc.keep)
			if err != nil {
				t.Fatal(err)
			}
			base := time.Now()
			now := base
			r.Now = func() time.Time { return now }
			r.opened = base
			for i, w := range tc.writes {
				now = base.Add(w.at)
				if i == tc.reopen {
					if err := os.Rename(name, name+".old"); err != nil {
						t.Fatal(err)
					}
					r.Reopen()
				}
				if n, err := r.Write([]byte(w.data)); err != nil || n != len(w.data) {
					t.Fatalf("write %d: %d, %v", i, n, err)
				}
			}
			if err := r.Close(); err != nil {
				t.Fatal(err)
			}
			for suffix, want := range tc.want {
				if got := readLines(t, name+suffix); strings.Join(got, ",") != strings.Join(want, ",") {
					t.Errorf("%s: %q, want %q", "events.ndjson"+suffix, got, want)
				}
			}
			if r.Rotations() != tc.rotated {
				t.Errorf("rotated %d times, want %d", r.Rotations(), tc.rotated)
			}
		})
	}
}
