package decode

import (
	"encoding/binary"
	"errors"
	"net/netip"

	"github.com/gopacket/gopacket/layers"
)

// Sentinel errors returned by Decode; callers count them by kind.
var (
	// ErrUnsupportedLink: the link type is not one Decode understands.
	ErrUnsupportedLink = errors.New("decode: unsupported link type")
	// ErrNotIP: a well-formed frame that carries no IPv4/IPv6 (ARP, LLDP, ...).
	ErrNotIP = errors.New("decode: not an IP packet")
	// ErrTruncated: the frame ends inside a header.
	ErrTruncated = errors.New("decode: truncated header")
	// ErrMalformed: a header field is impossible (bad version, length, ...).
	ErrMalformed = errors.New("decode: malformed header")
)

// Link types Decode accepts beyond gopacket's names.
const (
	LinkTypePKTAP       layers.LinkType = 258 // Apple PKTAP
	LinkTypePKTAPDarwin layers.LinkType = 149 // PKTAP as macOS writes it (DLT_USER2)
	linkTypeRaw12       layers.LinkType = 12  // DLT_RAW on most BSDs
	linkTypeRaw14       layers.LinkType = 14  // DLT_RAW on OpenBSD
)

// Limits on header chains, so hostile frames cost bounded work.
const (
	maxTags       = 8 // VLAN tags plus MPLS labels
	maxExtHeaders = 8 // IPv6 extension headers
)

// Decoder decodes frames into Packets without allocating. It holds no
// state between calls; use one per goroutine.
type Decoder struct{}

// NewDecoder returns a Decoder.
//
// The decoder is hand-written rather than built on gopacket's
// DecodingLayerParser: it needs behaviour gopacket's layers do not have
// (payloads clipped to the IP and UDP lengths, stacked VLAN tags, PKTAP,
// quoted packets in ICMP errors, later fragments) and it is several times
// faster (see BenchmarkDecode and BenchmarkGopacketParser).
func NewDecoder() *Decoder { return &Decoder{} }

// Decode decodes frame, of link type link, into p. Every field of p is
// overwritten; on error the fields decoded before the problem stay set
// (e.g. the addresses of an IP packet whose TCP header is cut). p.WireLen
// is set to len(frame): callers reading a capture set it from the record.
// It returns nil or one of the sentinel errors.
func (d *Decoder) Decode(link layers.LinkType, frame []byte, p *Packet) error {
	*p = Packet{WireLen: len(frame)}
	return d.link(link, frame, p, true)
}

func (d *Decoder) link(link layers.LinkType, b []byte, p *Packet, outer bool) error {
	switch link {
	case layers.LinkTypeEthernet:
		if len(b) < 14 {
			return ErrTruncated
		}
		p.HasMAC = true
		copy(p.DstMAC[:], b[0:6])
		copy(p.SrcMAC[:], b[6:12])
		return d.ether(binary.BigEndian.Uint16(b[12:14]), b[14:], p)
	case layers.LinkTypeLinuxSLL:
		// type(2) arphrd(2) addrlen(2) addr(8) protocol(2). The address
		// length is not trusted: the address field is 8 bytes whatever it
		// says.
		if len(b) < 16 {
			return ErrTruncated
		}
		return d.ether(binary.BigEndian.Uint16(b[14:16]), b[16:], p)
	case layers.LinkTypeLinuxSLL2:
		// protocol(2) reserved(2) ifindex(4) arphrd(2) type(1) addrlen(1) addr(8)
		if len(b) < 20 {
			return ErrTruncated
		}
		return d.ether(binary.BigEndian.Uint16(b[0:2]), b[20:], p)
	case layers.LinkTypeRaw, linkTypeRaw12, linkTypeRaw14:
		return d.ipByVersion(b, p, ErrMalformed)
	case layers.LinkTypeIPv4:
		return d.ipv4(b, p)
	case layers.LinkTypeIPv6:
		return d.ipv6(b, p)
	case layers.LinkTypeNull, layers.LinkTypeLoop:
		if len(b) < 4 {
			return ErrTruncated
		}
		var fam uint32
		if link == layers.LinkTypeLoop {
			fam = binary.BigEndian.Uint32(b)
		} else {
			// Host byte order of the writer: families are small numbers.
			fam = binary.LittleEndian.Uint32(b)
			if fam > 0xffff {
				fam = binary.BigEndian.Uint32(b)
			}
		}
		return d.family(fam, b[4:], p)
	case LinkTypePKTAP, LinkTypePKTAPDarwin:
		if !outer {
			return ErrMalformed // PKTAP inside PKTAP
		}
		return d.pktap(b, p)
	case layers.LinkTypeIEEE80211Radio:
		// Radiotap: version(1) pad(1) length(2, little endian) ...; the
		// 802.11 frame follows. A trailing FCS is harmless: payloads are
		// clipped to the IP length.
		if len(b) < 8 {
			return ErrTruncated
		}
		n := int(binary.LittleEndian.Uint16(b[2:4]))
		if b[0] != 0 || n < 8 || n > len(b) {
			return ErrMalformed
		}
		return d.wifi(b[n:], p)
	case layers.LinkTypeIEEE802_11:
		return d.wifi(b, p)
	}
	return ErrUnsupportedLink
}

