//go:build linux

package afring

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"orchard/internal/lab"
)

// veth builds a namespace with a veth pair (tx0, rx0) and returns the lab
// and the namespace's name.
func veth(t *testing.T) (*lab.Net, string) {
	t.Helper()
	if why := lab.Available(); why != "" {
		t.Skip(why)
	}
	n, err := lab.NewNet("afring")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = n.Close() })
	ns, err := n.AddNS("a")
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Veth(ns, "tx0", ns, "rx0"); err != nil {
		t.Fatal(err)
	}
	return n, ns
}

// sendFrames sends raw Ethernet frames out of iface in namespace ns.
func sendFrames(t *testing.T, ns, iface string, frames [][]byte) {
	t.Helper()
	err := lab.InNS(ns, func() error {
		ifi, err := net.InterfaceByName(iface)
		if err != nil {
			return err
		}
		fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		to := &unix.SockaddrLinklayer{Ifindex: ifi.Index, Halen: 6, Addr: [8]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}}
		for _, f := range frames {
			if err := unix.Sendto(fd, f, 0, to); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// openIn opens a socket in namespace ns.
func openIn(t *testing.T, ns string, cfg Config) *Socket {
	t.Helper()
	var s *Socket
	if err := lab.InNS(ns, func() (err error) { s, err = Open(cfg); return err }); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// ethFrame is a broadcast frame of EtherType 0x88b5 (local experimental)
// with tags (TPID, TCI pairs) after the addresses and n payload bytes.
func ethFrame(id byte, n int, tags ...uint16) []byte {
	f := []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0, 0, 0, id}
	for _, v := range tags {
		f = binary.BigEndian.AppendUint16(f, v)
	}
	f = append(f, 0x88, 0xb5)
	for i := 0; i < n; i++ {
		f = append(f, id+byte(i))
	}
	return f
}

// collect reads frames of EtherType 0x88b5 (tagged or not) until want
// arrived or two seconds passed.
func collect(t *testing.T, s *Socket, want int) []Packet {
	t.Helper()
	var got []Packet
	end := time.Now().Add(2 * time.Second)
	var p Packet
	for len(got) < want && time.Now().Before(end) {
		w, err := s.Next(time.Now().Add(100 * time.Millisecond))
		if errors.Is(err, ErrTimeout) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		for w.Next(&p) {
			if bytes.Contains(p.Data[12:min(len(p.Data), 22)], []byte{0x88, 0xb5}) {
				got = append(got, Packet{Data: bytes.Clone(p.Data), TS: p.TS, WireLen: p.WireLen})
			}
		}
		if w.Err() != nil {
			t.Fatal(w.Err())
		}
	}
	return got
}

// TestSocketFramesAsSent checks, through a real veth, that frames come
// out of the ring byte for byte as they were sent, VLAN tags included:
// the kernel takes a tag out of the frame on receive (into the packet
// header), and the walker puts it back.
func TestSocketFramesAsSent(t *testing.T) {
	_, ns := veth(t)
	s := openIn(t, ns, Config{Interface: "rx0", BlockSize: 1 << 16, Blocks: 4, BlockTimeout: 10 * time.Millisecond})
	frames := [][]byte{
		ethFrame(1, 46),
		ethFrame(2, 100, 0x8100, 0x2007),           // 802.1Q, priority 1, VLAN 7
		ethFrame(3, 1400, 0x8100, 0x0000),          // priority tag, VLAN 0
		ethFrame(4, 60, 0x88a8, 0x0005),            // 802.1ad
		ethFrame(5, 60, 0x88a8, 0x0005, 0x8100, 9), // QinQ: the inner tag stays in the frame
	}
	before := time.Now().UnixNano()
	sendFrames(t, ns, "tx0", frames)
	got := collect(t, s, len(frames))
	if len(got) != len(frames) {
		t.Fatalf("%d of %d frames read", len(got), len(frames))
	}
	for i, p := range got {
		if !bytes.Equal(p.Data, frames[i]) {
			t.Errorf("frame %d:\n got % x\nwant % x", i, p.Data, frames[i])
		}
		if p.WireLen != len(frames[i]) {
			t.Errorf("frame %d: wire length %d, want %d", i, p.WireLen, len(frames[i]))
		}
		if p.TS < before || p.TS > time.Now().UnixNano() {
			t.Errorf("frame %d: time stamp %d outside the test's run", i, p.TS)
		}
	}
	st, err := s.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if st.Packets < uint64(len(frames)) || st.Drops != 0 || st.Blocks == 0 || st.BadBlocks != 0 {
		t.Errorf("stats %+v", st)
	}
}

// TestSocketDrops fills a small ring without reading it: the kernel
// drops and freezes the queue, the counters say so, and the ring still
// gives what it holds.
func TestSocketDrops(t *testing.T) {
	_, ns := veth(t)
	s := openIn(t, ns, Config{Interface: "rx0", BlockSize: 1 << 12, Blocks: 2, BlockTimeout: 5 * time.Millisecond})
	var frames [][]byte
	for i := 0; i < 100; i++ {
		frames = append(frames, ethFrame(byte(i), 900))
	}
	sendFrames(t, ns, "tx0", frames)
	time.Sleep(50 * time.Millisecond)
	st, err := s.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if st.Drops == 0 || st.Freezes == 0 || st.Packets < 100 {
		t.Errorf("after 100 frames into 8 KiB: %+v, want drops and a freeze", st)
	}
	got := collect(t, s, 2)
	if len(got) < 2 {
		t.Errorf("%d frames read from the full ring", len(got))
	}
	t.Logf("%+v; %d frames read", st, len(got))
}

// TestSocketInterfaceGone checks a waiting socket ends with
// ErrInterfaceDown when its interface is deleted.
func TestSocketInterfaceGone(t *testing.T) {
	n, ns := veth(t)
	s := openIn(t, ns, Config{Interface: "rx0", BlockSize: 1 << 12, Blocks: 2, BlockTimeout: 5 * time.Millisecond})
	errc := make(chan error, 1)
	go func() {
		for {
			_, err := s.Next(time.Now().Add(time.Second))
			if !errors.Is(err, ErrTimeout) && err != nil {
				errc <- err
				return
			}
		}
	}()
	time.Sleep(100 * time.Millisecond)
	if err := n.IP(ns, "link", "del", "tx0"); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-errc:
		if !errors.Is(err, ErrInterfaceDown) {
			t.Fatalf("%v, want ErrInterfaceDown", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the socket kept waiting after its interface went away")
	}
}

func TestOpenErrors(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{BlockSize: 1000, Blocks: 4}, "not a multiple of the"},
		{Config{BlockSize: 1 << 12, Blocks: 1}, "want at least 2"},
		{Config{Interface: "no-such-if0", BlockSize: 1 << 12, Blocks: 2}, "no-such-if0"},
	} {
		_, err := Open(tc.cfg)
		if err == nil || !bytes.Contains([]byte(err.Error()), []byte(tc.want)) {
			t.Errorf("%+v: %v, want %q", tc.cfg, err, tc.want)
		}
	}
}
