package stress

import (
	"bufio"
	"net/netip"
	"time"

	"github.com/gopacket/gopacket/layers"

	"orchard/internal/capgen"
)

// Ethernet addresses of the clients' side and the router.
var (
	clientMAC = [6]byte{0x02, 0x00, 0x00, 0x00, 0x00, 0x01}
	routerMAC = [6]byte{0x02, 0x00, 0x00, 0x00, 0x00, 0xfe}
)

// pcap writes Ethernet frames to a pcap file and counts its bytes.
type pcap struct {
	w     *capgen.Writer
	cw    *countWriter
	clock time.Time
}

type countWriter struct {
	w *bufio.Writer
	n int64
}

func (c *countWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n += int64(n)
	return n, err
}

func newPcap(w *bufio.Writer) *pcap {
	cw := &countWriter{w: w}
	return &pcap{w: capgen.NewPcapOptions(cw, layers.LinkTypeEthernet, capgen.PcapOptions{Nano: true}), cw: cw, clock: Start}
}

// tcp writes one segment d after the previous frame.
func (p *pcap) tcp(s capgen.TCP, fromClient bool, d time.Duration) error {
	p.clock = p.clock.Add(d)
	if s.TTL == 0 && !fromClient {
		s.TTL = 52
	}
	src, dst := clientMAC, routerMAC
	if !fromClient {
		src, dst = dst, src
	}
	return p.w.Write(p.clock, s.Ethernet(src, dst), 0)
}

// udp writes one datagram d after the previous frame.
func (p *pcap) udp(u capgen.UDP, fromClient bool, d time.Duration) error {
	p.clock = p.clock.Add(d)
	src, dst := clientMAC, routerMAC
	if !fromClient {
		src, dst = dst, src
	}
	return p.w.Write(p.clock, u.Ethernet(src, dst), 0)
}

// clientAddr is the i-th address of the clients' 10.0.0.0/8.
func clientAddr(i int) netip.Addr {
	i++
	return netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
}

// appleAddr is the i-th of 4096 addresses in Apple's 17.253.0.0/16.
func appleAddr(i int) netip.Addr {
	i %= 4096
	return netip.AddrFrom4([4]byte{17, 253, byte(i >> 8), byte(i)})
}

// appleHosts are catalog hosts the inputs name.
var appleHosts = []string{
	"gateway.icloud.com", "courier.push.apple.com", "gdmf.apple.com", "mesu.apple.com",
	"updates.cdn-apple.com", "iprofiles.apple.com", "albert.apple.com", "gs.apple.com",
	"mdmenrollment.apple.com", "deviceenrollment.apple.com", "appldnld.apple.com", "time.apple.com",
}
