package capgen

import (
	"encoding/binary"

	"github.com/gopacket/gopacket/layers"
)

// Single pcapng blocks, for tests that build files block by block
// (odd versions, byte orders, resolutions, hostile lengths): concatenate
// them, starting with a section header.

// Order is a byte order (binary.LittleEndian or binary.BigEndian).
type Order interface {
	binary.ByteOrder
	binary.AppendByteOrder
}

// NGOption is one pcapng option.
type NGOption struct {
	Code  uint16
	Value []byte
}

// NGBlock returns a pcapng block of type typ around body (padded to 4
// bytes), with both length fields set.
func NGBlock(bo Order, typ uint32, body []byte) []byte {
	n := 12 + (len(body)+3)&^3
	b := make([]byte, n)
	bo.PutUint32(b[0:], typ)
	bo.PutUint32(b[4:], uint32(n))
	copy(b[8:], body)
	bo.PutUint32(b[n-4:], uint32(n))
	return b
}

// ngOptions encodes options, then opt_endofopt; none gives nothing.
func ngOptions(bo Order, opts []NGOption) []byte {
	if len(opts) == 0 {
		return nil
	}
	var b []byte
	for _, o := range opts {
		b = bo.AppendUint16(b, o.Code)
		b = bo.AppendUint16(b, uint16(len(o.Value)))
		b = append(b, o.Value...)
		for len(b)%4 != 0 {
			b = append(b, 0)
		}
	}
	return append(b, 0, 0, 0, 0)
}

// NGSection returns a section header block of version major.minor, of
// unknown section length.
func NGSection(bo Order, major, minor uint16) []byte {
	body := bo.AppendUint32(nil, 0x1a2b3c4d)
	body = bo.AppendUint16(body, major)
	body = bo.AppendUint16(body, minor)
	body = bo.AppendUint64(body, ^uint64(0))
	return NGBlock(bo, 0x0a0d0d0a, body)
}

// NGInterface returns an interface description block.
func NGInterface(bo Order, link layers.LinkType, snap uint32, opts ...NGOption) []byte {
	body := bo.AppendUint16(nil, uint16(link))
	body = append(body, 0, 0)
	body = bo.AppendUint32(body, snap)
	return NGBlock(bo, 1, append(body, ngOptions(bo, opts)...))
}

// NGEnhanced returns an enhanced packet block of frame on interface iface
// at ts (in the interface's units), of original length wire.
func NGEnhanced(bo Order, iface uint32, ts uint64, frame []byte, wire uint32, opts ...NGOption) []byte {
	body := bo.AppendUint32(nil, iface)
	body = bo.AppendUint32(body, uint32(ts>>32))
	body = bo.AppendUint32(body, uint32(ts))
	body = bo.AppendUint32(body, uint32(len(frame)))
	body = bo.AppendUint32(body, wire)
	body = append(body, frame...)
	for len(body)%4 != 0 {
		body = append(body, 0)
	}
	return NGBlock(bo, 6, append(body, ngOptions(bo, opts)...))
}

// NGSimple returns a simple packet block of frame, of original length wire.
func NGSimple(bo Order, frame []byte, wire uint32) []byte {
	return NGBlock(bo, 3, append(bo.AppendUint32(nil, wire), frame...))
}

// NGNames returns a name resolution block of n IPv4 records, each naming
// one address.
func NGNames(bo Order, n int) []byte {
	var body []byte
	for i := 0; i < n; i++ {
		body = bo.AppendUint16(body, 1) // nrb_record_ipv4
		body = bo.AppendUint16(body, 4+8)
		body = append(body, 10, byte(i>>16), byte(i>>8), byte(i), 'h', 'o', 's', 't', '.', 'x', 0, 0)
	}
	body = append(body, 0, 0, 0, 0) // nrb_record_end
	return NGBlock(bo, 4, body)
}
