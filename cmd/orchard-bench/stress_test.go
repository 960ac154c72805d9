package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

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

func TestResultRange(t *testing.T) {
	var r result
	for _, x := range []result{
		{wall: 3 * time.Second, cpu: 2 * time.Second, maxRSS: 10},
		{wall: 2 * time.Second, cpu: 2500 * time.Millisecond, maxRSS: 30},
		{wall: 4 * time.Second, cpu: 1500 * time.Millisecond, maxRSS: 20},
	} {
		r.add(x)
	}
	want := result{wall: 2 * time.Second, cpu: 2500 * time.Millisecond, maxRSS: 30, slowest: 4 * time.Second,
		minCPU: 1500 * time.Millisecond, maxCPU: 2500 * time.Millisecond, runs: 3}
	if r != want {
		t.Errorf("got %+v, want %+v", r, want)
	}
	for _, c := range []struct {
		r    result
		want string
	}{
		{want, "2.00 M SYNs/s, meets the 2.00 M target; runs 1.00 M–2.00 M, 2.67 M per CPU second"},
		{result{wall: 4 * time.Second, slowest: 4 * time.Second, runs: 1}, "1.00 M SYNs/s, 0.50× the 2.00 M target"},
	} {
		if got := stressRate(&c.r, 4_000_000, "SYNs", 2e6); got != c.want {
			t.Errorf("stressRate(%+v) = %q, want %q", c.r, got, c.want)
		}
	}
	if got := secondsRange(2*time.Second, 4*time.Second, 3); got != "2.000 (2.000–4.000)" {
		t.Errorf("secondsRange = %q", got)
	}
	if got := secondsRange(2*time.Second, 2*time.Second, 1); got != "2.000" {
		t.Errorf("secondsRange of one run = %q", got)
	}
}

func TestOnlyRefusesUnknownGroups(t *testing.T) {
	var out, errb bytes.Buffer
	err := run(context.Background(), &options{only: []string{"bogus"}, runs: 1}, &out, &errb)
	if err == nil || !strings.Contains(err.Error(), "--only bogus") {
		t.Errorf("--only bogus: %v", err)
	}
}
