package capture

import (
	"encoding/binary"
	"fmt"
	"io"
	"math/bits"
	"time"

	"github.com/gopacket/gopacket/layers"
)

// The pcapng walker reads every block itself, in place (mapped files, or
// the chunks a stream is read into): the length of each block is checked
// against the bytes that are there before anything else of it is read.
// Packet blocks are handed out without a copy; the blocks a reader must
// know (section headers, interface descriptions, Apple process blocks) are
// parsed; everything else (name resolution, interface statistics,
// decryption secrets, custom blocks, anything unknown) is skipped by its
// length without being kept, whatever its size.

// pcapng block types.
const (
	ngSHB      = 0x0a0d0d0a
	ngIDB      = 1
	ngPB       = 2
	ngSPB      = 3
	ngEPB      = 6
	ngApplePIB = 0x80000001 // Apple's process information block (tcpdump -k)
)

// Limits of the pcapng walker.
const (
	// maxPacketBlock bounds a packet block: the longest packet plus 64 KiB
	// of options.
	maxPacketBlock = MaxCaptureLength + 64<<10 + 32
	// maxMetaBlock bounds the blocks that are parsed rather than skipped
	// (section headers, interface descriptions, process blocks): they
	// must fit a read chunk.
	maxMetaBlock = chunkSize
	// maxIfacesSection and maxIfacesFile bound the interfaces described in
	// one section and in the whole file.
	maxIfacesSection = 4096
	maxIfacesFile    = 65536
	// maxProcs bounds the Apple process blocks kept per section.
	maxProcs = 4096
)

// Options read, and Apple's per-packet process index.
const (
	optIfTsresol      = 9
	optIfTsoffset     = 14
	optAppleProcIndex = 0x8001
)

// ngIface is one interface of the current section.
type ngIface struct {
	link layers.LinkType
	snap uint32
	res  tsRes
	off  int64 // if_tsoffset, seconds added to every timestamp
}

// tsRes is an interface's timestamp resolution (if_tsresol).
type tsRes struct {
	kind  uint8  // resMicro, resNano, resDec or resBin
	exp   uint8  // the power: 10^-exp or 2^-exp
	perS  uint64 // units a second (resDec with exp <= 19)
	scale uint64 // ns a unit (exp <= 9) or units a ns (exp > 9), for resDec
}

const (
	resMicro = iota // 10^-6, the default
	resNano         // 10^-9
	resDec          // another power of ten
	resBin          // a power of two
)

var pow10 = [...]uint64{1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19}

// newRes reads an if_tsresol value.
func newRes(v byte) tsRes {
	if v&0x80 != 0 {
		return tsRes{kind: resBin, exp: v & 0x7f}
	}
	switch v {
	case 6:
		return tsRes{kind: resMicro, exp: 6}
	case 9:
		return tsRes{kind: resNano, exp: 9}
	}
	r := tsRes{kind: resDec, exp: v}
	if v < uint8(len(pow10)) {
		r.perS = pow10[v]
		if v <= 9 {
			r.scale = pow10[9-v]
		} else {
			r.scale = pow10[v-9]
		}
	}
	return r
}

// split turns a timestamp in units into seconds and nanoseconds.
func (r tsRes) split(u uint64) (sec uint64, ns uint64) {
	switch r.kind {
	case resMicro:
		return u / 1e6, u % 1e6 * 1000
	case resNano:
		return u / 1e9, u % 1e9
	case resDec:
		if r.perS == 0 { // finer than 10^-19: less than a second in all
			return 0, 0
		}
		sec, frac := u/r.perS, u%r.perS
		if r.exp <= 9 {
			return sec, frac * r.scale
		}
		return sec, frac / r.scale
	}
	var frac uint64
	if r.exp < 64 {
		sec, frac = u>>r.exp, u&(1<<r.exp-1)
	} else {
		frac = u
	}
	// frac * 1e9 / 2^exp, in 128 bits.
	hi, lo := bits.Mul64(frac, 1e9)
	switch {
	case r.exp >= 128:
		ns = 0
	case r.exp >= 64:
		ns = hi >> (r.exp - 64)
	default:
		ns = lo>>r.exp | hi<<(64-r.exp)
		if r.exp == 0 {
			ns = lo
		}
	}
	return sec, ns
}

// ngState is what the walker knows of the current section.
type ngState struct {
	be     bool
	ifaces []ngIface
	total  int // interfaces described in the file
	procs  []appleProc
	last   time.Time // the previous packet's time, for simple packet blocks
}

// appleProc is one process of an Apple process information block.
type appleProc struct {
	pid  int32
	name string
}

