package analyzer

import (
	"fmt"
	"net/netip"
	"slices"
	"testing"

	"orchard/flow"
)

// TestHostStatLists tallies flows of many ports, protocols and servers
// under hosts named by SNI and by address, and checks each host's ports
// and servers against lists built from their strings (each once, in the
// order first seen, capped).
func TestHostStatLists(t *testing.T) {
	e, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	j := e.judge
	type lists struct{ ports, servers []string }
	want := map[string]*lists{}
	for i := 0; i < 3000; i++ {
		proto := []uint8{6, 17, 47, 50, 1, 58}[i%6]
		port := []uint16{443, 5223, 80, 0, 443}[i%5]
		server := netip.AddrFrom4([4]byte{17, 253, 0, byte(i % 23)})
		if i%7 == 0 {
			server = netip.AddrFrom16(server.As16()) // mapped: printed alike
		}
		f := &flow.Flow{Proto: proto, Server: server, SPort: port}
		at := attribution{host: "gs.apple.com", source: SourceSNI, port: port}
		if i%3 == 0 {
			at.host, at.source = addrString(server), SourceIP
		}
		j.hostStat(f, &at, verdict{})
		w := want[at.host]
		if w == nil {
			w = &lists{}
			want[at.host] = w
		}
		if p := fmt.Sprintf("%s/%d", protoName(proto), port); len(w.ports) < maxHostPorts && !slices.Contains(w.ports, p) {
			w.ports = append(w.ports, p)
		}
		if s := addrString(server); len(w.servers) < maxHostServers && !slices.Contains(w.servers, s) {
			w.servers = append(w.servers, s)
		}
	}
	if len(j.hostOrder) != len(want) {
		t.Fatalf("%d hosts, want %d", len(j.hostOrder), len(want))
	}
	for _, h := range j.hostOrder {
		w := want[h.Host]
		if !slices.Equal(h.Ports, w.ports) || !slices.Equal(h.Servers, w.servers) {
			t.Errorf("%s: ports %q servers %q, want %q %q", h.Host, h.Ports, h.Servers, w.ports, w.servers)
		}
	}
}
