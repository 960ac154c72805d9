package capgen

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/gopacket/gopacket/layers"
)

// Link types not named in gopacket's layers.
const (
	// LinkTypePKTAP is Apple's PKTAP (LINKTYPE_PKTAP).
	LinkTypePKTAP layers.LinkType = 258
	// LinkTypePKTAPDarwin is the value macOS writes for PKTAP (DLT_USER2).
	LinkTypePKTAPDarwin layers.LinkType = 149
	// LinkTypeRawDLT12 is DLT_RAW as most BSDs write it.
	LinkTypeRawDLT12 layers.LinkType = 12
	// LinkTypeRawDLT14 is DLT_RAW as OpenBSD writes it.
	LinkTypeRawDLT14 layers.LinkType = 14
)

// PcapOptions selects the variant of a classic pcap file.
type PcapOptions struct {
	BigEndian bool   // write the file in big-endian byte order
	Nano      bool   // nanosecond timestamps (magic a1b23c4d)
	Snaplen   uint32 // snap length in the header; records longer are cut (0: 262144)
}

// Writer writes packets to a pcap or pcapng stream. The first error is kept
// and returned by every later call.
type Writer struct {
	w       io.Writer
	ng      bool
	order   binary.ByteOrder
	nano    bool
	snaplen uint32
	links   []layers.LinkType
	err     error
	procs   int // Apple process blocks written
	procOpt int // process index for the packet being written, -1: none
}

// NewPcap returns a Writer of a little-endian, microsecond pcap file with
// one link type. The file header is written at once.
func NewPcap(w io.Writer, link layers.LinkType) *Writer {
	return NewPcapOptions(w, link, PcapOptions{})
}

// NewPcapOptions returns a Writer of a pcap file in the variant opt selects.
func NewPcapOptions(w io.Writer, link layers.LinkType, opt PcapOptions) *Writer {
	cw := &Writer{w: w, nano: opt.Nano, snaplen: opt.Snaplen, links: []layers.LinkType{link}, order: binary.LittleEndian, procOpt: -1}
	if opt.BigEndian {
		cw.order = binary.BigEndian
	}
	if cw.snaplen == 0 {
		cw.snaplen = 262144
	}
	h := make([]byte, 24)
	magic := uint32(0xa1b2c3d4)
	if opt.Nano {
		magic = 0xa1b23c4d
	}
	cw.order.PutUint32(h[0:], magic)
	cw.order.PutUint16(h[4:], 2)
	cw.order.PutUint16(h[6:], 4)
	cw.order.PutUint32(h[16:], cw.snaplen)
	cw.order.PutUint32(h[20:], uint32(link))
	cw.put(h)
	return cw
}

// NGOptions selects the variant of a pcapng file.
type NGOptions struct {
	BigEndian bool // write the section in big-endian byte order
	Nano      bool // nanosecond timestamps (if_tsresol 9) on every interface
}

// NewPcapNG returns a Writer of a little-endian pcapng file with one
// interface per link type (interface i has links[i]). The section header
// and interface descriptions are written at once.
func NewPcapNG(w io.Writer, links ...layers.LinkType) *Writer {
	return NewPcapNGOptions(w, NGOptions{}, links...)
}

// NewPcapNGOptions is NewPcapNG in the variant opt selects.
func NewPcapNGOptions(w io.Writer, opt NGOptions, links ...layers.LinkType) *Writer {
	cw := &Writer{w: w, ng: true, nano: opt.Nano, snaplen: 262144, links: links, order: binary.LittleEndian, procOpt: -1}
	if opt.BigEndian {
		cw.order = binary.BigEndian
	}
	shb := make([]byte, 16)
	cw.order.PutUint32(shb[0:], 0x1a2b3c4d)
	cw.order.PutUint16(shb[4:], 1)
	cw.order.PutUint16(shb[6:], 0)
	binary.LittleEndian.PutUint64(shb[8:], ^uint64(0)) // section length unknown
	cw.block(0x0a0d0d0a, shb)
	for _, l := range links {
		idb := make([]byte, 8)
		cw.order.PutUint16(idb[0:], uint16(l))
		cw.order.PutUint32(idb[4:], cw.snaplen)
		if opt.Nano {
			opt := make([]byte, 12) // if_tsresol = 9, then end of options
			cw.order.PutUint16(opt[0:], 9)
			cw.order.PutUint16(opt[2:], 1)
			opt[4] = 9
			idb = append(idb, opt...)
		}
		cw.block(1, idb)
	}
	return cw
}

