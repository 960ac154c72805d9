//go:build linux

package afring

import (
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// ErrTimeout is what Socket.Next returns when no block was handed over
// before its deadline.
var ErrTimeout = errors.New("afring: no packets before the deadline")

// ErrInterfaceDown is what Socket.Next returns when the kernel reports
// that the socket's interface went down or away.
var ErrInterfaceDown = errors.New("afring: the interface went down")

// Config says what a Socket captures and how large its ring is.
type Config struct {
	// Interface is the interface to capture on; "" captures on every
	// interface, as cooked packets that start at their IP header.
	Interface string
	// BlockSize is the size of a ring block in bytes: a multiple of the
	// page size, larger than the largest packet (a larger one is cut).
	BlockSize int
	// Blocks is the number of blocks in the ring (at least 2).
	Blocks int
	// BlockTimeout is how long the kernel fills a block before handing it
	// over anyway: it bounds how late a packet on a quiet link is seen.
	BlockTimeout time.Duration
	// Filter is a classic BPF program attached before the socket is
	// bound, so no packet it rejects is ever captured.
	Filter []unix.SockFilter
	// Promiscuous puts the interface in promiscuous mode while the socket
	// is open.
	Promiscuous bool
}

// Stats are a socket's counters since it was opened.
type Stats struct {
	Packets   uint64 // packets the kernel received for the socket, dropped ones included
	Drops     uint64 // packets dropped because the ring was full
	Freezes   uint64 // times the ring's queue froze full
	Blocks    uint64 // ring blocks handed over
	BadBlocks uint64 // blocks whose walk ended at an inconsistency (BadBlock says the first)
	BadBlock  string // the first inconsistency, or ""
}

// Socket is one AF_PACKET socket with a TPACKET_V3 receive ring. Next and
// Close belong to one goroutine; Stats may be called from any.
type Socket struct {
	file  *os.File
	rc    syscall.RawConn
	fd    int
	ring  []byte
	bsize int
	nblk  int
	ether bool

	cur   int  // the block to hand over next
	held  bool // the block cur is handed over and not yet released
	w     Walker
	woken int   // wake-ups of the current wait
	werr  error // a socket error the current wait found
	ready func(fd uintptr) bool

	blocks, bad atomic.Uint64
	badOnce     sync.Once
	badMsg      atomic.Pointer[string]

	mu     sync.Mutex // guards the totals below
	totals Stats
}

// Open creates a socket with its ring, attaches the filter and binds it to
// the interface. It captures from then on; JoinFanout puts it in a group.
func Open(cfg Config) (*Socket, error) {
	page := os.Getpagesize()
	switch {
	case cfg.BlockSize < page || cfg.BlockSize%page != 0 || cfg.BlockSize > 1<<30:
		return nil, fmt.Errorf("afring: block size %d is not a multiple of the %d-byte page up to 1 GiB", cfg.BlockSize, page)
	case cfg.Blocks < 2 || cfg.Blocks > (1<<31)/cfg.BlockSize:
		return nil, fmt.Errorf("afring: %d blocks of %d bytes: want at least 2, and under 2 GiB in all", cfg.Blocks, cfg.BlockSize)
	}
	ifindex := 0
	if cfg.Interface != "" {
		ifi, err := net.InterfaceByName(cfg.Interface)
		if err != nil {
			return nil, fmt.Errorf("afring: interface %s: %w", cfg.Interface, err)
		}
		ifindex = ifi.Index
	}
	typ := unix.SOCK_RAW
	if cfg.Interface == "" {
		typ = unix.SOCK_DGRAM
	}
	// Protocol 0: the socket receives nothing until it is bound, after
	// its ring and filter are in place.
	fd, err := unix.Socket(unix.AF_PACKET, typ|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("afring: socket: %w", err)
	}
	s := &Socket{fd: fd, bsize: cfg.BlockSize, nblk: cfg.Blocks, ether: typ == unix.SOCK_RAW}
	if err := s.setup(cfg, ifindex); err != nil {
		s.closeFD()
		return nil, err
	}
	s.file = os.NewFile(uintptr(fd), "afpacket:"+cfg.Interface)
	rc, err := s.file.SyscallConn()
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("afring: %w", err)
	}
	s.rc = rc
	s.ready = s.readyFn
	return s, nil
}