// wifi decodes an 802.11 data frame carrying LLC/SNAP: Wi-Fi captures in
// monitor mode (a Mac's Wireless Diagnostics sniffer writes radiotap).
// Encrypted frames carry nothing readable and count as not IP.
func (d *Decoder) wifi(b []byte, p *Packet) error {
	if len(b) < 24 {
		return ErrTruncated
	}
	fc0, fc1 := b[0], b[1]
	if fc0&0x0c != 0x08 { // type 2: data
		return ErrNotIP
	}
	if fc0&0x40 != 0 { // null-function subtypes carry no payload
		return ErrNotIP
	}
	if fc1&0x40 != 0 { // protected
		return ErrNotIP
	}
	toDS, fromDS := fc1&0x01 != 0, fc1&0x02 != 0
	hdr := 24
	if toDS && fromDS {
		hdr += 6 // address 4
	}
	if fc0&0x80 != 0 { // QoS data
		hdr += 2
		if fc1&0x80 != 0 { // +HTC
			hdr += 4
		}
	}
	if len(b) < hdr+8 {
		return ErrTruncated
	}
	// Addresses by the DS bits: 1 is the receiver, 2 the transmitter.
	da, sa := b[4:10], b[10:16]
	switch {
	case toDS && !fromDS:
		da = b[16:22]
	case fromDS && !toDS:
		sa = b[16:22]
	case toDS && fromDS:
		da, sa = b[16:22], b[24:30]
	}
	p.HasMAC = true
	copy(p.DstMAC[:], da)
	copy(p.SrcMAC[:], sa)
	llc := b[hdr:]
	if llc[0] != 0xaa || llc[1] != 0xaa || llc[2] != 0x03 {
		return ErrNotIP
	}
	return d.ether(binary.BigEndian.Uint16(llc[6:8]), llc[8:], p)
}

// family decodes an IP packet after a BSD address family number.
func (d *Decoder) family(fam uint32, b []byte, p *Packet) error {
	switch fam {
	case 2: // AF_INET
		return d.ipv4(b, p)
	case 10, 24, 28, 30: // AF_INET6: Linux, NetBSD/OpenBSD, FreeBSD, Darwin
		return d.ipv6(b, p)
	}
	return ErrNotIP
}

// PKTAP header fields (little endian), from XNU's struct pktap_header.
const (
	pktapMinLen   = 108 // through pth_ecomm, as tcpdump requires
	pktapTypeOff  = 4
	pktapDLTOff   = 8
	pktapPIDOff   = 52
	pktapCommOff  = 56
	pktapCommLen  = 17 // MAXCOMLEN + 1
	pktapTypePkt  = 1  // PTH_TYPE_PACKET
	dltNull       = 0
	dltEN10MB     = 1
	dltRaw        = 12
	dltRawOpenBSD = 14
	dltLoop       = 108
)

