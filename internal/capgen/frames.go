package capgen

import (
	"encoding/binary"
	"net/netip"
)

// TCP flag bits for TCP.Flags.
const (
	FIN uint8 = 1 << iota
	SYN
	RST
	PSH
	ACK
	URG
	ECE
	CWR
)

// DLT values used inside a PKTAP header (the inner frame's link type).
const (
	DLTNull     uint32 = 0
	DLTEthernet uint32 = 1
	DLTRaw      uint32 = 12
)

// Ethertypes.
const (
	EtherTypeIPv4  uint16 = 0x0800
	EtherTypeIPv6  uint16 = 0x86dd
	EtherTypeVLAN  uint16 = 0x8100
	EtherTypeQinQ  uint16 = 0x88a8
	EtherTypePPPoE uint16 = 0x8864
)

// IPPacket is a whole IPv4 or IPv6 packet; its methods wrap it in a link
// layer.
type IPPacket []byte

func (p IPPacket) etherType() uint16 {
	if len(p) > 0 && p[0]>>4 == 6 {
		return EtherTypeIPv6
	}
	return EtherTypeIPv4
}

// Raw returns the packet itself, for the raw IP link types (101, 12, 14,
// 228, 229).
func (p IPPacket) Raw() []byte { return append([]byte(nil), p...) }

// Ethernet wraps the packet in an Ethernet II frame from src to dst. VLAN
// IDs given are tagged outermost first: a single tag is 802.1Q (0x8100);
// with several, all but the innermost are 802.1ad (0x88a8). Frames shorter
// than 60 bytes are zero-padded as a NIC would.
func (p IPPacket) Ethernet(src, dst [6]byte, vlans ...uint16) []byte {
	return EthernetFrame(src, dst, p.etherType(), p, vlans...)
}

// PPPoE wraps the packet in a PPPoE session frame (session id sess) inside
// Ethernet, with optional VLAN tags as in Ethernet.
func (p IPPacket) PPPoE(src, dst [6]byte, sess uint16, vlans ...uint16) []byte {
	proto := uint16(0x0021)
	if p.etherType() == EtherTypeIPv6 {
		proto = 0x0057
	}
	b := make([]byte, 8+len(p))
	b[0] = 0x11 // version 1, type 1
	b[1] = 0    // session data
	binary.BigEndian.PutUint16(b[2:], sess)
	binary.BigEndian.PutUint16(b[4:], uint16(2+len(p)))
	binary.BigEndian.PutUint16(b[6:], proto)
	copy(b[8:], p)
	return EthernetFrame(src, dst, EtherTypePPPoE, b, vlans...)
}

// EthernetFrame builds an Ethernet II frame carrying payload of the given
// ethertype, with VLAN tags as described at IPPacket.Ethernet.
func EthernetFrame(src, dst [6]byte, etherType uint16, payload []byte, vlans ...uint16) []byte {
	b := make([]byte, 0, 14+4*len(vlans)+len(payload)+60)
	b = append(b, dst[:]...)
	b = append(b, src[:]...)
	for i, id := range vlans {
		tpid := EtherTypeQinQ
		if i == len(vlans)-1 {
			tpid = EtherTypeVLAN
		}
		b = binary.BigEndian.AppendUint16(b, tpid)
		b = binary.BigEndian.AppendUint16(b, id&0x0fff)
	}
	b = binary.BigEndian.AppendUint16(b, etherType)
	b = append(b, payload...)
	for len(b) < 60 {
		b = append(b, 0)
	}
	return b
}

// SLL wraps the packet in a Linux cooked (SLL, link type 113) header, as
// sent by the host with source MAC 02:00:00:00:00:01.
func (p IPPacket) SLL() []byte {
	b := make([]byte, 16+len(p))
	binary.BigEndian.PutUint16(b[0:], 4) // sent by us
	binary.BigEndian.PutUint16(b[2:], 1) // ARPHRD_ETHER
	binary.BigEndian.PutUint16(b[4:], 6)
	copy(b[6:], []byte{2, 0, 0, 0, 0, 1})
	binary.BigEndian.PutUint16(b[14:], p.etherType())
	copy(b[16:], p)
	return b
}

// SLL2 wraps the packet in a Linux cooked v2 (SLL2, link type 276) header
// on interface index 2.
func (p IPPacket) SLL2() []byte {
	b := make([]byte, 20+len(p))
	binary.BigEndian.PutUint16(b[0:], p.etherType())
	binary.BigEndian.PutUint32(b[4:], 2) // ifindex
	binary.BigEndian.PutUint16(b[8:], 1) // ARPHRD_ETHER
	b[10] = 0                            // to us
	b[11] = 6
	copy(b[12:], []byte{2, 0, 0, 0, 0, 2})
	copy(b[20:], p)
	return b
}

