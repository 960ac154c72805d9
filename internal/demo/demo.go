package demo

import (
	"bytes"
	"crypto/tls"
	"encoding/binary"
	"net/netip"
	"strings"
	"time"

	"orchard/internal/capgen"
)

// Start is the demo's first packet time.
var Start = time.Date(2026, 11, 2, 8, 15, 0, 0, time.UTC)

var (
	ipad     = netip.MustParseAddr("10.20.30.41")
	resolver = netip.MustParseAddr("10.20.0.53")
	gateway  = netip.MustParseAddr("10.20.0.1")
	proxy    = netip.MustParseAddr("10.20.0.8")
	ipadMAC  = [6]byte{0x3c, 0x22, 0xfb, 0x12, 0x34, 0x56}
	gwMAC    = [6]byte{0x00, 0x1b, 0x17, 0x00, 0x01, 0x01}
)

// builder writes frames at advancing times, each in an Apple PKTAP header
// naming the process, as `tcpdump -i rvi0` of an iPad does.
type builder struct {
	w     *capgen.Writer
	t     time.Time
	err   error
	port  uint16
	dnsID uint16
	proc  string // the process the next frames belong to
	pid   int32
}

// as sets the process of the frames that follow.
func (b *builder) as(proc string, pid int32) { b.proc, b.pid = proc, pid }

func (b *builder) frame(f []byte, at time.Time) {
	if b.err == nil {
		b.err = b.w.Write(at, capgen.PKTAP(b.proc, b.pid, capgen.DLTEthernet, f), 0)
	}
}

func (b *builder) step(d time.Duration) time.Time {
	b.t = b.t.Add(d)
	return b.t
}

func (b *builder) nextPort() uint16 {
	b.port++
	return b.port
}

// tcpSeg writes one TCP segment.
func (b *builder) tcpSeg(fromServer bool, srv netip.Addr, cport, sport uint16, flags uint8, seq, ack uint32, payload []byte, ttl uint8) {
	t := capgen.TCP{Flags: flags, Seq: seq, Ack: ack, Payload: payload, TTL: ttl, IPID: uint16(seq)}
	src, dst, smac, dmac := ipad, srv, ipadMAC, gwMAC
	t.SrcPort, t.DstPort = cport, sport
	if fromServer {
		src, dst, smac, dmac = srv, ipad, gwMAC, ipadMAC
		t.SrcPort, t.DstPort = sport, cport
	}
	t.Src, t.Dst = src, dst
	b.frame(t.Ethernet(smac, dmac), b.t)
}

// conn is one TCP connection being written.
type conn struct {
	b            *builder
	srv          netip.Addr
	cport, sport uint16
	cseq, sseq   uint32
	srvTTL       uint8
}

func (b *builder) dial(srv netip.Addr, port uint16, rtt time.Duration) *conn {
	c := &conn{b: b, srv: srv, cport: b.nextPort(), sport: port, cseq: 1000000 + uint32(b.port)*7919, sseq: 3000000 + uint32(b.port)*104729, srvTTL: 52}
	b.tcpSeg(false, srv, c.cport, port, capgen.SYN, c.cseq, 0, nil, 64)
	b.step(rtt)
	b.tcpSeg(true, srv, c.cport, port, capgen.SYN|capgen.ACK, c.sseq, c.cseq+1, nil, c.srvTTL)
	b.step(time.Millisecond)
	c.cseq++
	c.sseq++
	b.tcpSeg(false, srv, c.cport, port, capgen.ACK, c.cseq, c.sseq, nil, 64)
	return c
}

const mss = 1448

// send writes data from one side as MSS-sized segments, acknowledged by the peer.
func (c *conn) send(fromServer bool, data []byte, gap time.Duration) {
	b := c.b
	for len(data) > 0 {
		n := len(data)
		if n > mss {
			n = mss
		}
		seg := data[:n]
		data = data[n:]
		b.step(gap)
		if fromServer {
			b.tcpSeg(true, c.srv, c.cport, c.sport, capgen.ACK|capgen.PSH, c.sseq, c.cseq, seg, c.srvTTL)
			c.sseq += uint32(n)
		} else {
			b.tcpSeg(false, c.srv, c.cport, c.sport, capgen.ACK|capgen.PSH, c.cseq, c.sseq, seg, 64)
			c.cseq += uint32(n)
		}
	}
	b.step(gap)
	if fromServer {
		b.tcpSeg(false, c.srv, c.cport, c.sport, capgen.ACK, c.cseq, c.sseq, nil, 64)
	} else {
		b.tcpSeg(true, c.srv, c.cport, c.sport, capgen.ACK, c.sseq, c.cseq, nil, c.srvTTL)
	}
}

