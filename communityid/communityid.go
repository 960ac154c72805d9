package communityid

import (
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"net/netip"
)

// IP protocol numbers the hash treats specially.
const (
	ProtoICMP   uint8 = 1
	ProtoTCP    uint8 = 6
	ProtoUDP    uint8 = 17
	ProtoICMPv6 uint8 = 58
	ProtoSCTP   uint8 = 132
)

// Len is the length of a base64 ID ("1:" and 28 characters); HexLen of one
// written with AppendHex.
const (
	Len    = 2 + 28
	HexLen = 2 + 40
)

// Tuple is one flow's endpoints as the hash sees them. For ICMP and ICMPv6
// build it with ICMP, which maps the message type and code to ports.
type Tuple struct {
	Src, Dst         netip.Addr
	SrcPort, DstPort uint16
	Proto            uint8
	// OneWay keeps the endpoints in the order given: ICMP messages that
	// have no answer type are hashed as sent.
	OneWay bool
}

// hasPorts reports whether the protocol's ports (or ICMP type and code)
// are part of the hash; for other protocols only addresses count.
func hasPorts(proto uint8) bool {
	switch proto {
	case ProtoTCP, ProtoUDP, ProtoSCTP, ProtoICMP, ProtoICMPv6:
		return true
	}
	return false
}

// input lays out the hashed bytes in buf and returns their length, or 0
// when the tuple cannot be hashed (invalid addresses or mixed families).
func input(buf *[40]byte, seed uint16, t *Tuple) int {
	src, dst := t.Src.Unmap(), t.Dst.Unmap()
	if !src.IsValid() || !dst.IsValid() || src.Is4() != dst.Is4() {
		return 0
	}
	sp, dp := t.SrcPort, t.DstPort
	if !hasPorts(t.Proto) {
		sp, dp = 0, 0
	}
	if !t.OneWay {
		if c := src.Compare(dst); c > 0 || (c == 0 && sp > dp) {
			src, dst, sp, dp = dst, src, dp, sp
		}
	}
	binary.BigEndian.PutUint16(buf[0:], seed)
	n := 2
	if src.Is4() {
		a, b := src.As4(), dst.As4()
		n += copy(buf[n:], a[:])
		n += copy(buf[n:], b[:])
	} else {
		a, b := src.As16(), dst.As16()
		n += copy(buf[n:], a[:])
		n += copy(buf[n:], b[:])
	}
	buf[n], buf[n+1] = t.Proto, 0
	n += 2
	if hasPorts(t.Proto) {
		binary.BigEndian.PutUint16(buf[n:], sp)
		binary.BigEndian.PutUint16(buf[n+2:], dp)
		n += 4
	}
	return n
}

// Sum returns the SHA-1 digest of the tuple under seed, and false when the
// tuple cannot be hashed (an address invalid, or one IPv4 and one IPv6).
func Sum(seed uint16, t Tuple) ([sha1.Size]byte, bool) {
	var buf [40]byte
	n := input(&buf, seed, &t)
	if n == 0 {
		return [sha1.Size]byte{}, false
	}
	return sha1.Sum(buf[:n]), true
}

// Append appends the tuple's ID, "1:" and the base64 digest, to dst. A
// tuple that cannot be hashed appends nothing, the empty ID the
// specification allows.
func Append(dst []byte, seed uint16, t Tuple) []byte {
	d, ok := Sum(seed, t)
	if !ok {
		return dst
	}
	dst = append(dst, '1', ':')
	return base64.StdEncoding.AppendEncode(dst, d[:])
}

// AppendHex is Append with the digest in hexadecimal instead of base64, the
// specification's troubleshooting form.
func AppendHex(dst []byte, seed uint16, t Tuple) []byte {
	d, ok := Sum(seed, t)
	if !ok {
		return dst
	}
	dst = append(dst, '1', ':')
	return hex.AppendEncode(dst, d[:])
}

// String returns the tuple's ID with seed 0, or "" when it cannot be hashed.
func String(t Tuple) string {
	var b [Len]byte
	return string(Append(b[:0], 0, t))
}