func (w *Writer) put(b []byte) {
	if w.err != nil {
		return
	}
	_, w.err = w.w.Write(b)
}

// block writes a pcapng block with its lengths around body (padded to 4).
func (w *Writer) block(typ uint32, body []byte) {
	pad := (4 - len(body)%4) % 4
	n := 12 + len(body) + pad
	b := make([]byte, n)
	w.order.PutUint32(b[0:], typ)
	w.order.PutUint32(b[4:], uint32(n))
	copy(b[8:], body)
	w.order.PutUint32(b[n-4:], uint32(n))
	w.put(b)
}

// AddProcess writes an Apple process information block (pcapng only), as
// macOS `tcpdump -k` does, and returns the index packets refer to it by.
func (w *Writer) AddProcess(pid int32, name string) int {
	if !w.ng {
		w.err = errors.New("capgen: process blocks need pcapng")
		return -1
	}
	nb := []byte(name)
	body := make([]byte, 4, 4+4+len(nb)+8)
	w.order.PutUint32(body, uint32(pid))
	opt := make([]byte, 4)
	w.order.PutUint16(opt[0:], 2) // name
	w.order.PutUint16(opt[2:], uint16(len(nb)))
	body = append(append(body, opt...), nb...)
	for len(body)%4 != 0 {
		body = append(body, 0)
	}
	body = append(body, 0, 0, 0, 0) // opt_endofopt
	w.block(0x80000001, body)
	w.procs++
	return w.procs - 1
}

// WriteProc appends one packet (pcapng only) tagged with the index of the
// process that sent or received it (Apple's option 0x8001).
func (w *Writer) WriteProc(ts time.Time, frame []byte, iface, proc int) error {
	w.procOpt = proc
	defer func() { w.procOpt = -1 }()
	return w.WriteLen(ts, frame, len(frame), iface)
}

// Write appends one packet captured whole at ts on interface iface (0 for
// pcap).
func (w *Writer) Write(ts time.Time, frame []byte, iface int) error {
	return w.WriteLen(ts, frame, len(frame), iface)
}

// WriteLen appends one packet whose original length was wireLen; frame is
// what was captured (cut to the snap length as a capture would).
func (w *Writer) WriteLen(ts time.Time, frame []byte, wireLen, iface int) error {
	if w.err != nil {
		return w.err
	}
	if iface < 0 || iface >= len(w.links) {
		w.err = fmt.Errorf("capgen: interface %d out of range (%d interfaces)", iface, len(w.links))
		return w.err
	}
	if iface > 0 && !w.ng {
		return errors.New("capgen: a pcap file has only interface 0")
	}
	if uint32(len(frame)) > w.snaplen {
		frame = frame[:w.snaplen]
	}
	if wireLen < len(frame) {
		wireLen = len(frame)
	}
	if w.ng {
		var units uint64
		if w.nano {
			units = uint64(ts.UnixNano())
		} else {
			units = uint64(ts.UnixMicro())
		}
		body := make([]byte, 20+len(frame))
		w.order.PutUint32(body[0:], uint32(iface))
		w.order.PutUint32(body[4:], uint32(units>>32))
		w.order.PutUint32(body[8:], uint32(units))
		w.order.PutUint32(body[12:], uint32(len(frame)))
		w.order.PutUint32(body[16:], uint32(wireLen))
		copy(body[20:], frame)
		if w.procOpt >= 0 {
			for len(body)%4 != 0 {
				body = append(body, 0)
			}
			opt := make([]byte, 12)
			w.order.PutUint16(opt[0:], 0x8001)
			w.order.PutUint16(opt[2:], 4)
			w.order.PutUint32(opt[4:], uint32(w.procOpt))
			body = append(body, opt...) // then opt_endofopt (zeros)
		}
		w.block(6, body)
		return w.err
	}
	rec := make([]byte, 16+len(frame))
	w.order.PutUint32(rec[0:], uint32(ts.Unix()))
	if w.nano {
		w.order.PutUint32(rec[4:], uint32(ts.Nanosecond()))
	} else {
		w.order.PutUint32(rec[4:], uint32(ts.Nanosecond()/1000))
	}
	w.order.PutUint32(rec[8:], uint32(len(frame)))
	w.order.PutUint32(rec[12:], uint32(wireLen))
	copy(rec[16:], frame)
	w.put(rec)
	return w.err
}

// Err returns the first error met while writing.
func (w *Writer) Err() error { return w.err }
