package lab

import (
	"fmt"
)

// Interface names and addresses of a Routed lab. The names only exist
// inside the lab's namespaces; the addresses are private and routed only
// between them.
const (
	ClientIf       = "lab-c0" // the client's interface
	FwClientIf     = "lab-f0" // the firewall's interface facing the client
	FwServerIf     = "lab-f1" // the firewall's interface facing the servers
	ServerIf       = "lab-s0" // the servers' interface
	ClientAddr     = "10.231.1.2"
	FwClientAddr   = "10.231.1.1"
	FwServerAddr   = "10.231.2.1"
	ServerBaseAddr = "10.231.2.2"
)

// Routed is a three-namespace lab: a client, a firewall that routes between
// two veth links, and a server namespace holding any number of addresses.
type Routed struct {
	*Net
	Client, Firewall, Server string // namespace names
}

// NewRouted builds the lab with serverAddrs added to the server namespace
// (beside ServerBaseAddr). On error it removes what it built.
func NewRouted(tag string, serverAddrs ...string) (r *Routed, err error) {
	n, err := NewNet(tag)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			_ = n.Close()
		}
	}()
	r = &Routed{Net: n}
	for _, p := range []struct {
		dst  *string
		name string
	}{{&r.Client, "client"}, {&r.Firewall, "fw"}, {&r.Server, "server"}} {
		if *p.dst, err = n.AddNS(p.name); err != nil {
			return nil, err
		}
	}
	if err := n.Veth(r.Client, ClientIf, r.Firewall, FwClientIf); err != nil {
		return nil, err
	}
	if err := n.Veth(r.Firewall, FwServerIf, r.Server, ServerIf); err != nil {
		return nil, err
	}
	steps := [][]string{
		{r.Client, "addr", "add", ClientAddr + "/24", "dev", ClientIf},
		{r.Client, "route", "add", "default", "via", FwClientAddr},
		{r.Firewall, "addr", "add", FwClientAddr + "/24", "dev", FwClientIf},
		{r.Firewall, "addr", "add", FwServerAddr + "/24", "dev", FwServerIf},
		{r.Server, "addr", "add", ServerBaseAddr + "/24", "dev", ServerIf},
		{r.Server, "route", "add", "default", "via", FwServerAddr},
	}
	for _, a := range serverAddrs {
		steps = append(steps, []string{r.Server, "addr", "add", a + "/32", "dev", ServerIf})
	}
	for _, s := range steps {
		if err := n.IP(s[0], s[1:]...); err != nil {
			return nil, err
		}
	}
	if err := n.Exec(r.Firewall, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1"); err != nil {
		return nil, fmt.Errorf("lab: enable forwarding: %w", err)
	}
	return r, nil
}