// Null wraps the packet in a BSD loopback (NULL, link type 0) header: the
// address family as a 4-byte integer in the writer's byte order (little
// endian unless bigEndian), with AF_INET6 as macOS numbers it (30).
func (p IPPacket) Null(bigEndian bool) []byte {
	fam := uint32(2)
	if p.etherType() == EtherTypeIPv6 {
		fam = 30
	}
	b := make([]byte, 4+len(p))
	if bigEndian {
		binary.BigEndian.PutUint32(b, fam)
	} else {
		binary.LittleEndian.PutUint32(b, fam)
	}
	copy(b[4:], p)
	return b
}

// Loop wraps the packet in an OpenBSD loopback (LOOP, link type 108)
// header: the address family in network byte order (AF_INET6 = 24).
func (p IPPacket) Loop() []byte {
	fam := uint32(2)
	if p.etherType() == EtherTypeIPv6 {
		fam = 24
	}
	b := make([]byte, 4+len(p))
	binary.BigEndian.PutUint32(b, fam)
	copy(b[4:], p)
	return b
}

// PKTAP wraps the packet, as raw IP (DLT_RAW, a cellular interface), in an
// Apple PKTAP header naming process proc with pid.
func (p IPPacket) PKTAP(proc string, pid int32) []byte {
	return PKTAP(proc, pid, DLTRaw, p)
}

// PKTAPHeaderLen is the length of the PKTAP header written by PKTAP (the
// size of XNU's struct pktap_header).
const PKTAPHeaderLen = 156

// PKTAP wraps inner, a frame of link type innerDLT (DLTEthernet for Wi-Fi,
// DLTRaw for cellular, DLTNull for loopback and utun), in an Apple PKTAP
// header (little endian) naming process proc with pid. Use link type
// LinkTypePKTAP (or LinkTypePKTAPDarwin) for the capture.
func PKTAP(proc string, pid int32, innerDLT uint32, inner []byte) []byte {
	b := make([]byte, PKTAPHeaderLen+len(inner))
	le := binary.LittleEndian
	le.PutUint32(b[0:], PKTAPHeaderLen)
	le.PutUint32(b[4:], 1) // PTH_TYPE_PACKET
	le.PutUint32(b[8:], innerDLT)
	ifname := "en0"
	fam := uint32(2) // AF_INET, or AF_INET6 (30 on Darwin) for an IPv6 frame
	if ipv6Inside(innerDLT, inner) {
		fam = 30
	}
	switch innerDLT {
	case DLTRaw:
		ifname = "pdp_ip0"
	case DLTNull:
		ifname = "lo0"
	}
	copy(b[12:36], ifname)
	le.PutUint32(b[36:], 0x2) // PTH_FLAG_DIR_OUT
	le.PutUint32(b[40:], fam)
	le.PutUint32(b[52:], uint32(pid))
	copy(b[56:72], proc) // pth_comm[17], NUL-terminated
	le.PutUint32(b[84:], uint32(pid))
	copy(b[88:104], proc)
	copy(b[PKTAPHeaderLen:], inner)
	return b
}

// ipv6Inside reports whether a frame of the given DLT carries IPv6.
func ipv6Inside(dlt uint32, b []byte) bool {
	switch dlt {
	case DLTEthernet:
		return len(b) >= 14 && binary.BigEndian.Uint16(b[12:]) == EtherTypeIPv6
	case DLTNull:
		return len(b) >= 5 && b[4]>>4 == 6
	}
	return len(b) >= 1 && b[0]>>4 == 6
}

// TCP describes one TCP segment. TTL 0 means 64.
type TCP struct {
	Src, Dst         netip.Addr
	SrcPort, DstPort uint16
	Flags            uint8
	Seq, Ack         uint32
	Window           uint16 // 0 means 65535
	TTL              uint8
	IPID             uint16
	Payload          []byte
}

