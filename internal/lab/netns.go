package lab

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// Available reports why namespaces cannot be built here, or "" when they
// can: it needs root and the ip tool.
func Available() string {
	if os.Geteuid() != 0 {
		return "network namespaces need root"
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return "the ip tool (iproute2) is not installed"
	}
	return ""
}

// Net is a set of network namespaces with a common, unique name prefix.
// Close deletes them, and with them every veth inside.
type Net struct {
	prefix string
	spaces []string
}

// NewNet returns an empty lab whose namespaces are named
// orchard-TAG-RANDOM-NAME, unique per call.
func NewNet(tag string) (*Net, error) {
	var r [4]byte
	if _, err := rand.Read(r[:]); err != nil {
		return nil, fmt.Errorf("lab: %w", err)
	}
	return &Net{prefix: "orchard-" + tag + "-" + hex.EncodeToString(r[:]) + "-"}, nil
}

// AddNS creates a namespace with its loopback up and returns its full name.
func (n *Net) AddNS(name string) (string, error) {
	full := n.prefix + name
	if err := run("ip", "netns", "add", full); err != nil {
		return "", err
	}
	n.spaces = append(n.spaces, full)
	if err := n.IP(full, "link", "set", "lo", "up"); err != nil {
		return "", err
	}
	return full, nil
}

// Veth joins namespace a (interface ifA) to namespace b (interface ifB)
// with a veth pair created directly inside them, so interface names never
// clash with the host's or another lab's, and brings both ends up.
func (n *Net) Veth(a, ifA, b, ifB string) error {
	if err := n.IP(a, "link", "add", ifA, "type", "veth", "peer", "name", ifB, "netns", b); err != nil {
		return err
	}
	if err := n.IP(a, "link", "set", ifA, "up"); err != nil {
		return err
	}
	return n.IP(b, "link", "set", ifB, "up")
}

// IP runs "ip -n NS args...".
func (n *Net) IP(ns string, args ...string) error {
	return run("ip", append([]string{"-n", ns}, args...)...)
}

// Exec runs a command inside ns and waits for it.
func (n *Net) Exec(ns string, name string, args ...string) error {
	return run("ip", append([]string{"netns", "exec", ns, name}, args...)...)
}

// ExecInput is Exec with stdin.
func (n *Net) ExecInput(ns, stdin string, name string, args ...string) error {
	cmd := exec.Command("ip", append([]string{"netns", "exec", ns, name}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	return wait(cmd)
}

// Command returns an unstarted command that runs inside ns.
func (n *Net) Command(ns string, name string, args ...string) *exec.Cmd {
	return exec.Command("ip", append([]string{"netns", "exec", ns, name}, args...)...)
}

// Close deletes every namespace of the lab. Processes still running in
// them keep their namespace alive until they exit: stop them first.
func (n *Net) Close() error {
	var errs []error
	for i := len(n.spaces) - 1; i >= 0; i-- {
		if err := run("ip", "netns", "del", n.spaces[i]); err != nil {
			errs = append(errs, err)
		}
	}
	n.spaces = nil
	return errors.Join(errs...)
}

func run(name string, args ...string) error {
	return wait(exec.Command(name, args...))
}

func wait(cmd *exec.Cmd) error {
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("lab: %s: %w: %s", strings.Join(cmd.Args, " "), err, strings.TrimSpace(out.String()))
	}
	return nil
}

// Filter installs rules in the forward path of namespace ns: nftables
// when nft is installed, iptables otherwise. Each rule drops or rejects
// TCP to one address and port.
func (n *Net) Filter(ns string, rules []Rule) error {
	if _, err := exec.LookPath("nft"); err == nil {
		var b strings.Builder
		b.WriteString("table inet orchard_lab {\n chain forward {\n  type filter hook forward priority 0; policy accept;\n")
		for _, r := range rules {
			fmt.Fprintf(&b, "  ip daddr %s tcp dport %d %s\n", r.Addr, r.Port, r.nft())
		}
		b.WriteString(" }\n}\n")
		return n.ExecInput(ns, b.String(), "nft", "-f", "-")
	}
	for _, r := range rules {
		args := []string{"-A", "FORWARD", "-d", r.Addr, "-p", "tcp", "--dport", fmt.Sprint(r.Port)}
		if r.Reset {
			args = append(args, "-j", "REJECT", "--reject-with", "tcp-reset")
		} else {
			args = append(args, "-j", "DROP")
		}
		if err := n.Exec(ns, "iptables", args...); err != nil {
			return err
		}
	}
	return nil
}

// Rule is one firewall rule: drop (or, with Reset, reject with a TCP
// reset) TCP to Addr:Port.
type Rule struct {
	Addr  string
	Port  int
	Reset bool
}

func (r Rule) nft() string {
	if r.Reset {
		return "reject with tcp reset"
	}
	return "drop"
}
