package decode

import (
	"encoding/binary"
	"net/netip"

	"github.com/gopacket/gopacket/layers"
)

// HashKind says what FrameHash learnt of a frame.
type HashKind uint8

// FrameHash results.
const (
	// HashFlow: a TCP or UDP packet that is not a fragment; the hash is
	// its flow's, as Packet.FlowHash computes it once decoded.
	HashFlow HashKind = iota
	// HashNone: no flow to speak of (not IP, or an IP protocol the
	// engine ignores); any one worker may decode and count it.
	HashNone
	// HashDecode: the frame needs a full decode to know its flow (ICMP
	// errors, fragments, IPv6 extension headers, tunnels, 802.11, or
	// anything the fast path does not parse).
	HashDecode
)

// FrameHash finds a frame's flow hash from its raw bytes, without a full
// decode, for sharding packets over workers. When it returns HashFlow and
// the frame decodes, the hash equals the decoded Packet's FlowHash; both
// directions of a flow hash alike.
func FrameHash(link layers.LinkType, b []byte) (uint64, HashKind) {
	return frameHash(link, b, true)
}

func frameHash(link layers.LinkType, b []byte, outer bool) (uint64, HashKind) {
	be := binary.BigEndian
	switch link {
	case layers.LinkTypeEthernet:
		if len(b) < 14 {
			return 0, HashNone
		}
		et, b := be.Uint16(b[12:14]), b[14:]
		for tags := 0; tags < 2 && (et == etVLAN || et == etQinQ || et == etQinQOld); tags++ {
			if len(b) < 4 {
				return 0, HashNone
			}
			et, b = be.Uint16(b[2:4]), b[4:]
		}
		return etherHash(et, b)
	case layers.LinkTypeLinuxSLL:
		if len(b) < 16 {
			return 0, HashNone
		}
		return etherHash(be.Uint16(b[14:16]), b[16:])
	case layers.LinkTypeLinuxSLL2:
		if len(b) < 20 {
			return 0, HashNone
		}
		return etherHash(be.Uint16(b[0:2]), b[20:])
	case layers.LinkTypeRaw, linkTypeRaw12, linkTypeRaw14:
		if len(b) < 1 {
			return 0, HashNone
		}
		switch b[0] >> 4 {
		case 4:
			return ipv4Hash(b)
		case 6:
			return ipv6Hash(b)
		}
		return 0, HashNone
	case layers.LinkTypeIPv4:
		return ipv4Hash(b)
	case layers.LinkTypeIPv6:
		return ipv6Hash(b)
	case LinkTypePKTAP, LinkTypePKTAPDarwin:
		if !outer || len(b) < pktapMinLen {
			return 0, HashNone
		}
		le := binary.LittleEndian
		hlen := le.Uint32(b[0:4])
		if hlen < pktapMinLen || uint64(hlen) > uint64(len(b)) || le.Uint32(b[pktapTypeOff:]) != pktapTypePkt {
			return 0, HashNone
		}
		switch le.Uint32(b[pktapDLTOff:]) {
		case dltEN10MB:
			return frameHash(layers.LinkTypeEthernet, b[hlen:], false)
		case dltRaw, dltRawOpenBSD, uint32(layers.LinkTypeRaw):
			return frameHash(layers.LinkTypeRaw, b[hlen:], false)
		}
	}
	return 0, HashDecode
}

func etherHash(et uint16, b []byte) (uint64, HashKind) {
	switch et {
	case etIPv4:
		return ipv4Hash(b)
	case etIPv6:
		return ipv6Hash(b)
	case etVLAN, etQinQ, etQinQOld, etPPPoE, etMPLS, etMPLSMult:
		return 0, HashDecode
	}
	return 0, HashNone
}

func ipv4Hash(b []byte) (uint64, HashKind) {
	if len(b) < 20 || b[0]>>4 != 4 {
		return 0, HashNone
	}
	be := binary.BigEndian
	if be.Uint16(b[6:8])&0x3fff != 0 { // more fragments, or an offset
		return 0, HashDecode
	}
	proto := b[9]
	switch proto {
	case ProtoTCP, ProtoUDP:
	case ProtoICMP, ProtoICMPv6: // the decoder takes either in IPv4
		return 0, HashDecode
	default:
		return 0, HashNone
	}
	ihl := int(b[0]&0x0f) * 4
	if ihl < 20 || len(b) < ihl+4 {
		return 0, HashDecode // whatever it is, the decoder says
	}
	a := endpoint4(be.Uint32(b[12:16]), be.Uint16(b[ihl:ihl+2]))
	z := endpoint4(be.Uint32(b[16:20]), be.Uint16(b[ihl+2:ihl+4]))
	return combine(a, z, proto), HashFlow
}

func ipv6Hash(b []byte) (uint64, HashKind) {
	if len(b) < 40 || b[0]>>4 != 6 {
		return 0, HashNone
	}
	proto := b[6]
	if proto != ProtoTCP && proto != ProtoUDP || len(b) < 44 {
		return 0, HashDecode // ICMPv6, extension headers, fragments
	}
	be := binary.BigEndian
	a := endpoint6(be.Uint64(b[8:16]), be.Uint64(b[16:24]), be.Uint16(b[40:42]))
	z := endpoint6(be.Uint64(b[24:32]), be.Uint64(b[32:40]), be.Uint16(b[42:44]))
	return combine(a, z, proto), HashFlow
}

// FlowHash is the decoded packet's flow hash: of its own flow, or for an
// ICMP error, of the flow it quotes. It is false for packets with no flow
// (later fragments, other protocols).
func (p *Packet) FlowHash() (uint64, bool) {
	switch p.Proto {
	case ProtoTCP, ProtoUDP:
		if p.Fragment && p.SrcPort == 0 && p.DstPort == 0 {
			return 0, false
		}
		return AddrHash(p.Src, p.SrcPort, p.Dst, p.DstPort, p.Proto), true
	case ProtoICMP, ProtoICMPv6:
		in := &p.Inner
		unreachable := (p.Proto == ProtoICMP && p.ICMPType == 3) || (p.Proto == ProtoICMPv6 && p.ICMPType == 1)
		if in.Valid && unreachable {
			return AddrHash(in.Src, in.SrcPort, in.Dst, in.DstPort, in.Proto), true
		}
		return AddrHash(p.Src, 0, p.Dst, 0, p.Proto), true
	}
	return 0, false
}

// AddrHash is the symmetric flow hash of two endpoints and a protocol.
func AddrHash(a netip.Addr, pa uint16, z netip.Addr, pz uint16, proto uint8) uint64 {
	return combine(endpoint(a, pa), endpoint(z, pz), proto)
}

func endpoint(a netip.Addr, port uint16) uint64 {
	if a.Is4() {
		v := a.As4()
		return endpoint4(binary.BigEndian.Uint32(v[:]), port)
	}
	v := a.As16()
	return endpoint6(binary.BigEndian.Uint64(v[:8]), binary.BigEndian.Uint64(v[8:]), port)
}

func endpoint4(addr uint32, port uint16) uint64 {
	return mix64(uint64(addr)<<16 | uint64(port) | 4<<48)
}

func endpoint6(hi, lo uint64, port uint16) uint64 {
	return mix64(hi ^ mix64(lo^uint64(port)^6<<48))
}

// combine adds the two endpoints' hashes: the same in both directions.
func combine(a, z uint64, proto uint8) uint64 {
	return mix64(a + z + uint64(proto))
}

// mix64 is the finaliser of MurmurHash3.
func mix64(x uint64) uint64 {
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb9fe1a85ec53
	x ^= x >> 33
	return x
}
