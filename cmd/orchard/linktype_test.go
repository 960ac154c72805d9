package main

import (
	"testing"

	"github.com/gopacket/gopacket/layers"
)

func TestFileLinkType(t *testing.T) {
	for _, c := range []struct {
		goos      string
		dlt, want layers.LinkType
	}{
		{"darwin", 149, 258}, // PKTAP on rvi0
		{"ios", 149, 258},    // PKTAP
		{"linux", 149, 149},  // DLT_USER2 is PKTAP only on Apple's systems
		{"darwin", 1, 1},     // Ethernet on en0
		{"darwin", 0, 0},     // NULL on utun0 and lo0
		{"linux", 12, 101},   // raw IP on a tun interface
		{"freebsd", 12, 101}, // raw IP
		{"openbsd", 14, 101}, // raw IP, OpenBSD's number
		{"openbsd", 12, 108}, // loopback, OpenBSD's number
		{"linux", 14, 14},    // 14 is raw IP only on OpenBSD
		{"linux", 276, 276},  // SLL2 (tcpdump -i any)
		{"darwin", 258, 258}, // already a file's number
		{"netbsd", layers.LinkTypeRaw, 101},
	} {
		if got := fileLinkType(c.goos, c.dlt); got != c.want {
			t.Errorf("%s DLT %d: %d, want %d", c.goos, c.dlt, got, c.want)
		}
	}
}
