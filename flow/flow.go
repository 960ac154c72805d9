package flow

import (
	"encoding/binary"
	"net/netip"

	"orchard/decode"
)

// Direction indexes per-direction counters: 0 is client → server.
const (
	DirClient = 0
	DirServer = 1
)

// Key is the canonical 5-tuple: the smaller (address, port) first, so
// both directions of a flow share one key. Fixed-size and pointer-free.
type Key struct {
	a, b   [16]byte
	pa, pb uint16
	proto  uint8
}

// equal reports whether k and o are the same key; word compares, cheaper
// than the generated 37-byte memory comparison.
func (k *Key) equal(o *Key) bool {
	le := binary.LittleEndian
	d := (le.Uint64(k.a[:8]) ^ le.Uint64(o.a[:8])) |
		(le.Uint64(k.a[8:]) ^ le.Uint64(o.a[8:])) |
		(le.Uint64(k.b[:8]) ^ le.Uint64(o.b[:8])) |
		(le.Uint64(k.b[8:]) ^ le.Uint64(o.b[8:]))
	return d == 0 && k.pa == o.pa && k.pb == o.pb && k.proto == o.proto
}

// makeKey returns the canonical key of p's flow, and whether p's sender is
// the key's a side.
func makeKey(p *decode.Packet) (k Key, srcIsA bool) {
	s, d := p.Src.As16(), p.Dst.As16()
	k.proto = p.Proto
	if less(&s, p.SrcPort, &d, p.DstPort) {
		k.a, k.pa, k.b, k.pb = s, p.SrcPort, d, p.DstPort
		return k, true
	}
	k.a, k.pa, k.b, k.pb = d, p.DstPort, s, p.SrcPort
	return k, false
}

// less orders (address, port) pairs: addresses as big-endian numbers.
func less(a *[16]byte, pa uint16, b *[16]byte, pb uint16) bool {
	be := binary.BigEndian
	if x, y := be.Uint64(a[:8]), be.Uint64(b[:8]); x != y {
		return x < y
	}
	if x, y := be.Uint64(a[8:]), be.Uint64(b[8:]); x != y {
		return x < y
	}
	return pa <= pb
}

// tcp history bits, per direction.
const (
	HSYN    uint16 = 1 << iota // SYN without ACK
	HSYNACK                    // SYN with ACK
	HACK                       // pure or piggy-backed ACK (not on a SYN)
	HData                      // payload
	HFIN
	HRST
	// hProgress: an ACK without SYN or RST, or payload. From a client after
	// its SYN it proves the SYN was answered, seen or not.
	HProgress
)

// Endpoint is what a flow knows of one of its two sides, as gopacket's
// reassembly keeps c2s and s2c and Zeek c$orig and c$resp: what the side
// sent, its TCP history, the TTL and IP ID of its packets, and its byte
// stream. A flow's Orig is its client, Resp its server.
type Endpoint struct {
	Packets uint64 // packets sent
	Bytes   uint64 // payload bytes sent

	Stream Stream // the side's TCP bytes, while a dissector reads them

	// lastSeen is the time of the side's last packet other than an RST
	// (notePacket; the judge reads it for forged resets).
	lastSeen int64
	// seq0 and maxAck are the side's first sequence number and highest
	// ACK, for the capture-loss estimate (seqAck, AckedBytes).
	seq0, maxAck uint32
	// nextSeq is the highest sequence number sent, past its payload
	// (notePacket; the judge reads it for forged resets).
	nextSeq uint32
	Hist    uint16 // tcp history bits (HSYN …)
	// lastIPID, firstTTL and lastTTL are the IP ID of the side's last
	// non-RST packet and the TTL of its first and last one.
	LastIPID          uint16
	MAC               [6]byte // the side's Ethernet source address, when the link had one
	FirstTTL, LastTTL uint8
	HasMAC            bool
	TTLSet            bool
	seqSet, ackSet    bool
	nextSet           bool
	ipidSet           bool
	Counting          bool // the side's IP IDs count up (a shared or per-flow counter)
	DataAfterRST      bool // payload seen from the side after the first RST
}

