package main

import "testing"

func TestParseBytes(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"300MiB", 300 << 20, true},
		{"1GiB", 1 << 30, true},
		{"512M", 512 << 20, true},
		{"64k", 64 << 10, true},
		{"1000000", 1000000, true},
		{"2GB", 2 << 30, true},
		{"", 0, false},
		{"MiB", 0, false},
		{"-5M", 0, false},
		{"12xx", 0, false},
		{"99999999999G", 0, false},
	} {
		got, err := parseBytes(c.in)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("parseBytes(%q) = %d, %v; want %d (ok %v)", c.in, got, err, c.want, c.ok)
		}
	}
}