// IP returns the segment as an IPv4 or IPv6 packet (by the address family).
func (t TCP) IP() IPPacket {
	h := make([]byte, 20+len(t.Payload))
	binary.BigEndian.PutUint16(h[0:], t.SrcPort)
	binary.BigEndian.PutUint16(h[2:], t.DstPort)
	binary.BigEndian.PutUint32(h[4:], t.Seq)
	binary.BigEndian.PutUint32(h[8:], t.Ack)
	h[12] = 5 << 4
	h[13] = t.Flags
	win := t.Window
	if win == 0 {
		win = 65535
	}
	binary.BigEndian.PutUint16(h[14:], win)
	copy(h[20:], t.Payload)
	return ipPacket(t.Src, t.Dst, 6, t.TTL, t.IPID, h, 16)
}

// Raw returns the segment as a raw IP packet.
func (t TCP) Raw() []byte { return t.IP().Raw() }

// Ethernet returns the segment in an Ethernet frame (see IPPacket.Ethernet).
func (t TCP) Ethernet(src, dst [6]byte, vlans ...uint16) []byte {
	return t.IP().Ethernet(src, dst, vlans...)
}

// SLL returns the segment in a Linux SLL frame.
func (t TCP) SLL() []byte { return t.IP().SLL() }

// SLL2 returns the segment in a Linux SLL2 frame.
func (t TCP) SLL2() []byte { return t.IP().SLL2() }

// Null returns the segment in a little-endian BSD NULL frame.
func (t TCP) Null() []byte { return t.IP().Null(false) }

// PKTAP returns the segment in a PKTAP frame around raw IP.
func (t TCP) PKTAP(proc string, pid int32) []byte { return t.IP().PKTAP(proc, pid) }

// UDP describes one UDP datagram. TTL 0 means 64.
type UDP struct {
	Src, Dst         netip.Addr
	SrcPort, DstPort uint16
	TTL              uint8
	IPID             uint16
	Payload          []byte
}

// IP returns the datagram as an IPv4 or IPv6 packet.
func (u UDP) IP() IPPacket {
	h := make([]byte, 8+len(u.Payload))
	binary.BigEndian.PutUint16(h[0:], u.SrcPort)
	binary.BigEndian.PutUint16(h[2:], u.DstPort)
	binary.BigEndian.PutUint16(h[4:], uint16(len(h)))
	copy(h[8:], u.Payload)
	return ipPacket(u.Src, u.Dst, 17, u.TTL, u.IPID, h, 6)
}

// Raw returns the datagram as a raw IP packet.
func (u UDP) Raw() []byte { return u.IP().Raw() }

// Ethernet returns the datagram in an Ethernet frame (see IPPacket.Ethernet).
func (u UDP) Ethernet(src, dst [6]byte, vlans ...uint16) []byte {
	return u.IP().Ethernet(src, dst, vlans...)
}

// SLL returns the datagram in a Linux SLL frame.
func (u UDP) SLL() []byte { return u.IP().SLL() }

// SLL2 returns the datagram in a Linux SLL2 frame.
func (u UDP) SLL2() []byte { return u.IP().SLL2() }

// Null returns the datagram in a little-endian BSD NULL frame.
func (u UDP) Null() []byte { return u.IP().Null(false) }

// PKTAP returns the datagram in a PKTAP frame around raw IP.
func (u UDP) PKTAP(proc string, pid int32) []byte { return u.IP().PKTAP(proc, pid) }

// ICMPError is an ICMP or ICMPv6 error message (by the address family)
// sent from Src (a router or the destination) to Dst, quoting Quote, the
// offending packet as sent (e.g. TCP{...}.IP()). IPv4 quotes its IP header
// and 8 bytes (RFC 792); IPv6 as much as fits 1280 bytes. TTL 0 means 64.
type ICMPError struct {
	Src, Dst   netip.Addr
	Type, Code uint8
	TTL        uint8
	IPID       uint16
	Quote      []byte
}

// ICMPv4 and ICMPv6 error types.
const (
	ICMPv4Unreachable  uint8 = 3
	ICMPv4TimeExceeded uint8 = 11
	ICMPv6Unreachable  uint8 = 1
	ICMPv6TooBig       uint8 = 2
	ICMPv6TimeExceeded uint8 = 3
)

// IP returns the message as an IP packet.
func (m ICMPError) IP() IPPacket {
	q := m.Quote
	if m.Src.Is4() {
		if len(q) > 0 {
			ihl := int(q[0]&0x0f) * 4
			if len(q) > ihl+8 {
				q = q[:ihl+8]
			}
		}
		h := make([]byte, 8+len(q))
		h[0], h[1] = m.Type, m.Code
		copy(h[8:], q)
		binary.BigEndian.PutUint16(h[2:], checksum(h, 0))
		return ipPacket(m.Src, m.Dst, 1, m.TTL, m.IPID, h, -1)
	}
	if len(q) > 1280-48 {
		q = q[:1280-48]
	}
	h := make([]byte, 8+len(q))
	h[0], h[1] = m.Type, m.Code
	copy(h[8:], q)
	return ipPacket(m.Src, m.Dst, 58, m.TTL, 0, h, 2)
}

