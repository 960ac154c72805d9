package analyzer

import "net/netip"

// devBlocks finds IPv4 devices by their /24: a small directory of blocks,
// each 256 slots indexed by the address's last byte, so that neighbouring
// clients (a DHCP range) have neighbouring slots and a lookup costs no
// hash. Blocks are made when their first device is added, at most
// maxDevBlocks of them; the devices of any other /24 (and every IPv6
// device) stay in the hashed table. A /24 is wholly in one of the two.
type devBlocks struct {
	dir    [2 * maxDevBlocks]uint32 // open addressing: /24 + 1 (0: empty)
	at     [2 * maxDevBlocks]uint16 // the block of dir's /24
	blocks []*[256]devSlot
}

// maxDevBlocks bounds the blocks (24 bytes a slot: 6 KB each, 3 MB in all,
// what the hashed table takes at maxTracked).
const maxDevBlocks = 512

// blockMark is the h of a device's slot in a block (nonzero: taken).
const blockMark = 1

// dirHome returns the directory position of /24 p (the address >> 8).
func dirHome(p uint32) uint32 {
	return (p * 0x9E3779B1) >> (32 - 10) // log2(2*maxDevBlocks) = 10
}

// block returns the block of a's /24, or nil.
func (b *devBlocks) block(a4 [4]byte) *[256]devSlot {
	p := uint32(a4[0])<<16 | uint32(a4[1])<<8 | uint32(a4[2])
	for i := dirHome(p); ; i = (i + 1) & (2*maxDevBlocks - 1) {
		switch b.dir[i] {
		case 0:
			return nil
		case p + 1:
			return b.blocks[b.at[i]]
		}
	}
}

// canAdd reports whether a block may be made while the index holds n
// devices: at most maxDevBlocks, and one for each blockDensity devices,
// so that sparse addresses (a capture of the Internet's clients) stay in
// the hashed table instead of a mostly empty block each.
func (b *devBlocks) canAdd(n int) bool {
	return len(b.blocks) < maxDevBlocks && len(b.blocks)*blockDensity <= n
}

// blockDensity is how many devices each block needs, on average, for
// another block to be made.
const blockDensity = 64

// newBlock makes the block of a's /24, which has none, or returns nil when
// canAdd(n) does not allow one.
func (b *devBlocks) newBlock(a4 [4]byte, n int) *[256]devSlot {
	if !b.canAdd(n) {
		return nil
	}
	p := uint32(a4[0])<<16 | uint32(a4[1])<<8 | uint32(a4[2])
	i := dirHome(p)
	for b.dir[i] != 0 {
		i = (i + 1) & (2*maxDevBlocks - 1)
	}
	b.dir[i], b.at[i] = p+1, uint16(len(b.blocks))
	blk := new([256]devSlot)
	b.blocks = append(b.blocks, blk)
	return blk
}

// nilIfFree returns s, or nil if it is free.
func nilIfFree(s *devSlot) *devSlot {
	if s.h == 0 {
		return nil
	}
	return s
}

// hashed4Slot looks IPv4 address a up in the hashed table, if it holds
// any IPv4 device.
func (x *devIndex) hashed4Slot(a netip.Addr) (*devSlot, uint64) {
	h := x.hash(a)
	if x.hashed4 == 0 {
		return nil, h
	}
	return x.hashedSlot(a, h)
}

// blockable reports whether a may live in a block: a plain IPv4 address
// (not IPv4-mapped IPv6, which is another device).
func blockable(a netip.Addr) bool { return a.Is4() }

// addBlock puts d, which slot found in no slot of a block, in its /24's
// block, made if need be; false if it has none and none can be made.
func (x *devIndex) addBlock(d *DeviceSummary, more bool) bool {
	a4 := d.Tally.Addr.As4()
	blk := x.blk.block(a4)
	if blk == nil {
		if blk = x.blk.newBlock(a4, len(x.devs)); blk == nil {
			return false
		}
	}
	s := devSlot{h: blockMark, d: d}
	if more {
		s.h |= slotMore
	}
	blk[a4[3]] = s
	return true
}