func (s *Socket) setup(cfg Config, ifindex int) error {
	fd := s.fd
	if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_VERSION, unix.TPACKET_V3); err != nil {
		return fmt.Errorf("afring: TPACKET_V3: %w", err)
	}
	const frame = 1 << 12 // TPACKET_V3 packs packets of any size; the kernel still wants a frame size
	fpb := cfg.BlockSize / frame
	req := unix.TpacketReq3{
		Block_size:     uint32(cfg.BlockSize),
		Block_nr:       uint32(cfg.Blocks),
		Frame_size:     frame,
		Frame_nr:       uint32(fpb * cfg.Blocks),
		Retire_blk_tov: uint32(max(cfg.BlockTimeout.Milliseconds(), 1)),
	}
	if err := unix.SetsockoptTpacketReq3(fd, unix.SOL_PACKET, unix.PACKET_RX_RING, &req); err != nil {
		return fmt.Errorf("afring: a ring of %d blocks of %d bytes: %w", cfg.Blocks, cfg.BlockSize, err)
	}
	ring, err := unix.Mmap(fd, 0, cfg.BlockSize*cfg.Blocks, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return fmt.Errorf("afring: mapping the ring: %w", err)
	}
	s.ring = ring
	if len(cfg.Filter) > 0 {
		prog := unix.SockFprog{Len: uint16(len(cfg.Filter)), Filter: &cfg.Filter[0]}
		if len(cfg.Filter) > 0xffff {
			return fmt.Errorf("afring: filter of %d instructions is too long", len(cfg.Filter))
		}
		if err := unix.SetsockoptSockFprog(fd, unix.SOL_SOCKET, unix.SO_ATTACH_FILTER, &prog); err != nil {
			return fmt.Errorf("afring: attaching the filter: %w", err)
		}
	}
	sa := &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: ifindex}
	if err := unix.Bind(fd, sa); err != nil {
		return fmt.Errorf("afring: bind: %w", err)
	}
	if cfg.Promiscuous && ifindex != 0 {
		mreq := unix.PacketMreq{Ifindex: int32(ifindex), Type: unix.PACKET_MR_PROMISC}
		if err := unix.SetsockoptPacketMreq(fd, unix.SOL_PACKET, unix.PACKET_ADD_MEMBERSHIP, &mreq); err != nil {
			return fmt.Errorf("afring: promiscuous mode: %w", err)
		}
	}
	return nil
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// JoinFanout puts the socket in fanout group id in hash mode with
// defragmentation: the kernel reassembles IPv4 fragments, then puts every
// packet of a flow, both directions, on the same socket of the group (its
// flow hash orders the two endpoints first).
func (s *Socket) JoinFanout(id uint16) error {
	arg := int(id) | (unix.PACKET_FANOUT_HASH|unix.PACKET_FANOUT_FLAG_DEFRAG)<<16
	if err := unix.SetsockoptInt(s.fd, unix.SOL_PACKET, unix.PACKET_FANOUT, arg); err != nil {
		return fmt.Errorf("afring: joining fanout group %d: %w", id, err)
	}
	return nil
}

// Next gives the previous block back to the kernel and returns a walker
// over the next one, waiting for it until deadline (then ErrTimeout). The
// walker and the packets it returns are valid until the next call.
func (s *Socket) Next(deadline time.Time) (*Walker, error) {
	if s.held {
		s.release()
	}
	if !s.readyBlock() {
		if err := s.wait(deadline); err != nil {
			return nil, err
		}
	}
	s.held = true
	s.blocks.Add(1)
	s.w.Reset(s.block(s.cur), s.ether)
	return &s.w, nil
}

// block returns ring block i.
func (s *Socket) block(i int) []byte {
	return s.ring[i*s.bsize : (i+1)*s.bsize : (i+1)*s.bsize]
}