// ICMPUnreachable is a destination unreachable message (ICMP type 3 or
// ICMPv6 type 1) with Code (e.g. 13 / 1: administratively prohibited; 3 /
// 4: port unreachable), quoting Quote.
type ICMPUnreachable struct {
	Src, Dst netip.Addr
	Code     uint8
	TTL      uint8
	Quote    []byte
}

// IP returns the message as an IP packet.
func (m ICMPUnreachable) IP() IPPacket {
	typ := ICMPv4Unreachable
	if !m.Src.Is4() {
		typ = ICMPv6Unreachable
	}
	return ICMPError{Src: m.Src, Dst: m.Dst, Type: typ, Code: m.Code, TTL: m.TTL, Quote: m.Quote}.IP()
}

// Raw returns the message as a raw IP packet.
func (m ICMPUnreachable) Raw() []byte { return m.IP().Raw() }

// Ethernet returns the message in an Ethernet frame (see IPPacket.Ethernet).
func (m ICMPUnreachable) Ethernet(src, dst [6]byte, vlans ...uint16) []byte {
	return m.IP().Ethernet(src, dst, vlans...)
}

// SLL returns the message in a Linux SLL frame.
func (m ICMPUnreachable) SLL() []byte { return m.IP().SLL() }

// SLL2 returns the message in a Linux SLL2 frame.
func (m ICMPUnreachable) SLL2() []byte { return m.IP().SLL2() }

// Null returns the message in a little-endian BSD NULL frame.
func (m ICMPUnreachable) Null() []byte { return m.IP().Null(false) }

// PKTAP returns the message in a PKTAP frame around raw IP.
func (m ICMPUnreachable) PKTAP(proc string, pid int32) []byte {
	return m.IP().PKTAP(proc, pid)
}

// ipPacket wraps a transport segment in an IPv4 or IPv6 header and fills
// the transport checksum at csumOff (-1: none, already done).
func ipPacket(src, dst netip.Addr, proto, ttl uint8, id uint16, seg []byte, csumOff int) IPPacket {
	if ttl == 0 {
		ttl = 64
	}
	if src.Is4() {
		b := make([]byte, 20+len(seg))
		b[0] = 0x45
		binary.BigEndian.PutUint16(b[2:], uint16(len(b)))
		binary.BigEndian.PutUint16(b[4:], id)
		b[6] = 0x40 // don't fragment
		b[8] = ttl
		b[9] = proto
		s, d := src.As4(), dst.As4()
		copy(b[12:], s[:])
		copy(b[16:], d[:])
		binary.BigEndian.PutUint16(b[10:], checksum(b[:20], 0))
		copy(b[20:], seg)
		if csumOff >= 0 {
			sum := pseudo(s[:], d[:], proto, len(seg))
			binary.BigEndian.PutUint16(b[20+csumOff:], checksum(b[20:], sum))
		}
		return b
	}
	b := make([]byte, 40+len(seg))
	b[0] = 0x60
	binary.BigEndian.PutUint16(b[4:], uint16(len(seg)))
	b[6] = proto
	b[7] = ttl
	s, d := src.As16(), dst.As16()
	copy(b[8:], s[:])
	copy(b[24:], d[:])
	copy(b[40:], seg)
	if csumOff >= 0 {
		sum := pseudo(s[:], d[:], proto, len(seg))
		binary.BigEndian.PutUint16(b[40+csumOff:], checksum(b[40:], sum))
	}
	return b
}

func pseudo(src, dst []byte, proto uint8, n int) uint32 {
	var sum uint32
	for i := 0; i+1 < len(src); i += 2 {
		sum += uint32(binary.BigEndian.Uint16(src[i:]))
		sum += uint32(binary.BigEndian.Uint16(dst[i:]))
	}
	return sum + uint32(proto) + uint32(n)
}

func checksum(b []byte, sum uint32) uint16 {
	for i := 0; i+1 < len(b); i += 2 {
		sum += uint32(binary.BigEndian.Uint16(b[i:]))
	}
	if len(b)%2 == 1 {
		sum += uint32(b[len(b)-1]) << 8
	}
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}
