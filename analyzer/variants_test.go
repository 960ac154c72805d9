package analyzer

import (
	"fmt"
	"io"
	"net/netip"
	"path/filepath"
	"testing"

	"github.com/gopacket/gopacket/layers"

	"orchard/capture"
	"orchard/decode"
	"orchard/internal/sharedtest"
)

// capFrame is one frame of a capture held in memory.
type capFrame struct {
	link layers.LinkType
	data []byte
	ts   int64
	wire int
	proc string
	pid  int32
}

func readFrames(t *testing.T, name string) []capFrame {
	t.Helper()
	f, err := capture.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []capFrame
	var p capture.Packet
	for {
		if err := f.Next(&p); err != nil {
			if err != io.EOF {
				t.Logf("%s: %v", name, err)
			}
			return out
		}
		out = append(out, capFrame{p.LinkType, append([]byte(nil), p.Data...), p.Timestamp.UnixNano(), p.WireLen, p.Proc, p.PID})
	}
}

func runFrames(t *testing.T, frames []capFrame) (*Report, *recSink) {
	e, s := newTestEngine(t, Config{})
	for _, fr := range frames {
		e.run.frame(fr.link, fr.data, fr.ts, fr.wire, frameMeta{proc: fr.proc, pid: fr.pid})
	}
	return e.Finish(), s
}

// Sides of a frame, for the one-direction variants.
const (
	sideOther  = iota // not part of a flow: kept in both variants
	sideDevice        // from a flow's client
	sideServer        // from a flow's server, or an ICMP error on its path
)

type endKey struct {
	src, dst     netip.Addr
	sport, dport uint16
}

// sides tells each frame's side from the flows of the whole capture.
func sides(frames []capFrame, flows []FlowEvent) []int {
	byEnds := map[endKey]int{}
	byAddrs := map[[2]netip.Addr]int{}
	for _, f := range flows {
		c, s := netip.MustParseAddr(f.Client), netip.MustParseAddr(f.Server)
		byEnds[endKey{c, s, f.ClientPort, f.Port}] = sideDevice
		byEnds[endKey{s, c, f.Port, f.ClientPort}] = sideServer
		byAddrs[[2]netip.Addr{c, s}] = sideDevice
		byAddrs[[2]netip.Addr{s, c}] = sideServer
	}
	d := decode.NewDecoder()
	out := make([]int, len(frames))
	var p decode.Packet
	for i, fr := range frames {
		if d.Decode(fr.link, fr.data, &p) != nil {
			continue
		}
		src, dst := p.Src.Unmap(), p.Dst.Unmap()
		switch {
		case p.Proto == decode.ProtoICMP || p.Proto == decode.ProtoICMPv6:
			out[i] = sideServer
		case p.SrcPort == 0 && p.DstPort == 0:
			out[i] = byAddrs[[2]netip.Addr{src, dst}]
		default:
			out[i] = byEnds[endKey{src, dst, p.SrcPort, p.DstPort}]
		}
	}
	return out
}

// requestKind names the request a frame carries, if any: a capture cut
// right after it cannot show the answer.
func requestKind(d *decode.Decoder, fr capFrame) string {
	var p decode.Packet
	if d.Decode(fr.link, fr.data, &p) != nil {
		return ""
	}
	b := p.Payload
	switch {
	case p.Proto == decode.ProtoTCP && p.TCPFlags&(decode.FlagSYN|decode.FlagACK) == decode.FlagSYN:
		return "SYN"
	case p.Proto == decode.ProtoTCP && len(b) > 5 && b[0] == 0x16 && b[5] == 1:
		return "ClientHello"
	case p.Proto == decode.ProtoUDP && p.DstPort == 53 && len(b) > 2 && b[2]&0x80 == 0:
		return "DNS query"
	case p.Proto == decode.ProtoUDP && p.DstPort == 123 && len(b) > 0 && b[0]&7 == 3:
		return "NTP request"
	case p.Proto == decode.ProtoUDP && p.DstPort == 443 && len(b) > 0 && b[0]&0x80 != 0:
		return "QUIC Initial"
	}
	return ""
}

// errorKey identifies an error finding across variants of a capture (a
// variant may learn the host's name another way).
func errorKeys(r *Report) map[string]bool {
	out := map[string]bool{}
	for _, f := range r.Findings {
		if f.Tally.Sev == SevError {
			out[fmt.Sprintf("%s %s %s:%d", f.Finding, f.Client, f.Server, f.Port)] = true
		}
	}
	return out
}

// TestCaptureVariants builds, from every shared capture with Apple flows,
// the capture a one-way tap would have made (only the devices' packets;
// only the servers') and captures cut right after each kind of request:
// none may show an error the whole capture does not, and a one-way
// variant must say so.
func TestCaptureVariants(t *testing.T) {
	variants, cuts := 0, 0
	for _, file := range sharedtest.Pcaps(t) {
		frames := readFrames(t, file)
		whole, s := runFrames(t, frames)
		if whole.Capture.AppleFlows == 0 {
			continue
		}
		t.Run(filepath.Base(file), func(t *testing.T) {
			for _, d := range whole.Devices {
				if !isDeviceAddr(netip.MustParseAddr(d.Address)) {
					t.Errorf("%s is no device", d.Address)
				}
			}
			want := errorKeys(whole)
			check := func(name string, r *Report) {
				for k := range errorKeys(r) {
					if !want[k] {
						for _, f := range r.Findings {
							if fmt.Sprintf("%s %s %s:%d", f.Finding, f.Client, f.Server, f.Port) == k {
								t.Errorf("%s: error the whole capture does not have: %s %s: %s", name, f.Finding, f.Host, f.Evidence)
							}
						}
					}
				}
			}
			side := sides(frames, s.flows)
			for _, v := range []struct {
				name    string
				keep    int
				missing string
			}{{"devices only", sideDevice, "servers"}, {"servers only", sideServer, "devices"}} {
				var part []capFrame
				n := 0
				for i, fr := range frames {
					if side[i] == v.keep || side[i] == sideOther {
						part = append(part, fr)
					}
					if side[i] == v.keep {
						n++
					}
				}
				if n == 0 || n == len(frames) {
					continue // nothing to take away, or nothing left
				}
				variants++
				r, _ := runFrames(t, part)
				check(v.name, r)
				if vis := r.Capture.Visibility; vis.Missing != v.missing || vis.Statement == "" {
					t.Errorf("%s: visibility %+v, want the %s missing", v.name, vis, v.missing)
				}
			}
			d := decode.NewDecoder()
			seen := map[string]int{}
			for i, fr := range frames {
				k := requestKind(d, fr)
				if k == "" || seen[k] >= 3 {
					continue
				}
				seen[k]++
				cuts++
				r, _ := runFrames(t, frames[:i+1])
				check(fmt.Sprintf("cut after %s #%d (frame %d)", k, seen[k], i+1), r)
			}
		})
	}
	t.Logf("%d one-way variants and %d cut-off variants checked", variants, cuts)
	if variants < 20 || cuts < 50 {
		t.Errorf("only %d one-way and %d cut-off variants: the shared captures should give more", variants, cuts)
	}
}
