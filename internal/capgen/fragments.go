package capgen

import "encoding/binary"

// Fragments4 cuts an IPv4 packet into fragments of at most size payload
// bytes (a multiple of 8).
func Fragments4(pkt []byte, size int) [][]byte {
	ihl := int(pkt[0]&0x0f) * 4
	hdr, data := pkt[:ihl], pkt[ihl:]
	var out [][]byte
	for off := 0; off < len(data); off += size {
		end := min(off+size, len(data))
		f := append(append([]byte(nil), hdr...), data[off:end]...)
		binary.BigEndian.PutUint16(f[2:], uint16(len(f)))
		fo := uint16(off / 8)
		if end < len(data) {
			fo |= 0x2000
		}
		binary.BigEndian.PutUint16(f[6:], fo)
		out = append(out, f)
	}
	return out
}

// Fragments6 cuts an IPv6 packet (with no extension headers) into
// fragments of at most size payload bytes (a multiple of 8), each with a
// fragment header of identification id.
func Fragments6(pkt []byte, size int, id uint32) [][]byte {
	hdr, data := pkt[:40], pkt[40:]
	next := hdr[6]
	var out [][]byte
	for off := 0; off < len(data); off += size {
		end := min(off+size, len(data))
		f := append([]byte(nil), hdr...)
		f[6] = 44
		fh := make([]byte, 8)
		fh[0] = next
		fo := uint16(off)
		if end < len(data) {
			fo |= 1
		}
		binary.BigEndian.PutUint16(fh[2:], fo)
		binary.BigEndian.PutUint32(fh[4:], id)
		f = append(append(f, fh...), data[off:end]...)
		binary.BigEndian.PutUint16(f[4:], uint16(len(f)-40))
		out = append(out, f)
	}
	return out
}

// ScriptedFragment builds the IPv4 fragment four bytes of a fuzzer's
// script describe, on the 20-byte header of base: the fragment offset
// (step[0:2], in 8-byte units, 13 bits), the payload length (step[2], in
// 4-byte units) and flags (step[3]: bit 2 more fragments, bits 0-1 the
// identification).
func ScriptedFragment(base, step []byte) []byte {
	off := int(binary.BigEndian.Uint16(step))
	n := int(step[2]) * 4
	fl := step[3]
	pkt := append(append([]byte(nil), base[:20]...), make([]byte, n)...)
	binary.BigEndian.PutUint16(pkt[2:], uint16(len(pkt)))
	binary.BigEndian.PutUint16(pkt[4:], uint16(fl&3)) // a few identifications
	fo := uint16(off & 0x1fff)
	if fl&4 != 0 {
		fo |= 0x2000
	}
	binary.BigEndian.PutUint16(pkt[6:], fo)
	return pkt
}
