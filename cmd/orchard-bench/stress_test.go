package main

import "testing"

func TestUnitRate(t *testing.T) {
	for _, c := range []struct {
		rate, target float64
		want         string
	}{
		{310_000, 1e6, "310 k responses/s, 0.31× the 1.00 M target"},
		{1.2e6, 1e6, "1.20 M responses/s, meets the 1.00 M target"},
		{1e6, 1e6, "1.00 M responses/s, meets the 1.00 M target"},
		{500, 0, "500 responses/s"},
	} {
		if got := unitRate(c.rate, "responses", c.target); got != c.want {
			t.Errorf("unitRate(%v, %v) = %q, want %q", c.rate, c.target, got, c.want)
		}
	}
}