// replay writes a recorded TLS exchange.
func (c *conn) replay(ws []write, rtt time.Duration) {
	for _, w := range ws {
		c.send(w.fromServer, w.b, rtt/2)
	}
}

// close ends the connection with FINs from both sides.
func (c *conn) close() {
	b := c.b
	b.step(20 * time.Millisecond)
	b.tcpSeg(false, c.srv, c.cport, c.sport, capgen.FIN|capgen.ACK, c.cseq, c.sseq, nil, 64)
	c.cseq++
	b.step(15 * time.Millisecond)
	b.tcpSeg(true, c.srv, c.cport, c.sport, capgen.FIN|capgen.ACK, c.sseq, c.cseq, nil, c.srvTTL)
	c.sseq++
	b.step(time.Millisecond)
	b.tcpSeg(false, c.srv, c.cport, c.sport, capgen.ACK, c.cseq, c.sseq, nil, 64)
}

// udp writes one datagram between the iPad and a server.
func (b *builder) udp(fromServer bool, srv netip.Addr, cport, sport uint16, payload []byte) {
	u := capgen.UDP{Src: ipad, Dst: srv, SrcPort: cport, DstPort: sport, Payload: payload, TTL: 64}
	smac, dmac := ipadMAC, gwMAC
	if fromServer {
		u = capgen.UDP{Src: srv, Dst: ipad, SrcPort: sport, DstPort: cport, Payload: payload, TTL: 62}
		smac, dmac = gwMAC, ipadMAC
	}
	b.frame(u.Ethernet(smac, dmac), b.t)
}

// dns writes a query and, unless rcode < 0, its answer: a CNAME chain then
// addresses.
func (b *builder) dns(name string, qtype uint16, rcode int, chain []string, addrs ...string) {
	proc, pid := b.proc, b.pid
	b.as("mDNSResponder", 187)
	defer b.as(proc, pid)
	b.dnsID++
	port := b.nextPort()
	q := dnsMsg(b.dnsID, false, 0, name, qtype, nil, nil)
	b.udp(false, resolver, port, 53, q)
	if rcode < 0 {
		b.step(2 * time.Second)
		b.udp(false, resolver, port, 53, q)
		return
	}
	b.step(12 * time.Millisecond)
	b.udp(true, resolver, port, 53, dnsMsg(b.dnsID, true, rcode, name, qtype, chain, addrs))
	b.step(3 * time.Millisecond)
}

func dnsName(n string) []byte {
	var out []byte
	for _, l := range strings.Split(strings.TrimSuffix(n, "."), ".") {
		out = append(out, byte(len(l)))
		out = append(out, l...)
	}
	return append(out, 0)
}

func dnsMsg(id uint16, resp bool, rcode int, name string, qtype uint16, chain []string, addrs []string) []byte {
	var m bytes.Buffer
	flags := uint16(0x0100)
	if resp {
		flags = 0x8180 | uint16(rcode)
	}
	an := len(chain) + len(addrs)
	for _, v := range []uint16{id, flags, 1, uint16(an), 0, 0} {
		_ = binary.Write(&m, binary.BigEndian, v)
	}
	m.Write(dnsName(name))
	_ = binary.Write(&m, binary.BigEndian, [2]uint16{qtype, 1})
	owner := name
	for _, c := range chain {
		m.Write(dnsName(owner))
		target := dnsName(c)
		_ = binary.Write(&m, binary.BigEndian, struct {
			T, C uint16
			TTL  uint32
			L    uint16
		}{5, 1, 300, uint16(len(target))})
		m.Write(target)
		owner = c
	}
	for _, a := range addrs {
		ip := netip.MustParseAddr(a)
		m.Write(dnsName(owner))
		t := uint16(1)
		if ip.Is6() {
			t = 28
		}
		raw := ip.AsSlice()
		_ = binary.Write(&m, binary.BigEndian, struct {
			T, C uint16
			TTL  uint32
			L    uint16
		}{t, 1, 60, uint16(len(raw))})
		m.Write(raw)
	}
	return m.Bytes()
}