func (f *File) openNg() error {
	f.ng = &ngState{last: time.Unix(0, 0).UTC()}
	if err := f.ngRecords(); err != nil {
		return err
	}
	// The first block is a section header: check it now, so that a file
	// of a version we cannot read fails to open, with its reason.
	_, err := f.ngWalk(nil)
	if err == io.EOF {
		err = f.peekErr(0, io.ErrUnexpectedEOF)
	}
	return err
}

// ngRecords reads the blocks, from the start of the file, in place or
// into chunks.
func (f *File) ngRecords() error {
	if f.mapped != nil {
		f.cr = newMapReader(f.mapped, 0)
		return nil
	}
	rest, _ := f.br.Peek(f.br.Buffered())
	f.cr = newChunkReader(f.out, rest, 0)
	f.br = nil
	return nil
}

func (f *File) ngU32(b []byte) uint32 {
	if f.ng.be {
		return binary.BigEndian.Uint32(b)
	}
	return binary.LittleEndian.Uint32(b)
}

func (f *File) ngU16(b []byte) uint16 {
	if f.ng.be {
		return binary.BigEndian.Uint16(b)
	}
	return binary.LittleEndian.Uint16(b)
}

func (f *File) ngOrder() binary.ByteOrder {
	if f.ng.be {
		return binary.BigEndian
	}
	return binary.LittleEndian
}

func (f *File) ngFormat(off int64, format string, args ...any) error {
	return &FormatError{File: f.name, Offset: off, Err: fmt.Errorf(format, args...)}
}

// ngWalk walks blocks up to the next packet block, which it delivers into
// p; with p nil it stops after the first block (the section header).
func (f *File) ngWalk(p *Packet) (bool, error) {
	ng := f.ng
	if p != nil && f.ngFast(p) {
		return true, nil
	}
	for {
		start := f.cr.offset()
		h, err := f.cr.peek(12)
		if len(h) < 12 {
			if len(h) == 0 && err == io.EOF {
				return false, io.EOF
			}
			return false, f.peekErr(start, err)
		}
		typ := f.ngU32(h[0:4])
		if typ == ngSHB {
			switch {
			case binary.BigEndian.Uint32(h[8:12]) == 0x1a2b3c4d:
				ng.be = true
			case binary.LittleEndian.Uint32(h[8:12]) == 0x1a2b3c4d:
				ng.be = false
			default:
				return false, f.ngFormat(start, "section header: bad byte-order magic % x", h[8:12])
			}
		}
		length := f.ngU32(h[4:8])
		if length < ngMinLen(typ) || length%4 != 0 {
			return false, f.ngFormat(start, "block type %#x: bad length %d", typ, length)
		}
		switch typ {
		case ngEPB, ngPB, ngSPB:
			if p == nil {
				return false, f.ngFormat(start, "packet block before the section header")
			}
			if length > maxPacketBlock {
				return false, f.ngFormat(start, "packet block length %d exceeds the maximum %d", length, maxPacketBlock)
			}
			blk, err := f.ngBlock(start, length)
			if err != nil {
				return false, err
			}
			if err := f.ngPacket(p, typ, blk, start); err != nil {
				return false, err
			}
			c, off := f.cr.at()
			p.Chunk, p.ChunkOff = c, off+f.ngDataOff(typ)
			f.cr.discard(int(length))
			return true, nil
		case ngSHB, ngIDB, ngApplePIB:
			if length > maxMetaBlock {
				return false, f.ngFormat(start, "block type %#x: length %d exceeds the maximum %d", typ, length, maxMetaBlock)
			}
			blk, err := f.ngBlock(start, length)
			if err != nil {
				return false, err
			}
			if err := f.ngMeta(typ, blk, start); err != nil {
				return false, err
			}
			f.cr.discard(int(length))
			if p == nil {
				return false, nil
			}
		default:
			if err := f.ngSkip(start, length); err != nil {
				return false, err
			}
		}
		if p == nil {
			return false, f.ngFormat(start, "the file does not start with a section header")
		}
	}
}