func (d *Decoder) pktap(b []byte, p *Packet) error {
	if len(b) < pktapMinLen {
		return ErrTruncated
	}
	le := binary.LittleEndian
	hlen := le.Uint32(b[0:4])
	if hlen < pktapMinLen {
		return ErrMalformed
	}
	if uint64(hlen) > uint64(len(b)) {
		return ErrTruncated
	}
	p.PID = int32(le.Uint32(b[pktapPIDOff:]))
	comm := b[pktapCommOff : pktapCommOff+pktapCommLen]
	n := 0
	for n < len(comm) && comm[n] != 0 {
		n++
	}
	p.ProcLen = uint8(copy(p.ProcBuf[:], comm[:n]))
	if le.Uint32(b[pktapTypeOff:]) != pktapTypePkt {
		return ErrNotIP
	}
	inner := b[hlen:]
	var lt layers.LinkType
	switch le.Uint32(b[pktapDLTOff:]) {
	case dltNull:
		lt = layers.LinkTypeNull
	case dltEN10MB:
		lt = layers.LinkTypeEthernet
	case dltRaw, dltRawOpenBSD, uint32(layers.LinkTypeRaw):
		lt = layers.LinkTypeRaw
	case dltLoop:
		lt = layers.LinkTypeLoop
	default:
		return ErrUnsupportedLink
	}
	return d.link(lt, inner, p, false)
}

// Ethertypes.
const (
	etIPv4     = 0x0800
	etIPv6     = 0x86dd
	etVLAN     = 0x8100
	etQinQ     = 0x88a8
	etQinQOld  = 0x9100
	etPPPoE    = 0x8864
	etMPLS     = 0x8847
	etMPLSMult = 0x8848
)

// ether decodes the payload of an Ethernet-style header by ethertype,
// through VLAN tags, MPLS labels and PPPoE sessions.
func (d *Decoder) ether(et uint16, b []byte, p *Packet) error {
	for tags := 0; ; tags++ {
		if tags > maxTags {
			return ErrMalformed
		}
		switch et {
		case etIPv4:
			return d.ipv4(b, p)
		case etIPv6:
			return d.ipv6(b, p)
		case etVLAN, etQinQ, etQinQOld:
			if len(b) < 4 {
				return ErrTruncated
			}
			if tags == 0 {
				p.VLAN = binary.BigEndian.Uint16(b[0:2]) & 0x0fff
			}
			et = binary.BigEndian.Uint16(b[2:4])
			b = b[4:]
		case etPPPoE:
			// ver/type(1) code(1) session(2) length(2) PPP protocol(2)
			if len(b) < 8 {
				return ErrTruncated
			}
			if b[0] != 0x11 || b[1] != 0 {
				return ErrNotIP
			}
			switch binary.BigEndian.Uint16(b[6:8]) {
			case 0x0021:
				return d.ipv4(b[8:], p)
			case 0x0057:
				return d.ipv6(b[8:], p)
			}
			return ErrNotIP
		case etMPLS, etMPLSMult:
			if len(b) < 4 {
				return ErrTruncated
			}
			bottom := b[2]&1 != 0
			b = b[4:]
			if !bottom {
				continue
			}
			return d.ipByVersion(b, p, ErrNotIP) // else a pseudowire or other payload
		default:
			return ErrNotIP
		}
	}
}

// ipByVersion decodes an IP packet by its version nibble; other returns
// what anything else is.
func (d *Decoder) ipByVersion(b []byte, p *Packet, other error) error {
	if len(b) < 1 {
		return ErrTruncated
	}
	switch b[0] >> 4 {
	case 4:
		return d.ipv4(b, p)
	case 6:
		return d.ipv6(b, p)
	}
	return other
}