// status is the block_status word of block i, which the kernel and the
// reader hand the block over with.
func (s *Socket) status(i int) *uint32 {
	return (*uint32)(unsafe.Pointer(&s.ring[i*s.bsize+blockStatusOff]))
}

func (s *Socket) readyBlock() bool {
	return atomic.LoadUint32(s.status(s.cur))&unix.TP_STATUS_USER != 0
}

// release hands the current block back to the kernel.
func (s *Socket) release() {
	if err := s.w.Err(); err != nil {
		s.bad.Add(1)
		s.badOnce.Do(func() { msg := err.Error(); s.badMsg.Store(&msg) })
	}
	atomic.StoreUint32(s.status(s.cur), unix.TP_STATUS_KERNEL)
	s.held = false
	if s.cur++; s.cur == s.nblk {
		s.cur = 0
	}
}

// wait parks the goroutine in the runtime's network poller until the
// kernel hands the current block over, the deadline passes or the socket
// reports an error; no thread stays blocked in a system call.
func (s *Socket) wait(deadline time.Time) error {
	if err := s.file.SetReadDeadline(deadline); err != nil {
		return fmt.Errorf("afring: %w", err)
	}
	s.woken, s.werr = 0, nil
	err := s.rc.Read(s.ready)
	switch {
	case s.werr != nil:
		return s.werr
	case err == nil:
		return nil
	case errors.Is(err, os.ErrDeadlineExceeded):
		// An error the poller reported once may have gone by unseen.
		if e := s.sockErr(); e != nil {
			return e
		}
		return ErrTimeout
	}
	return fmt.Errorf("afring: %w", err)
}

// readyFn is the poller's test: the block is ours, or the socket failed.
func (s *Socket) readyFn(uintptr) bool {
	if s.readyBlock() {
		return true
	}
	if s.woken++; s.woken > 1 {
		// Woken with no block: the interface may have gone.
		s.werr = s.sockErr()
		return s.werr != nil
	}
	return false
}

// sockErr reads and clears the socket's pending error.
func (s *Socket) sockErr() error {
	e, err := unix.GetsockoptInt(s.fd, unix.SOL_SOCKET, unix.SO_ERROR)
	switch {
	case err != nil:
		return fmt.Errorf("afring: %w", err)
	case e == int(unix.ENETDOWN) || e == int(unix.ENODEV) || e == int(unix.ENXIO):
		return ErrInterfaceDown
	case e != 0:
		return fmt.Errorf("afring: %w", unix.Errno(e))
	}
	return nil
}

// Stats reads the kernel's counters (which it resets on every read) into
// the socket's totals and returns them.
func (s *Socket) Stats() (Stats, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var st *unix.TpacketStatsV3
	var err error
	if cerr := s.rc.Control(func(fd uintptr) {
		st, err = unix.GetsockoptTpacketStatsV3(int(fd), unix.SOL_PACKET, unix.PACKET_STATISTICS)
	}); cerr != nil {
		err = cerr
	}
	if err == nil {
		s.totals.Packets += uint64(st.Packets)
		s.totals.Drops += uint64(st.Drops)
		s.totals.Freezes += uint64(st.Freeze_q_cnt)
	}
	t := s.totals
	t.Blocks, t.BadBlocks = s.blocks.Load(), s.bad.Load()
	if m := s.badMsg.Load(); m != nil {
		t.BadBlock = *m
	}
	if err != nil {
		return t, fmt.Errorf("afring: statistics: %w", err)
	}
	return t, nil
}

// Close closes the socket and unmaps its ring.
func (s *Socket) Close() error {
	var err error
	if s.file != nil {
		err = s.file.Close()
	} else {
		s.closeFD()
	}
	if s.ring != nil {
		if e := unix.Munmap(s.ring); e != nil && err == nil {
			err = e
		}
		s.ring = nil
	}
	return err
}

func (s *Socket) closeFD() {
	unix.Close(s.fd)
	if s.ring != nil {
		_ = unix.Munmap(s.ring)
		s.ring = nil
	}
}