// Flow is one connection (TCP) or exchange (UDP) oriented client → server.
//
// Its fields are ordered so that none pads the next: 504 bytes, which the
// allocator rounds to 512 (eight cache lines) rather than 576, the record
// of every flow of a flood being read and cleared once more.
type Flow struct {
	key   Key
	Proto uint8
	// clientIsA is true when the client is the key's a side.
	clientIsA bool
	Client    netip.Addr
	Server    netip.Addr
	CPort     uint16
	SPort     uint16
	synSeq    uint32 // TCP: the client's first SYN's sequence number
	// Orig is the client's side, Resp the server's. Turning the flow
	// around swaps them.
	Orig, Resp Endpoint
	VLAN       uint16
	RSTIPID    uint16 // IP ID of the first RST (its TTL is RSTTTL)
	PID        int32
	Proc       string

	First, Last int64 // capture time, Unix nanoseconds

	// TCP.
	SynRetries int
	FirstRST   int   // direction of the first RST: -1 none
	RSTTime    int64 // time of the first RST
	RSTGap     int64 // time from the peer's last packet to the first RST
	SynTime    int64 // first SYN
	SynAckTime int64

	// ICMP destination unreachable joined to this flow (its type follows
	// from ICMPFrom: 3 for ICMPv4, 1 for ICMPv6; its code is ICMPCode).
	ICMPFrom  netip.Addr
	ICMPCount int

	// Set by the application-layer dissection (the feeders): allocated when a
	// dissector first looks at the flow's payload, so flows without one
	// (a SYN flood, unknown UDP) cost none of it. The judge sees an empty
	// one for those.
	App *Facts

	// kept packets for --write-evidence
	Kept []KeptPacket

	// table bookkeeping
	prev, Next *Flow
	Touched    uint64 // index of the packet that last moved it in its list
	Class      int8
	HandedOff  bool // a worker gave it to its Parallel's judge
	oriented   bool // orientation was decided by a SYN or an application message

	RSTTTL   uint8 // TTL of the first RST
	ICMPCode uint8
}

// Side returns the endpoint that sends in direction dir: Orig for
// DirClient, Resp for DirServer.
func (f *Flow) Side(dir int) *Endpoint {
	if dir == DirClient {
		return &f.Orig
	}
	return &f.Resp
}

// State returns the flow's Zeek conn_state for TCP, "" for other protocols.
func (f *Flow) State() string {
	if f.Proto != decode.ProtoTCP {
		return ""
	}
	c, s := f.Orig.Hist, f.Resp.Hist
	syn := c&HSYN != 0
	synack := s&HSYNACK != 0
	switch {
	case syn && !synack:
		switch {
		case s&HRST != 0:
			return "REJ"
		case c&HRST != 0:
			return "RSTOS0"
		case c&HFIN != 0:
			return "SH"
		case s != 0:
			return "OTH"
		}
		return "S0"
	case !syn && synack:
		switch {
		case s&HRST != 0:
			return "RSTRH"
		case s&HFIN != 0:
			return "SHR"
		}
		return "OTH"
	case !syn && !synack:
		return "OTH"
	}
	// Established (SYN and SYN-ACK seen).
	switch {
	case f.FirstRST == DirClient:
		return "RSTO"
	case f.FirstRST == DirServer:
		return "RSTR"
	case c&HFIN != 0 && s&HFIN != 0:
		return "SF"
	case c&HFIN != 0:
		return "S2"
	case s&HFIN != 0:
		return "S3"
	}
	return "S1"
}

// Established reports whether the TCP handshake completed (SYN and SYN-ACK seen).
func (f *Flow) Established() bool {
	return f.Orig.Hist&HSYN != 0 && f.Resp.Hist&HSYNACK != 0
}

// ServerAnswered reports whether the server sent anything at all.
func (f *Flow) ServerAnswered() bool { return f.Resp.Packets > 0 }

// RSTBy returns "client", "server" or "" for the sender of the first RST.
func (f *Flow) RSTBy() string {
	switch f.FirstRST {
	case DirClient:
		return "client"
	case DirServer:
		return "server"
	}
	return ""
}

// ClientMAC returns the client's Ethernet address, if the link carried one.
func (f *Flow) ClientMAC() ([6]byte, bool) { return f.Orig.MAC, f.Orig.HasMAC }

// Swap reverses the flow's orientation (the first packet was the server's).
func (f *Flow) Swap() {
	f.Client, f.Server = f.Server, f.Client
	f.CPort, f.SPort = f.SPort, f.CPort
	f.Orig, f.Resp = f.Resp, f.Orig
	if f.FirstRST >= 0 {
		f.FirstRST = 1 - f.FirstRST
	}
	f.clientIsA = !f.clientIsA
	if f.App != nil {
		f.App.swap()
	}
}