func (d *Decoder) ipv4(b []byte, p *Packet) error {
	if len(b) < 20 {
		return ErrTruncated
	}
	if b[0]>>4 != 4 {
		return ErrMalformed
	}
	ihl := int(b[0]&0x0f) * 4
	if ihl < 20 {
		return ErrMalformed
	}
	if len(b) < ihl {
		return ErrTruncated
	}
	total := int(binary.BigEndian.Uint16(b[2:4]))
	switch {
	case total == 0:
		// Segmentation offload: the stack had not filled it in yet.
		total = len(b)
	case total < ihl:
		return ErrMalformed
	case total > len(b):
		total = len(b) // cut by the snap length
	}
	b = b[:total] // drop link-layer padding
	p.IPVersion = 4
	p.TTL = b[8]
	p.IPID = binary.BigEndian.Uint16(b[4:6])
	p.Proto = b[9]
	p.Src = netip.AddrFrom4([4]byte(b[12:16]))
	p.Dst = netip.AddrFrom4([4]byte(b[16:20]))
	frag := binary.BigEndian.Uint16(b[6:8])
	if frag&0x3fff != 0 { // more fragments, or an offset
		p.Fragment = true
		p.FragOffset = int(frag&0x1fff) * 8
		p.FragMore = frag&0x2000 != 0
		p.FragID = uint32(p.IPID)
		p.FragData = b[ihl:]
		if frag&0x1fff != 0 {
			return nil // a later fragment: no transport header
		}
	}
	return d.transport(b[ihl:], p)
}

// IPv6 extension header numbers.
const (
	ip6HopByHop = 0
	ip6Routing  = 43
	ip6Fragment = 44
	ip6DestOpts = 60
	ip6AH       = 51
)

func (d *Decoder) ipv6(b []byte, p *Packet) error {
	if len(b) < 40 {
		return ErrTruncated
	}
	if b[0]>>4 != 6 {
		return ErrMalformed
	}
	plen := int(binary.BigEndian.Uint16(b[4:6]))
	if plen != 0 && 40+plen < len(b) {
		b = b[:40+plen] // drop link-layer padding; 0 is a jumbogram or offload
	}
	p.IPVersion = 6
	p.TTL = b[7]
	p.Src = netip.AddrFrom16([16]byte(b[8:24]))
	p.Dst = netip.AddrFrom16([16]byte(b[24:40]))
	var fi fragInfo
	next, rest, frag, err := skipExt(b[6], b[40:], &fi)
	p.Proto = next
	if err != nil {
		return err
	}
	if frag != 0 {
		p.Fragment = true
		p.FragOffset, p.FragMore, p.FragID, p.FragData = fi.off, fi.more, fi.id, fi.data
		if frag == 2 {
			return nil // a later fragment
		}
	}
	return d.transport(rest, p)
}

// skipExt skips IPv6 extension headers. frag is 0 without a fragment
// header, 1 for a first fragment, 2 for a later one.
// fragInfo is what an IPv6 fragment header says, for reassembly.
type fragInfo struct {
	off  int
	more bool
	id   uint32
	data []byte // the bytes after the fragment header
}

func skipExt(next uint8, b []byte, fi *fragInfo) (uint8, []byte, int, error) {
	frag := 0
	for i := 0; ; i++ {
		switch next {
		case ip6HopByHop, ip6Routing, ip6DestOpts, ip6AH, ip6Fragment:
		default:
			return next, b, frag, nil
		}
		if i >= maxExtHeaders {
			return next, nil, frag, ErrMalformed
		}
		if len(b) < 8 {
			return next, nil, frag, ErrTruncated
		}
		var n int
		switch next {
		case ip6Fragment:
			n = 8
			off := binary.BigEndian.Uint16(b[2:4])
			if off&0xfff8 != 0 {
				frag = 2
			} else if frag == 0 && off&1 != 0 {
				frag = 1
			}
			if fi != nil && frag != 0 {
				*fi = fragInfo{off: int(off &^ 7), more: off&1 != 0, id: binary.BigEndian.Uint32(b[4:8]), data: b[8:]}
			}
		case ip6AH:
			n = (int(b[1]) + 2) * 4
		default:
			n = (int(b[1]) + 1) * 8
		}
		if len(b) < n {
			return next, nil, frag, ErrTruncated
		}
		next = b[0]
		b = b[n:]
		if frag == 2 {
			return next, b, frag, nil
		}
	}
}

