package communityid

import "net/netip"

// counterpart returns the type answering an ICMP (v4) or ICMPv6 request
// type, or the request an answer type belongs to, as Zeek (and the
// specification's reference implementation) pair them.
func counterpart(proto, typ uint8) (uint8, bool) {
	if proto == ProtoICMPv6 {
		switch typ {
		case 128, 130, 133, 135, 139, 144: // echo, listener query, router and neighbor solicitation, node information, home agent discovery
			return typ + 1, true
		case 129, 131, 134, 136, 140, 145:
			return typ - 1, true
		}
		return 0, false
	}
	switch typ {
	case 8: // echo request ↔ reply
		return 0, true
	case 0:
		return 8, true
	case 13, 15, 17: // timestamp, information, address mask requests
		return typ + 1, true
	case 14, 16, 18:
		return typ - 1, true
	case 10: // router solicitation ↔ advertisement
		return 9, true
	case 9:
		return 10, true
	}
	return 0, false
}

// ICMP returns the tuple of an ICMP (proto 1) or ICMPv6 (58) message: the
// type is the source port and its counterpart type the destination port
// when the type has one (echo request and reply share an ID); otherwise
// the code is the destination port and the message is hashed one way.
func ICMP(src, dst netip.Addr, proto, typ, code uint8) Tuple {
	t := Tuple{Src: src, Dst: dst, Proto: proto, SrcPort: uint16(typ)}
	if c, ok := counterpart(proto, typ); ok {
		t.DstPort = uint16(c)
	} else {
		t.DstPort, t.OneWay = uint16(code), true
	}
	return t
}
