package decode

import "net/netip"

// TCP flag bits as they appear in Packet.TCPFlags.
const (
	FlagFIN uint8 = 1 << iota
	FlagSYN
	FlagRST
	FlagPSH
	FlagACK
	FlagURG
	FlagECE
	FlagCWR
)

// IP protocol numbers used in Packet.Proto.
const (
	ProtoICMP   uint8 = 1
	ProtoTCP    uint8 = 6
	ProtoUDP    uint8 = 17
	ProtoICMPv6 uint8 = 58
)

// Packet is the decoded view of one frame. A Decoder overwrites every field
// on each call; Payload and the slices it points into are only valid until
// the frame's buffer is reused.
type Packet struct {
	// HasMAC is set when the link layer carried Ethernet addresses.
	HasMAC         bool
	SrcMAC, DstMAC [6]byte
	// VLAN is the outermost 802.1Q VLAN ID, 0 when untagged.
	VLAN uint16

	// PID and Proc come from an Apple PKTAP header (0 and empty otherwise).
	PID     int32
	ProcLen uint8
	ProcBuf [20]byte

	// IPVersion is 4 or 6, or 0 when the frame carried no IP packet.
	IPVersion uint8
	Src, Dst  netip.Addr
	TTL       uint8  // IPv4 TTL or IPv6 hop limit
	IPID      uint16 // IPv4 identification (0 for IPv6)
	// Fragment is set for any IP fragment (first or later); later fragments
	// carry no transport header and have Proto set but ports zero.
	Fragment bool
	// For a fragment: its offset in bytes, whether more follow, the
	// datagram's identification and the fragment's data (the bytes after
	// the IP header, or after the IPv6 fragment header), for reassembly.
	FragOffset int
	FragMore   bool
	FragID     uint32
	FragData   []byte
	Proto      uint8

	SrcPort, DstPort uint16
	TCPFlags         uint8
	Seq, Ack         uint32
	Window           uint16
	// Payload is the TCP or UDP payload (ICMP: the bytes after the 8-byte
	// ICMP header), sliced from the frame and clipped to the IP length.
	Payload []byte

	ICMPType, ICMPCode uint8
	// Inner describes the packet quoted inside an ICMP/ICMPv6 error message
	// (destination unreachable, time exceeded, ...).
	Inner Quoted

	// WireLen is the frame's original length on the wire.
	WireLen int
}

// Quoted is the IP and transport header quoted inside an ICMP error.
type Quoted struct {
	Valid            bool
	Proto            uint8
	Src, Dst         netip.Addr
	SrcPort, DstPort uint16
}

// Proc returns the PKTAP process name, or "" when the capture had none.
func (p *Packet) Proc() string { return string(p.ProcBuf[:p.ProcLen]) }
