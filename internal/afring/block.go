package afring

import (
	"encoding/binary"
	"fmt"
)

// Layout of the kernel's TPACKET_V3 structures (linux/if_packet.h), in the
// host's byte order.
const (
	// struct tpacket_block_desc: version, offset_to_priv, then
	// struct tpacket_hdr_v1.
	blockStatusOff = 8  // block_status
	blockNumOff    = 12 // num_pkts
	blockFirstOff  = 16 // offset_to_first_pkt
	blockLenOff    = 20 // blk_len
	blockSeqOff    = 24 // seq_num
	// BlockHeaderLen is the size of struct tpacket_block_desc.
	BlockHeaderLen = 48

	// struct tpacket3_hdr.
	pktNextOff    = 0  // tp_next_offset
	pktSecOff     = 4  // tp_sec
	pktNsecOff    = 8  // tp_nsec
	pktSnapOff    = 12 // tp_snaplen
	pktLenOff     = 16 // tp_len
	pktStatusOff  = 20 // tp_status
	pktMacOff     = 24 // tp_mac
	pktVLANTCIOff = 32 // hv1.tp_vlan_tci
	pktVLANTPID   = 36 // hv1.tp_vlan_tpid
	// PacketHeaderLen is the size of struct tpacket3_hdr.
	PacketHeaderLen = 48

	statusVLANValid     = 0x10 // TP_STATUS_VLAN_VALID
	statusVLANTPIDValid = 0x40 // TP_STATUS_VLAN_TPID_VALID
	etherTypeVLAN       = 0x8100
	vlanTagLen          = 4
	macAddrsLen         = 12
)

// Packet is one frame in a ring block. Data points into the ring: it is
// valid until the block is released.
type Packet struct {
	Data    []byte // the captured bytes, with the VLAN tag put back
	TS      int64  // arrival time, Unix nanoseconds
	WireLen int    // length on the wire
}

// A Walker walks the packets of one TPACKET_V3 block in place. Every
// offset and length in the block is checked against its bounds: a block
// that does not hold together ends the walk with an error naming the
// block's sequence number and the offset, and never reads or writes
// outside it.
type Walker struct {
	blk   []byte
	vlan  bool // Ethernet frames: put the VLAN tags the kernel stripped back
	seq   uint64
	left  uint32 // packets still to walk
	off   int    // the next packet's header
	count uint32 // packets the block says it holds
	err   error
}

// Reset starts a walk over blk, a whole ring block. With ether set, the
// frames are Ethernet frames and a VLAN tag the kernel took off (and
// reported in the packet header) is written back into the frame, in the
// ring, before it is returned.
func (w *Walker) Reset(blk []byte, ether bool) {
	*w = Walker{blk: blk, vlan: ether}
	if len(blk) < BlockHeaderLen {
		w.err = fmt.Errorf("afring: ring block of %d bytes is shorter than its %d-byte header", len(blk), BlockHeaderLen)
		return
	}
	ne := binary.NativeEndian
	w.seq = ne.Uint64(blk[blockSeqOff:])
	w.count = ne.Uint32(blk[blockNumOff:])
	used := ne.Uint32(blk[blockLenOff:])
	first := ne.Uint32(blk[blockFirstOff:])
	switch {
	case w.count == 0:
		return // a block retired empty by its timeout
	case uint64(used) > uint64(len(blk)):
		w.err = w.errorf(blockLenOff, "block length %d exceeds the block size %d", used, len(blk))
	case uint64(w.count) > uint64(len(blk)/PacketHeaderLen):
		w.err = w.errorf(blockNumOff, "%d packets cannot fit in %d bytes", w.count, len(blk))
	case first < BlockHeaderLen || uint64(first) > uint64(len(blk)):
		w.err = w.errorf(blockFirstOff, "first packet at offset %d, outside the block (%d bytes after a %d-byte header)", first, len(blk), BlockHeaderLen)
	default:
		w.blk = blk[:used]
		w.left = w.count
		w.off = int(first)
	}
}

// Seq is the block's sequence number, as the kernel counts blocks.
func (w *Walker) Seq() uint64 { return w.seq }

// Count is the number of packets the block holds.
func (w *Walker) Count() int { return int(w.count) }

// Err is why the walk ended early, or nil.
func (w *Walker) Err() error { return w.err }

// Next returns the block's next packet; false at the end of the block or
// at the first inconsistency (then Err says what it was).
func (w *Walker) Next(p *Packet) bool {
	if w.left == 0 || w.err != nil {
		return false
	}
	blk, off := w.blk, w.off
	if off < 0 || off > len(blk)-PacketHeaderLen {
		w.err = w.errorf(off, "packet header runs past the block's %d bytes", len(blk))
		return false
	}
	h := blk[off : off+PacketHeaderLen]
	ne := binary.NativeEndian
	next := ne.Uint32(h[pktNextOff:])
	snap := int(ne.Uint32(h[pktSnapOff:]))
	wire := int(ne.Uint32(h[pktLenOff:]))
	mac := int(ne.Uint16(h[pktMacOff:]))
	status := ne.Uint32(h[pktStatusOff:])
	if mac < PacketHeaderLen || snap < 0 || snap > len(blk)-off-mac {
		w.err = w.errorf(off, "packet data (offset %d, %d bytes) runs past the block's %d bytes", mac, snap, len(blk))
		return false
	}
	start := off + mac
	if w.vlan && status&statusVLANValid != 0 && snap >= macAddrsLen && mac-vlanTagLen >= PacketHeaderLen {
		// The kernel took the tag out of the frame: put it back in front
		// of the EtherType, moving the two addresses into the gap between
		// the header and the frame.
		tpid := uint16(etherTypeVLAN)
		if status&statusVLANTPIDValid != 0 {
			tpid = ne.Uint16(h[pktVLANTPID:])
		}
		tci := uint16(ne.Uint32(h[pktVLANTCIOff:]))
		copy(blk[start-vlanTagLen:], blk[start:start+macAddrsLen])
		start -= vlanTagLen
		binary.BigEndian.PutUint16(blk[start+macAddrsLen:], tpid)
		binary.BigEndian.PutUint16(blk[start+macAddrsLen+2:], tci)
		snap += vlanTagLen
		wire += vlanTagLen
	}
	p.Data = blk[start : start+snap : start+snap]
	p.TS = int64(ne.Uint32(h[pktSecOff:]))*1e9 + int64(ne.Uint32(h[pktNsecOff:]))
	p.WireLen = max(wire, snap)
	w.left--
	if w.left > 0 {
		if next < PacketHeaderLen || uint64(next) > uint64(len(blk)-off) {
			// The packet itself is whole: return it, and stop after it.
			w.err = w.errorf(off, "next packet %d bytes on, outside the block's %d bytes", next, len(blk))
			w.left = 0
		}
		w.off = off + int(next)
	}
	return true
}

func (w *Walker) errorf(off int, format string, args ...any) error {
	return fmt.Errorf("afring: ring block %d, offset %d: %s", w.seq, off, fmt.Sprintf(format, args...))
}