func (d *Decoder) transport(b []byte, p *Packet) error {
	switch p.Proto {
	case ProtoTCP:
		if len(b) < 20 {
			return ErrTruncated
		}
		off := int(b[12]>>4) * 4
		if off < 20 {
			return ErrMalformed
		}
		p.SrcPort = binary.BigEndian.Uint16(b[0:2])
		p.DstPort = binary.BigEndian.Uint16(b[2:4])
		p.Seq = binary.BigEndian.Uint32(b[4:8])
		p.Ack = binary.BigEndian.Uint32(b[8:12])
		p.TCPFlags = b[13]
		p.Window = binary.BigEndian.Uint16(b[14:16])
		if len(b) < off {
			return ErrTruncated
		}
		p.Payload = b[off:]
	case ProtoUDP:
		if len(b) < 8 {
			return ErrTruncated
		}
		p.SrcPort = binary.BigEndian.Uint16(b[0:2])
		p.DstPort = binary.BigEndian.Uint16(b[2:4])
		ulen := int(binary.BigEndian.Uint16(b[4:6]))
		switch {
		case ulen == 0: // IPv6 jumbogram or offload
		case ulen < 8:
			return ErrMalformed
		case ulen < len(b):
			b = b[:ulen]
		}
		p.Payload = b[8:]
	case ProtoICMP, ProtoICMPv6:
		if len(b) < 4 {
			return ErrTruncated
		}
		p.ICMPType, p.ICMPCode = b[0], b[1]
		if len(b) < 8 {
			return ErrTruncated
		}
		p.Payload = b[8:]
		if quotes(p.Proto, p.ICMPType) {
			quoted(b[8:], &p.Inner)
		}
	}
	return nil
}

// quotes reports whether an ICMP message type quotes the offending packet.
func quotes(proto, typ uint8) bool {
	if proto == ProtoICMP {
		// unreachable, source quench, redirect, time exceeded, parameter problem
		return typ == 3 || typ == 4 || typ == 5 || typ == 11 || typ == 12
	}
	// unreachable, packet too big, time exceeded, parameter problem
	return typ >= 1 && typ <= 4
}

// quoted decodes the IP header and first transport bytes quoted in an ICMP
// error. The quote is often cut, so lengths inside it are not enforced.
func quoted(b []byte, q *Quoted) {
	if len(b) < 1 {
		return
	}
	switch b[0] >> 4 {
	case 4:
		if len(b) < 20 {
			return
		}
		ihl := int(b[0]&0x0f) * 4
		if ihl < 20 || len(b) < ihl {
			return
		}
		q.Valid = true
		q.Proto = b[9]
		q.Src = netip.AddrFrom4([4]byte(b[12:16]))
		q.Dst = netip.AddrFrom4([4]byte(b[16:20]))
		if binary.BigEndian.Uint16(b[6:8])&0x1fff != 0 {
			return // a later fragment: no ports
		}
		b = b[ihl:]
	case 6:
		if len(b) < 40 {
			return
		}
		q.Valid = true
		q.Src = netip.AddrFrom16([16]byte(b[8:24]))
		q.Dst = netip.AddrFrom16([16]byte(b[24:40]))
		next, rest, frag, err := skipExt(b[6], b[40:], nil)
		q.Proto = next
		if err != nil || frag == 2 {
			return
		}
		b = rest
	default:
		return
	}
	switch q.Proto {
	case ProtoTCP, ProtoUDP:
		if len(b) >= 4 {
			q.SrcPort = binary.BigEndian.Uint16(b[0:2])
			q.DstPort = binary.BigEndian.Uint16(b[2:4])
		}
	}
}