// ngFast reads the next block when it is an ordinary enhanced packet
// block, the bulk of any file, with fewer checks to branch on than the
// general walk; it consumes nothing and reports false for anything else
// (another block, a bad length, the end), which the walk then takes.
func (f *File) ngFast(p *Packet) bool {
	ng := f.ng
	h, _ := f.cr.peek(28)
	if len(h) < 28 || len(ng.procs) > 0 {
		return false
	}
	var typ, length, iface, hi, lo, caplen, wire uint32
	if ng.be {
		bo := binary.BigEndian
		typ, length, iface, hi, lo, caplen, wire = bo.Uint32(h), bo.Uint32(h[4:]), bo.Uint32(h[8:]), bo.Uint32(h[12:]), bo.Uint32(h[16:]), bo.Uint32(h[20:]), bo.Uint32(h[24:])
	} else {
		bo := binary.LittleEndian
		typ, length, iface, hi, lo, caplen, wire = bo.Uint32(h), bo.Uint32(h[4:]), bo.Uint32(h[8:]), bo.Uint32(h[12:]), bo.Uint32(h[16:]), bo.Uint32(h[20:]), bo.Uint32(h[24:])
	}
	if typ != ngEPB || length > maxPacketBlock || length%4 != 0 || caplen > MaxCaptureLength || 32+caplen > length || iface >= uint32(len(ng.ifaces)) {
		return false
	}
	blk, _ := f.cr.peek(int(length))
	if len(blk) < int(length) || f.ngU32(blk[length-4:]) != length {
		return false
	}
	f.ngFill(p, blk[:28+caplen], iface, wire, uint64(hi)<<32|uint64(lo))
	c, off := f.cr.at()
	p.Chunk, p.ChunkOff = c, off+28
	f.cr.discard(int(length))
	return true
}

// ngFill fills p with the packet of an enhanced (or obsolete) packet
// block, which ends at the packet's last byte, on interface iface at time
// ts in the interface's units.
func (f *File) ngFill(p *Packet, blk []byte, iface, wire uint32, ts uint64) {
	ifc := &f.ng.ifaces[iface]
	p.Data = blk[28:len(blk):len(blk)]
	p.CapLen = len(blk) - 28
	p.WireLen = intLen(wire)
	p.Iface = int(iface)
	p.LinkType = ifc.link
	p.Proc, p.PID = "", 0
	sec, ns := ifc.res.split(ts)
	p.Timestamp = time.Unix(int64(sec)+ifc.off, int64(ns)).UTC()
	f.ng.last = p.Timestamp
}

// ngDataOff is where a packet block's data starts.
func (f *File) ngDataOff(typ uint32) int {
	if typ == ngSPB {
		return 12
	}
	return 28
}

// ngBlock returns the whole block at start, its trailing length checked.
func (f *File) ngBlock(start int64, length uint32) ([]byte, error) {
	blk, err := f.cr.peek(int(length))
	if len(blk) < int(length) {
		return nil, f.peekErr(start, err)
	}
	if t := f.ngU32(blk[length-4:]); t != length {
		return nil, f.ngFormat(start, "block type %#x: trailing length %d differs from %d", f.ngU32(blk), t, length)
	}
	return blk, nil
}

// ngSkip passes over a block nobody reads, checking its trailing length.
func (f *File) ngSkip(start int64, length uint32) error {
	if err := f.cr.skip(int64(length) - 4); err != nil {
		return f.peekErr(start, err)
	}
	t, err := f.cr.peek(4)
	if len(t) < 4 {
		return f.peekErr(start, err)
	}
	if v := f.ngU32(t); v != length {
		return f.ngFormat(start, "block of %d bytes: trailing length %d differs", length, v)
	}
	f.cr.discard(4)
	return nil
}

// ngMinLen is the smallest valid length of each block type.
func ngMinLen(typ uint32) uint32 {
	switch typ {
	case ngSHB:
		return 28
	case ngIDB:
		return 20
	case ngPB, ngEPB:
		return 32
	case ngSPB:
		return 16
	case ngApplePIB:
		return 16
	}
	return 12
}

// ngMeta takes in a section header, an interface description or an
// Apple process block.
func (f *File) ngMeta(typ uint32, blk []byte, start int64) error {
	ng := f.ng
	body := blk[8 : len(blk)-4]
	switch typ {
	case ngSHB:
		major, minor := f.ngU16(body[4:6]), f.ngU16(body[6:8])
		if major != 1 {
			return f.ngFormat(start, "pcapng section of version %d.%d, which this reader does not know (only 1.x)", major, minor)
		}
		ng.ifaces = ng.ifaces[:0]
		clear(ng.procs)
		ng.procs = ng.procs[:0]
	case ngIDB:
		if len(ng.ifaces) >= maxIfacesSection {
			return f.ngFormat(start, "more than %d interfaces in one section", maxIfacesSection)
		}
		if ng.total >= maxIfacesFile {
			return f.ngFormat(start, "more than %d interfaces in the file", maxIfacesFile)
		}
		ifc := ngIface{link: layers.LinkType(f.ngU16(body[0:2])), snap: f.ngU32(body[4:8]), res: newRes(6)}
		eachOption(body[8:], f.ngOrder(), func(code uint16, val []byte) bool {
			switch {
			case code == optIfTsresol && len(val) >= 1:
				ifc.res = newRes(val[0])
			case code == optIfTsoffset && len(val) >= 8:
				ifc.off = int64(f.ngOrder().Uint64(val))
			}
			return true
		})
		ng.ifaces = append(ng.ifaces, ifc)
		ng.total++
	case ngApplePIB:
		if len(ng.procs) < maxProcs {
			ng.procs = append(ng.procs, parseApplePIB(body, f.ngOrder()))
		}
	}
	return nil
}

