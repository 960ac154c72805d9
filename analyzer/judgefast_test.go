package analyzer

import (
	"strings"
	"testing"
)

func TestContainsFold(t *testing.T) {
	for _, c := range []struct {
		s, sub string
	}{
		{"Apple Push Notification service", "push"},
		{"PUSH", "push"},
		{"pus", "push"},
		{"", "push"},
		{"Software updates", "push"},
		{"xpushy", "push"},
		{"Pu sh", "push"},
		{"anything", ""},
	} {
		want := strings.Contains(strings.ToLower(c.s), c.sub)
		if got := containsFold(c.s, c.sub); got != want {
			t.Errorf("containsFold(%q, %q) = %v, want %v", c.s, c.sub, got, want)
		}
	}
}

func TestHasPort(t *testing.T) {
	list := []string{"tcp/443", "udp/123", "tcp/5223", "tcp/0"}
	for _, c := range []struct {
		proto string
		port  uint16
		want  bool
	}{
		{"tcp", 443, true}, {"udp", 443, false}, {"tcp", 44, false}, {"tcp", 4430, false},
		{"udp", 123, true}, {"tcp", 5223, true}, {"tcp", 0, true}, {"udp", 0, false},
		{"tcp", 65535, false}, {"tc", 443, false},
	} {
		if got := hasPort(list, c.proto, c.port); got != c.want {
			t.Errorf("hasPort(%q, %d) = %v, want %v", c.proto, c.port, got, c.want)
		}
	}
	if hasPort([]string{"tcp/65535"}, "tcp", 65535) != true {
		t.Error("tcp/65535 not found")
	}
}