// ntpRequest is a client (mode 3) NTP v4 packet.
func ntpRequest(at time.Time) []byte {
	p := make([]byte, 48)
	p[0] = 0x23
	secs := uint32(at.Unix() + 2208988800)
	binary.BigEndian.PutUint32(p[40:], secs)
	return p
}

func ntpReply(at time.Time, stratum uint8, refid string) []byte {
	p := ntpRequest(at)
	p[0] = 0x24
	p[1] = stratum
	copy(p[12:16], refid)
	return p
}

// Capture returns the demo capture as a pcap file (link type PKTAP, 258).
func Capture() ([]byte, error) {
	var buf bytes.Buffer
	b := &builder{w: capgen.NewPcap(&buf, capgen.LinkTypePKTAP), t: Start, port: 49200}
	pk, err := newPKI(Start)
	if err != nil {
		return nil, err
	}
	if err := scenario(b, pk); err != nil {
		return nil, err
	}
	if b.err != nil {
		return nil, b.err
	}
	return buf.Bytes(), nil
}

func scenario(b *builder, pk *pki) error {
	ms := time.Millisecond
	lab := []tls.Certificate{pk.lab}

	// 1. Captive-portal check over HTTP: healthy.
	b.as("captiveagent", 211)
	b.dns("captive.apple.com", 1, 0, []string{"captive-cdn.origin-apple.com.akadns.net", "captive.g.aaplimg.com"}, "17.253.17.201")
	c := b.dial(netip.MustParseAddr("17.253.17.201"), 80, 8*ms)
	c.send(false, []byte("GET /hotspot-detect.html HTTP/1.1\r\nHost: captive.apple.com\r\nUser-Agent: CaptiveNetworkSupport-481.0.1 wispr\r\nAccept: */*\r\n\r\n"), 4*ms)
	c.send(true, []byte("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 68\r\n\r\n<HTML><HEAD><TITLE>Success</TITLE></HEAD><BODY>Success</BODY></HTML>"), 4*ms)
	c.close()

	// 2. Time: NTP to time.apple.com gets no reply (UDP 123 blocked).
	b.as("timed", 142)
	b.step(200 * ms)
	b.dns("time-ios.apple.com", 1, 0, []string{"time-ios.g.aaplimg.com"}, "17.253.4.125")
	ntpPort := b.nextPort()
	for i := 0; i < 3; i++ {
		b.udp(false, netip.MustParseAddr("17.253.4.125"), ntpPort, 123, ntpRequest(b.t))
		b.step(2 * time.Second)
	}

	// 2b. A transparent NTP proxy answers time.apple.com with a kiss-o'-death.
	b.dns("time.apple.com", 1, 0, []string{"time.g.aaplimg.com"}, "17.253.34.123")
	ntpPort = b.nextPort()
	b.udp(false, netip.MustParseAddr("17.253.34.123"), ntpPort, 123, ntpRequest(b.t))
	b.step(9 * ms)
	b.udp(true, netip.MustParseAddr("17.253.34.123"), ntpPort, 123, ntpReply(b.t, 0, "RATE"))
	b.step(time.Second)

	// 3. Push: 5223 is dropped by the firewall; the iPad retries, then falls back to 443.
	b.as("apsd", 98)
	b.dns("27-courier.push.apple.com", 1, 0, []string{"27.courier-push-apple.com.akadns.net", "eu-central-courier-4.push-apple.com.akadns.net"}, "17.57.144.84")
	apns := netip.MustParseAddr("17.57.144.84")
	port := b.nextPort()
	for _, d := range []time.Duration{0, time.Second, 2 * time.Second, 4 * time.Second} {
		b.step(d)
		b.tcpSeg(false, apns, port, 5223, capgen.SYN, 555000, 0, nil, 64)
	}
	b.step(8 * time.Second)
	ws, err := handshake(session{sni: "courier.push.apple.com", alpn: []string{"apns-security-v3"}, chain: lab, request: "push-connect", response: "push-ready"})
	if err != nil {
		return err
	}
	c = b.dial(apns, 443, 30*ms)
	c.replay(ws, 30*ms)
	c.close()

	// 4. Device enrolment: TLS inspection forges the certificate (TLS 1.2: visible); the iPad refuses it.
	b.as("mdmd", 402)
	b.step(time.Second)
	b.dns("mdmenrollment.apple.com", 1, 0, []string{"mdmenrollment.apple.com.akadns.net"}, "17.32.194.7")
	ws, err = handshake(session{sni: "mdmenrollment.apple.com", serverMax: tls.VersionTLS12, chain: []tls.Certificate{pk.forged}, reject: true})
	if err != nil {
		return err
	}
	c = b.dial(netip.MustParseAddr("17.32.194.7"), 443, 20*ms)
	c.replay(ws, 20*ms)
	c.close()

	// 5. Software update catalog: TLS 1.3 through an inspecting proxy; the iPad rejects the hidden certificate.
	b.as("mobileassetd", 377)
	b.step(time.Second)
	b.dns("gdmf.apple.com", 1, 0, []string{"gdmf.apple.com.akadns.net"}, "17.171.47.23")
	ws, err = handshake(session{sni: "gdmf.apple.com", chain: lab, reject: true})
	if err != nil {
		return err
	}
	c = b.dial(netip.MustParseAddr("17.171.47.23"), 443, 20*ms)
	c.replay(ws, 20*ms)
	c.close()

	// 6. Device enrolment profile host: the post-quantum ClientHello (two segments) is swallowed.
	b.as("profiled", 415)
	b.step(time.Second)
	b.dns("iprofiles.apple.com", 1, 0, nil, "17.32.194.28")
	ch, err := clientHello("iprofiles.apple.com", []string{"h2", "http/1.1"})
	if err != nil {
		return err
	}
	srv := netip.MustParseAddr("17.32.194.28")
	c = b.dial(srv, 443, 25*ms)
	first, second := ch[:mss], ch[mss:]
	b.step(ms)
	b.tcpSeg(false, srv, c.cport, 443, capgen.ACK|capgen.PSH, c.cseq, c.sseq, first, 64)
	b.step(ms)
	b.tcpSeg(false, srv, c.cport, 443, capgen.ACK|capgen.PSH, c.cseq+mss, c.sseq, second, 64)
	b.step(25 * ms)
	b.tcpSeg(true, srv, c.cport, 443, capgen.ACK, c.sseq, c.cseq+mss, nil, 52)
	for _, d := range []time.Duration{300 * ms, 600 * ms, 1200 * ms} {
		b.step(d)
		b.tcpSeg(false, srv, c.cport, 443, capgen.ACK|capgen.PSH, c.cseq+mss, c.sseq, second, 64)
	}
	b.step(10 * time.Second)
	b.tcpSeg(false, srv, c.cport, 443, capgen.RST|capgen.ACK, c.cseq+uint32(len(ch)), c.sseq, nil, 64)

	// 7. Activation: a filter blocking by name forges the server's RST (wrong TTL) right after the ClientHello.
	b.as("mobileactivation", 233)
	b.step(time.Second)
	b.dns("albert.apple.com", 1, 0, []string{"albert.apple.com.akadns.net"}, "17.32.194.99")
	ws, err = handshake(session{sni: "albert.apple.com", chain: lab})
	if err != nil {
		return err
	}
	c = b.dial(netip.MustParseAddr("17.32.194.99"), 443, 20*ms)
	c.replay(ws[:1], 20*ms)
	b.step(3 * ms)
	b.tcpSeg(true, c.srv, c.cport, 443, capgen.RST|capgen.ACK, c.sseq, c.cseq, nil, 250)

	// 8. Software updates: the resolver sinkholes the host; DNS for another one fails.
	b.step(time.Second)
	b.dns("updates.cdn-apple.com", 1, 0, nil, "0.0.0.0")
	b.dns("mesu.apple.com", 1, 2, nil)
	// 9. Private Relay is turned off the way Apple documents: NXDOMAIN (information only).
	b.dns("mask.icloud.com", 1, 3, nil)

	// 10. Firmware signing: the firewall answers with ICMP administratively prohibited.
	b.as("nsurlsessiond", 120)
	b.step(time.Second)
	b.dns("gs.apple.com", 1, 0, []string{"gs.apple.com.akadns.net"}, "17.111.103.15")
	gs := netip.MustParseAddr("17.111.103.15")
	port = b.nextPort()
	b.tcpSeg(false, gs, port, 443, capgen.SYN, 777000, 0, nil, 64)
	b.step(2 * ms)
	syn := capgen.TCP{Src: ipad, Dst: gs, SrcPort: port, DstPort: 443, Flags: capgen.SYN, Seq: 777000, TTL: 63}
	icmp := capgen.ICMPUnreachable{Src: gateway, Dst: ipad, Code: 13, TTL: 255, Quote: syn.IP()}
	b.frame(icmp.Ethernet(gwMAC, ipadMAC), b.t)

	// 11. Apple Account through the explicit proxy: CONNECT refused with 407.
	b.as("akd", 156)
	b.step(time.Second)
	c = b.dial(proxy, 3128, 2*ms)
	c.send(false, []byte("CONNECT idmsa.apple.com:443 HTTP/1.1\r\nHost: idmsa.apple.com:443\r\nUser-Agent: akd/1.0 CFNetwork/3826.500.131 Darwin/24.5.0\r\n\r\n"), 2*ms)
	c.send(true, []byte("HTTP/1.1 407 Proxy Authentication Required\r\nServer: squid/5.7\r\nProxy-Authenticate: Basic realm=\"school\"\r\nContent-Length: 0\r\n\r\n"), 2*ms)
	c.close()

	// 12. App Store content: a SYN answered by RST (REJ).
	b.as("appstored", 301)
	b.step(time.Second)
	b.dns("iosapps.itunes.apple.com", 1, 0, []string{"iosapps.itunes.apple.com.akadns.net"}, "17.253.37.205")
	port = b.nextPort()
	as := netip.MustParseAddr("17.253.37.205")
	b.tcpSeg(false, as, port, 443, capgen.SYN, 888000, 0, nil, 64)
	b.step(3 * ms)
	b.tcpSeg(true, as, port, 443, capgen.RST|capgen.ACK, 0, 888001, nil, 61)

	// 13. Healthy iCloud over TLS 1.3 (post-quantum key share).
	b.as("cloudd", 264)
	b.step(time.Second)
	b.dns("gateway.icloud.com", 1, 0, []string{"gateway.fe.apple-dns.net"}, "17.248.147.6")
	ws, err = handshake(session{sni: "gateway.icloud.com", alpn: []string{"h2"}, chain: lab, request: "GET /", response: "200 OK"})
	if err != nil {
		return err
	}
	c = b.dial(netip.MustParseAddr("17.248.147.6"), 443, 20*ms)
	c.replay(ws, 20*ms)
	c.close()

	// 15. A lookup the resolver never answers.
	b.step(time.Second)
	b.dns("appldnld.apple.com", 1, -1, nil)

	// 16. iCloud over HTTP/3: UDP 443 is dropped (QUIC blocked; devices fall back to TCP).
	b.as("cloudd", 264)
	b.step(time.Second)
	quic := netip.MustParseAddr("17.248.147.6")
	port = b.nextPort()
	for i := 0; i < 3; i++ {
		dgram := make([]byte, 1200)
		dgram[0] = 0x40 // a short-header datagram: no Initial to decrypt
		b.udp(false, quic, port, 443, dgram)
		b.step(300 * ms)
	}

	// 17. Activation check over plain HTTP on port 80, which Apple lists only on 443 (information).
	b.as("mobileactivation", 233)
	b.step(time.Second)
	c = b.dial(netip.MustParseAddr("17.32.194.99"), 80, 20*ms)
	c.send(false, []byte("GET /deviceservices/buddy/barney_activation_help_en_us.buddyml HTTP/1.1\r\nHost: albert.apple.com\r\n\r\n"), 4*ms)
	c.send(true, []byte("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"), 4*ms)
	c.close()

	// 14. A blocked non-Apple host: no finding (orchard is about Apple services).
	b.as("MobileSafari", 512)
	b.step(time.Second)
	other := netip.MustParseAddr("93.184.215.14")
	port = b.nextPort()
	for i := 0; i < 3; i++ {
		b.tcpSeg(false, other, port, 443, capgen.SYN, 999000, 0, nil, 64)
		b.step(time.Second)
	}
	return nil
}
