package defrag

import (
	"encoding/binary"
	"slices"

	"orchard/decode"
)

// Reassembly limits: datagrams in progress (MaxDatagrams), bytes per
// datagram, pieces per datagram, and how long (capture time) an incomplete
// one is kept.
const (
	MaxDatagrams  = 256
	fragMaxBytes  = 65535
	fragMaxPieces = 64
	fragTimeout   = 30e9
)

type fragKey struct {
	src, dst [16]byte
	id       uint32
	proto    uint8
	v6       bool
}

// fragPiece is one fragment's payload: at off in the datagram, and
// data[at:at+n] of its entry.
type fragPiece struct {
	off, at, n int
}

// fragEntry is one datagram being reassembled.
type fragEntry struct {
	first  int64
	pieces []fragPiece
	data   []byte // the pieces' bytes, as they came
	total  int    // length of the whole payload, -1 until the last fragment
	bytes  int
	// link-layer facts of the fragments, restored on the reassembled packet
	hasMAC         bool
	srcMAC, dstMAC [6]byte
	vlan           uint16
	pid            int32
	procLen        uint8
	procBuf        [20]byte
}

// Reassembler reassembles IPv4 and IPv6 fragments into whole datagrams,
// within fixed limits; what cannot be completed is dropped and counted.
// Its zero value is ready; it is not safe for concurrent use.
type Reassembler struct {
	m       map[fragKey]*fragEntry
	order   []fragKey // oldest first, for eviction
	dropped uint64
	// overlaps counts datagrams dropped for overlapping or inconsistent
	// fragments (also in dropped).
	overlaps uint64
	buf      []byte    // the last datagram built; valid until the next call
	done     fragEntry // the last datagram's entry, for restore
	free     []*fragEntry
}

// fragKeepBytes bounds the buffer a recycled entry keeps.
const fragKeepBytes = 16 << 10

