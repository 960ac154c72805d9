package analyzer

import (
	"encoding/binary"
	"slices"

	"orchard/analyzer/decode"
)

// Reassembly limits: datagrams in progress, bytes per datagram, pieces per
// datagram, and how long (capture time) an incomplete one is kept.
const (
	fragMaxDatagrams = 256
	fragMaxBytes     = 65535
	fragMaxPieces    = 64
	fragTimeout      = 30e9
)

type fragKey struct {
	src, dst [16]byte
	id       uint32
	proto    uint8
	v6       bool
}

type fragPiece struct {
	off  int
	data []byte
}

// fragEntry is one datagram being reassembled.
type fragEntry struct {
	first  int64
	pieces []fragPiece
	total  int // length of the whole payload, -1 until the last fragment
	bytes  int
	// link-layer facts of the fragments, restored on the reassembled packet
	hasMAC         bool
	srcMAC, dstMAC [6]byte
	vlan           uint16
	pid            int32
	procLen        uint8
	procBuf        [20]byte
}

// defrag reassembles IPv4 and IPv6 fragments into whole datagrams, within
// fixed limits; what cannot be completed is dropped and counted.
type defrag struct {
	m       map[fragKey]*fragEntry
	order   []fragKey // oldest first, for eviction
	dropped uint64
	buf     []byte    // the last datagram built; valid until the next call
	done    fragEntry // the last datagram's entry, for restore
}

// add files a fragment; when it completes its datagram, add returns a raw
// IP packet (a fresh header and the reassembled payload) to decode as if
// it had been captured whole.
func (d *defrag) add(p *decode.Packet, ts int64) []byte {
	if d.m == nil {
		d.m = make(map[fragKey]*fragEntry)
	}
	d.expire(ts)
	k := fragKey{src: p.Src.As16(), dst: p.Dst.As16(), id: p.FragID, proto: p.Proto, v6: p.IPVersion == 6}
	e := d.m[k]
	if e == nil {
		if len(d.m) >= fragMaxDatagrams {
			d.evict(d.order[0])
		}
		e = &fragEntry{first: ts, total: -1}
		d.m[k] = e
		d.order = append(d.order, k)
	}
	if p.HasMAC {
		e.hasMAC, e.srcMAC, e.dstMAC = true, p.SrcMAC, p.DstMAC
	}
	e.vlan, e.pid, e.procLen, e.procBuf = p.VLAN, p.PID, p.ProcLen, p.ProcBuf
	end := p.FragOffset + len(p.FragData)
	// Duplicates and overlaps count too: at most twice a datagram's bytes
	// are kept, so all of reassembly holds under 32 MiB.
	if end > fragMaxBytes || len(e.pieces) >= fragMaxPieces || (e.total >= 0 && end > e.total) ||
		e.bytes+len(p.FragData) > 2*fragMaxBytes {
		d.evict(k)
		return nil
	}
	if !p.FragMore {
		e.total = end
	}
	e.pieces = append(e.pieces, fragPiece{off: p.FragOffset, data: append([]byte(nil), p.FragData...)})
	e.bytes += len(p.FragData)
	if e.total < 0 || e.bytes < e.total {
		return nil
	}
	// Maybe complete: the pieces must cover [0, total) with no hole.
	slices.SortFunc(e.pieces, func(a, b fragPiece) int { return a.off - b.off })
	payload := make([]byte, e.total)
	covered := 0
	for _, pc := range e.pieces {
		if pc.off > covered {
			return nil // a hole; wait for more
		}
		copy(payload[pc.off:], pc.data)
		covered = max(covered, pc.off+len(pc.data))
	}
	if covered < e.total {
		return nil
	}
	d.done = *e
	d.remove(k)
	d.buf = rawDatagram(p, payload, d.buf[:0])
	return d.buf
}

// restore gives a reassembled packet the link-layer facts of its fragments.
func (e *fragEntry) restore(p *decode.Packet) {
	p.HasMAC, p.SrcMAC, p.DstMAC, p.VLAN = e.hasMAC, e.srcMAC, e.dstMAC, e.vlan
	p.PID, p.ProcLen, p.ProcBuf = e.pid, e.procLen, e.procBuf
}

// rawDatagram builds an IPv4 or IPv6 packet around a reassembled payload.
func rawDatagram(p *decode.Packet, payload, out []byte) []byte {
	if p.IPVersion == 4 {
		h := make([]byte, 20)
		h[0] = 0x45
		binary.BigEndian.PutUint16(h[2:], uint16(20+len(payload)))
		binary.BigEndian.PutUint16(h[4:], p.IPID)
		h[8], h[9] = p.TTL, p.Proto
		s, d := p.Src.As4(), p.Dst.As4()
		copy(h[12:], s[:])
		copy(h[16:], d[:])
		return append(append(out, h...), payload...)
	}
	h := make([]byte, 40)
	h[0] = 0x60
	binary.BigEndian.PutUint16(h[4:], uint16(len(payload)))
	h[6], h[7] = p.Proto, p.TTL
	s, d := p.Src.As16(), p.Dst.As16()
	copy(h[8:], s[:])
	copy(h[24:], d[:])
	return append(append(out, h...), payload...)
}

func (d *defrag) expire(now int64) {
	for len(d.order) > 0 {
		e := d.m[d.order[0]]
		if e != nil && now-e.first <= fragTimeout {
			return
		}
		d.evict(d.order[0])
	}
}

// evict drops an incomplete datagram (counted).
func (d *defrag) evict(k fragKey) {
	if _, ok := d.m[k]; ok {
		d.dropped++
	}
	d.remove(k)
}

func (d *defrag) remove(k fragKey) {
	delete(d.m, k)
	if i := slices.Index(d.order, k); i >= 0 {
		d.order = slices.Delete(d.order, i, i+1)
	}
}
