package analyzer_test

import (
	"bufio"
	"bytes"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"orchard/analyzer"
	"orchard/internal/sharedtest"
)

// flowSink keeps the flow events of a run.
type flowSink struct{ flows []analyzer.FlowEvent }

func (s *flowSink) Flow(e *analyzer.FlowEvent) { s.flows = append(s.flows, *e) }
func (s *flowSink) DNS(*analyzer.DNSEvent)     {}
func (s *flowSink) Finding(*analyzer.Finding)  {}

// tsharkStates derives S0 and REJ connections from tshark's per-packet TCP
// flags, per tcp.stream: a SYN from the originator with no packet at all
// from the responder is S0; a SYN answered only by a RST is REJ.
func tsharkStates(t *testing.T, file string) (s0, rej []string) {
	t.Helper()
	cmd := exec.Command("tshark", "-r", file, "-Y", "tcp && !icmp && !icmpv6", "-T", "fields", "-E", "separator=,",
		"-e", "tcp.stream", "-e", "ip.src", "-e", "ipv6.src", "-e", "tcp.srcport", "-e", "ip.dst", "-e", "ipv6.dst", "-e", "tcp.dstport",
		"-e", "tcp.flags.syn", "-e", "tcp.flags.ack", "-e", "tcp.flags.reset", "-e", "tcp.flags.fin")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tshark %s: %v", file, err)
	}
	type st struct {
		orig             string // "ip:port" of the SYN sender
		key              string
		syn, synack, rsp bool // responder sent anything
		rspRST, rspOther bool
		origEnd          bool // the originator sent a RST or FIN
	}
	streams := map[string]*st{}
	var order []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Split(sc.Text(), ",")
		if len(f) < 11 {
			continue
		}
		src, dst := f[1]+f[2], f[4]+f[5]
		// Tunnelled packets list several addresses; keep the innermost.
		if i := strings.LastIndex(f[1], ";"); i >= 0 {
			src = f[1][i+1:]
		}
		a, b := src+":"+f[3], dst+":"+f[6]
		s := streams[f[0]]
		if s == nil {
			s = &st{}
			streams[f[0]] = s
			order = append(order, f[0])
		}
		syn, ack, rst := f[7] == "1" || f[7] == "True", f[8] == "1" || f[8] == "True", f[9] == "1" || f[9] == "True"
		if syn && !ack && s.orig == "" {
			s.orig, s.syn = a, true
			s.key = a + ">" + b
		}
		if s.orig != "" && a == s.orig && (rst || f[10] == "1" || f[10] == "True") {
			s.origEnd = true
		}
		if s.orig != "" && a != s.orig {
			s.rsp = true
			switch {
			case syn && ack:
				s.synack = true
			case rst:
				s.rspRST = true
			default:
				s.rspOther = true
			}
		}
	}
	for _, id := range order {
		s := streams[id]
		switch {
		case s.syn && !s.rsp && !s.origEnd:
			s0 = append(s0, s.key)
		case s.syn && !s.synack && s.rspRST && !s.rspOther:
			rej = append(rej, s.key)
		}
	}
	return s0, rej
}

func TestS0AndREJMatchTshark(t *testing.T) {
	if _, err := exec.LookPath("tshark"); err != nil {
		t.Skip("tshark not installed")
	}
	for _, file := range sharedtest.Pcaps(t) {
		t.Run(filepath.Base(file), func(t *testing.T) {
			t.Parallel()
			sink := &flowSink{}
			analyse(t, analyzer.Config{Sink: sink}, file)
			var s0, rej []string
			for _, f := range sink.flows {
				if f.Proto != "tcp" {
					continue
				}
				k := f.Client + ":" + strconv.Itoa(int(f.ClientPort)) + ">" + f.Server + ":" + strconv.Itoa(int(f.Port))
				switch f.State {
				case "S0":
					s0 = append(s0, k)
				case "REJ":
					rej = append(rej, k)
				}
			}
			ts0, trej := tsharkStates(t, file)
			if d := setDiff(s0, ts0); d != "" {
				t.Errorf("S0 differs from tshark:\n%s", d)
			}
			if d := setDiff(rej, trej); d != "" {
				t.Errorf("REJ differs from tshark:\n%s", d)
			}
		})
	}
}

// setDiff describes how two sets of strings differ ("" when equal; order
// and duplicates ignored).
func setDiff(got, want []string) string {
	g, w := map[string]bool{}, map[string]bool{}
	for _, s := range got {
		g[s] = true
	}
	for _, s := range want {
		w[s] = true
	}
	var out []string
	for s := range g {
		if !w[s] {
			out = append(out, "  orchard only: "+s)
		}
	}
	for s := range w {
		if !g[s] {
			out = append(out, "  tshark only:  "+s)
		}
	}
	sort.Strings(out)
	if len(out) > 20 {
		out = append(out[:20], "  …")
	}
	return strings.Join(out, "\n")
}