// Add files a fragment, decoded into p at capture time ts; when it
// completes its datagram, Add returns a raw IP packet (a fresh header and
// the reassembled payload) to decode as if it had been captured whole. The
// packet is valid until the next call.
func (d *Reassembler) Add(p *decode.Packet, ts int64) []byte {
	if d.m == nil {
		d.m = make(map[fragKey]*fragEntry)
	}
	d.expire(ts)
	k := fragKey{src: p.Src.As16(), dst: p.Dst.As16(), id: p.FragID, proto: p.Proto, v6: p.IPVersion == 6}
	e := d.m[k]
	if e == nil {
		if len(d.m) >= MaxDatagrams {
			d.evict(d.order[0])
		}
		e = d.entry(ts)
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
	switch d.check(e, p.FragOffset, p.FragData, !p.FragMore) {
	case fragDuplicate:
		return nil
	case fragBad:
		d.overlaps++
		d.evict(k)
		return nil
	}
	if !p.FragMore {
		e.total = end
	}
	e.pieces = append(e.pieces, fragPiece{off: p.FragOffset, at: len(e.data), n: len(p.FragData)})
	e.data = append(e.data, p.FragData...)
	e.bytes += len(p.FragData)
	if e.total < 0 || e.bytes < e.total {
		return nil
	}
	// Maybe complete: the pieces must cover [0, total) with no hole.
	slices.SortFunc(e.pieces, func(a, b fragPiece) int { return a.off - b.off })
	covered := 0
	for _, pc := range e.pieces {
		if pc.off > covered {
			return nil // a hole; wait for more
		}
		covered = max(covered, pc.off+pc.n)
	}
	if covered < e.total {
		return nil
	}
	hl := 40
	if p.IPVersion == 4 {
		hl = 20
	}
	d.buf = slices.Grow(d.buf[:0], hl+e.total)[:hl+e.total]
	payload := d.buf[hl:]
	for _, pc := range e.pieces {
		copy(payload[pc.off:], e.data[pc.at:pc.at+pc.n])
	}
	ipHeader(p, d.buf)
	d.done = *e
	d.done.pieces, d.done.data = nil, nil
	d.remove(k)
	return d.buf
}

// What check makes of a new fragment.
const (
	fragNew       = iota // fits beside the pieces there are
	fragDuplicate        // the same bytes at the same place again: ignored
	fragBad              // overlaps another piece, or contradicts the datagram's end
)

// check compares a fragment with the pieces of its datagram. Overlapping
// fragments are an evasion technique (RFC 5722 forbids them for IPv6), and
// a last fragment that ends before bytes already seen, or a second last
// fragment with another end, contradicts the datagram: either drops it.
// An exact copy of a piece (a retransmission) is ignored.
func (d *Reassembler) check(e *fragEntry, off int, data []byte, last bool) int {
	end := off + len(data)
	if last && e.total >= 0 && end != e.total {
		return fragBad
	}
	for _, pc := range e.pieces {
		pend := pc.off + pc.n
		if pc.off == off && pc.n == len(data) {
			if string(e.data[pc.at:pc.at+pc.n]) != string(data) {
				return fragBad
			}
			return fragDuplicate
		}
		if off < pend && pc.off < end {
			return fragBad
		}
		if last && pend > end {
			return fragBad
		}
	}
	return fragNew
}

// entry returns a fresh entry, recycled when one is free.
func (d *Reassembler) entry(ts int64) *fragEntry {
	n := len(d.free)
	if n == 0 {
		return &fragEntry{first: ts, total: -1}
	}
	e := d.free[n-1]
	d.free = d.free[:n-1]
	pieces, data := e.pieces[:0], e.data[:0]
	*e = fragEntry{first: ts, total: -1, pieces: pieces, data: data}
	return e
}

// Restore gives p, the packet Add's datagram decodes to, the link-layer
// facts of its fragments (MAC addresses, VLAN, process).
func (d *Reassembler) Restore(p *decode.Packet) { d.done.restore(p) }

// Dropped is the number of datagrams never completed: timed out, evicted,
// over the limits, or with overlapping fragments.
func (d *Reassembler) Dropped() uint64 { return d.dropped }

// Pending is the number of datagrams being reassembled.
func (d *Reassembler) Pending() int { return len(d.m) }

// restore gives a reassembled packet the link-layer facts of its fragments.
func (e *fragEntry) restore(p *decode.Packet) {
	p.HasMAC, p.SrcMAC, p.DstMAC, p.VLAN = e.hasMAC, e.srcMAC, e.dstMAC, e.vlan
	p.PID, p.ProcLen, p.ProcBuf = e.pid, e.procLen, e.procBuf
}

// ipHeader writes the IPv4 (20 bytes) or IPv6 (40 bytes) header of a
// reassembled datagram at the start of dg, whose payload follows it.
func ipHeader(p *decode.Packet, dg []byte) {
	if p.IPVersion == 4 {
		h := dg[:20]
		clear(h)
		h[0] = 0x45
		binary.BigEndian.PutUint16(h[2:], uint16(len(dg)))
		binary.BigEndian.PutUint16(h[4:], p.IPID)
		h[8], h[9] = p.TTL, p.Proto
		s, d := p.Src.As4(), p.Dst.As4()
		copy(h[12:], s[:])
		copy(h[16:], d[:])
		return
	}
	h := dg[:40]
	clear(h)
	h[0] = 0x60
	binary.BigEndian.PutUint16(h[4:], uint16(len(dg)-40))
	h[6], h[7] = p.Proto, p.TTL
	s, d := p.Src.As16(), p.Dst.As16()
	copy(h[8:], s[:])
	copy(h[24:], d[:])
}

func (d *Reassembler) expire(now int64) {
	for len(d.order) > 0 {
		e := d.m[d.order[0]]
		if e != nil && now-e.first <= fragTimeout {
			return
		}
		d.evict(d.order[0])
	}
}

// evict drops an incomplete datagram (counted).
func (d *Reassembler) evict(k fragKey) {
	if _, ok := d.m[k]; ok {
		d.dropped++
	}
	d.remove(k)
}

func (d *Reassembler) remove(k fragKey) {
	if e := d.m[k]; e != nil && cap(e.data) <= fragKeepBytes && len(d.free) < MaxDatagrams {
		d.free = append(d.free, e)
	}
	delete(d.m, k)
	if i := slices.Index(d.order, k); i >= 0 {
		d.order = slices.Delete(d.order, i, i+1)
	}
}