// ngPacket fills p from a whole packet block.
func (f *File) ngPacket(p *Packet, typ uint32, blk []byte, start int64) error {
	ng := f.ng
	length := uint32(len(blk))
	var iface, caplen, wire uint32
	var ts uint64
	switch typ {
	case ngSPB:
		if len(ng.ifaces) == 0 {
			return f.ngFormat(start, "simple packet block before any interface")
		}
		// The captured length is the original length cut to interface
		// 0's snap length; the block must hold it.
		wire = f.ngU32(blk[8:12])
		caplen = wire
		if s := ng.ifaces[0].snap; s != 0 && caplen > s {
			caplen = s
		}
		if caplen > MaxCaptureLength || 16+caplen > length {
			return f.ngFormat(start, "simple packet of %d bytes does not fit its block of %d", caplen, length)
		}
	default:
		if typ == ngPB {
			iface = uint32(f.ngU16(blk[8:10]))
		} else {
			iface = f.ngU32(blk[8:12])
		}
		ts = uint64(f.ngU32(blk[12:16]))<<32 | uint64(f.ngU32(blk[16:20]))
		caplen, wire = f.ngU32(blk[20:24]), f.ngU32(blk[24:28])
		if caplen > MaxCaptureLength {
			return f.ngFormat(start, "record length %d exceeds the maximum %d", caplen, MaxCaptureLength)
		}
		if 32+caplen > length {
			return f.ngFormat(start, "captured length %d exceeds block length %d", caplen, length)
		}
		if iface >= uint32(len(ng.ifaces)) {
			return f.ngFormat(start, "packet of interface %d, but the section describes %d", iface, len(ng.ifaces))
		}
	}
	if typ == ngSPB {
		p.Data = blk[12 : 12+caplen : 12+caplen]
		p.CapLen = int(caplen)
		p.WireLen = intLen(wire)
		p.Iface = 0
		p.LinkType = ng.ifaces[0].link
		p.Proc, p.PID = "", 0
		// No timestamp: the previous packet's.
		p.Timestamp = ng.last
		return nil
	}
	f.ngFill(p, blk[:28+caplen], iface, wire, ts)
	if typ == ngEPB && len(ng.procs) > 0 {
		opts := blk[28+(caplen+3)&^3 : length-4]
		if i := appleProcIndex(opts, f.ngOrder()); i >= 0 && i < len(ng.procs) {
			p.Proc, p.PID = ng.procs[i].name, ng.procs[i].pid
		}
	}
	return nil
}

// parseApplePIB reads the body of a process information block: its pid and
// the process name (or the last element of its path).
func parseApplePIB(body []byte, bo binary.ByteOrder) appleProc {
	if len(body) < 4 {
		return appleProc{}
	}
	pr := appleProc{pid: int32(bo.Uint32(body))}
	eachOption(body[4:], bo, func(code uint16, val []byte) bool {
		switch {
		case code == 2:
			pr.name = trimName(val)
		case code == 3 && pr.name == "":
			v := trimName(val)
			for i := len(v) - 1; i >= 0; i-- {
				if v[i] == '/' {
					v = v[i+1:]
					break
				}
			}
			pr.name = v
		}
		return true
	})
	if len(pr.name) > 64 {
		pr.name = pr.name[:64]
	}
	return pr
}

// trimName is an option's string without its trailing NULs.
func trimName(b []byte) string {
	for len(b) > 0 && b[len(b)-1] == 0 {
		b = b[:len(b)-1]
	}
	return string(b)
}

// appleProcIndex returns the process index option among an enhanced
// packet block's options, or -1.
func appleProcIndex(opts []byte, bo binary.ByteOrder) int {
	idx := -1
	eachOption(opts, bo, func(code uint16, val []byte) bool {
		if code == optAppleProcIndex && len(val) == 4 {
			idx = int(bo.Uint32(val))
			return false
		}
		return true
	})
	return idx
}

// eachOption calls fn with each pcapng option (code, value) until
// opt_endofopt, the end of the bytes, or fn returning false.
func eachOption(opts []byte, bo binary.ByteOrder, fn func(code uint16, val []byte) bool) {
	for len(opts) >= 4 {
		code, n := bo.Uint16(opts), int(bo.Uint16(opts[2:]))
		if code == 0 || 4+n > len(opts) || !fn(code, opts[4:4+n]) {
			return
		}
		opts = opts[min(len(opts), 4+(n+3)&^3):]
	}
}
