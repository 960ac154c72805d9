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
