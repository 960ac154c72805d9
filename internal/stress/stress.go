package stress

import (
	"bufio"
	"fmt"
	"io"
	"sort"
	"time"
)

// Start is the capture time of every input's first packet.
var Start = time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC)

// Spec says what to write: N is the count the kind is measured in (SYNs,
// QUIC Initials, DNS responses, flows, blocks or records); Bytes, for the
// kinds that take it, is the size to stop at.
type Spec struct {
	N     int
	Bytes int64
}

// Kind is one stress input.
type Kind struct {
	Name  string
	Usage string
	// DefaultN is the full size the README's figures use.
	DefaultN     int
	DefaultBytes int64
	write        func(w *bufio.Writer, s Spec) error
}

var kinds = map[string]Kind{
	"syn":      {"syn", "N unique TCP SYNs (a SYN flood: every SYN a new flow, none answered)", 5_000_000, 0, writeSYN},
	"quic":     {"quic", "N single QUIC v1 Initials, each a new flow with a ClientHello", 600_000, 0, writeQUIC},
	"dns":      {"dns", "N DNS queries and their responses of 20 answers (a CNAME and 19 addresses)", 1_000_000, 0, writeDNS},
	"long":     {"long", "N long-lived TLS flows, then rounds of data on every flow until Bytes", 200_000, 0, writeLong},
	"big":      {"big", "long-lived TLS flows (N of them) filling Bytes (default 2.5 GB)", 20_000, 2_500_000_000, writeLong},
	"ng-skip":  {"ng-skip", "pcapng: N (≥ 4096) non-packet blocks, then an Enhanced Packet Block of Bytes", 5000, 300 << 20, writeNGSkip},
	"ng-big":   {"ng-big", "pcapng: one non-packet block over 1 MiB, then an Enhanced Packet Block of Bytes", 1, 300 << 20, writeNGBigBlock},
	"ng-idb":   {"ng-idb", "pcapng: N interface description blocks, then a packet", 4_000_000, 0, writeNGIDB},
	"ng-names": {"ng-names", "pcapng: N name-resolution records, then a packet", 8_000_000, 0, writeNGNames},
}

// Kinds returns every input kind, by name.
func Kinds() []Kind {
	out := make([]Kind, 0, len(kinds))
	for _, k := range kinds {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Lookup returns the kind called name.
func Lookup(name string) (Kind, bool) {
	k, ok := kinds[name]
	return k, ok
}

// Write streams the input of kind name described by s to w. N and Bytes
// default to the kind's full size when zero.
func Write(w io.Writer, name string, s Spec) error {
	k, ok := kinds[name]
	if !ok {
		return fmt.Errorf("stress: unknown kind %q", name)
	}
	if s.N <= 0 {
		s.N = k.DefaultN
	}
	if s.Bytes <= 0 {
		s.Bytes = k.DefaultBytes
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	if err := k.write(bw, s); err != nil {
		return fmt.Errorf("stress: %s: %w", name, err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("stress: %s: %w", name, err)
	}
	return nil
}
