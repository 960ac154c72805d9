package catalog

import (
	"regexp"
	"testing"
)

func TestNewestEdition(t *testing.T) {
	for _, c := range []struct {
		name string
		eds  [][]string
		want string
	}{
		{"none", nil, "undated"},
		{"undated only", [][]string{{"older"}}, "undated"},
		{"year beats year-month before it", [][]string{{"2023-07", "older"}, {"2025"}, {"2024-11"}}, "2025"},
		{"month of the same year", [][]string{{"2025"}, {"2025-03"}}, "2025-03"},
	} {
		var rows []Entry
		for _, e := range c.eds {
			rows = append(rows, Entry{Editions: e})
		}
		if got := NewestEdition(rows); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}

func TestEditionOfBuiltin(t *testing.T) {
	got := Edition()
	if !regexp.MustCompile(`^20[0-9-]+\+[0-9a-f]{12}$`).MatchString(got) {
		t.Fatalf("Edition() = %q", got)
	}
	rows, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	if want := NewestEdition(rows); got[:len(want)] != want {
		t.Errorf("Edition() = %q, want it to start with %q", got, want)
	}
}
