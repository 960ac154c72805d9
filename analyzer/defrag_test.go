package analyzer

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"testing"

	"github.com/gopacket/gopacket/layers"

	"orchard/defrag"
	"orchard/internal/capgen"
)

// bigDNSAnswer is a DNS response for mesu.apple.com with n A records.
func bigDNSAnswer(n int) []byte {
	m := []byte{0x12, 0x34, 0x81, 0x80, 0, 1, byte(n >> 8), byte(n), 0, 0, 0, 0}
	m = append(m, 4, 'm', 'e', 's', 'u', 5, 'a', 'p', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0, 0, 1, 0, 1)
	for i := 0; i < n; i++ {
		m = append(m, 0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 17, 253, byte(i>>8), byte(i))
	}
	return m
}

func TestIPReassembly(t *testing.T) {
	answer := bigDNSAnswer(60)
	v4 := capgen.UDP{Src: netip.MustParseAddr("10.20.0.53"), Dst: netip.MustParseAddr("10.20.30.41"), SrcPort: 53, DstPort: 50000, Payload: answer, TTL: 60, IPID: 777}.IP()
	v6 := capgen.UDP{Src: netip.MustParseAddr("fd00::53"), Dst: netip.MustParseAddr("fd00::41"), SrcPort: 53, DstPort: 50000, Payload: answer, TTL: 60}.IP()
	f4, f6 := capgen.Fragments4(v4, 256), capgen.Fragments6(v6, 256, 99)
	rev := func(fs [][]byte) [][]byte {
		out := append([][]byte(nil), fs...)
		for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
			out[i], out[j] = out[j], out[i]
		}
		return out
	}
	cases := []struct {
		name    string
		frags   [][]byte
		answers int
		dropped uint64
	}{
		{"ipv4 in order", f4, 60, 0},
		{"ipv4 reversed", rev(f4), 60, 0},
		{"ipv4 with a duplicate", append(append([][]byte{}, f4[:2]...), f4[1:]...), 60, 0},
		{"ipv4 missing a piece", append(append([][]byte{}, f4[:1]...), f4[2:]...), 0, 1},
		{"ipv6 in order", f6, 60, 0},
		{"ipv6 reversed", rev(f6), 60, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e, s := newTestEngine(t, Config{})
			for i, f := range c.frags {
				e.FrameNS(layers.LinkTypeRaw, f, t0+int64(i)*1e6, len(f))
			}
			// 40 s later, an unrelated packet expires what is incomplete.
			e.FrameNS(layers.LinkTypeRaw, c.frags[0], t0+40e9, len(c.frags[0]))
			e.Finish()
			got := 0
			for _, d := range s.dns {
				got += len(d.Answers)
			}
			if got != c.answers {
				t.Errorf("%d answers, want %d", got, c.answers)
			}
			if st := e.Stats(); st.FragDropped < c.dropped {
				t.Errorf("%d datagrams dropped, want ≥ %d", st.FragDropped, c.dropped)
			}
		})
	}
	// A datagram larger than 64 KiB is dropped, never allocated.
	e, _ := newTestEngine(t, Config{})
	f := f4[0]
	binary.BigEndian.PutUint16(f[6:], 0x2000|8189) // offset 65512, more to come
	e.FrameNS(layers.LinkTypeRaw, f, t0, len(f))
	if e.Stats().FragDropped != 1 {
		t.Errorf("oversized datagram not dropped: %+v", e.Stats())
	}
}

// FuzzReassembly feeds hostile fragment sequences (offsets, flags, sizes
// and identifications from the input) through the engine: no panic, and
// the reassembly tables stay within their limits.
func FuzzReassembly(f *testing.F) {
	f.Add([]byte{0, 0, 1, 32, 0, 4, 0, 32})
	f.Add([]byte{0, 8, 1, 200, 0, 0, 1, 200, 0, 8, 0, 16})
	f.Fuzz(func(t *testing.T, script []byte) {
		e, err := New(Config{})
		if err != nil {
			t.Fatal(err)
		}
		base := capgen.UDP{Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("10.0.0.2"), SrcPort: 53, DstPort: 5000, Payload: make([]byte, 8), TTL: 9}.IP()
		for i := 0; i+4 <= len(script) && i < 4096; i += 4 {
			pkt := capgen.ScriptedFragment(base, script[i:i+4])
			e.FrameNS(layers.LinkTypeRaw, pkt, t0+int64(i)*1e6, len(pkt))
		}
		// Each entry's own limits are checked by package defrag's fuzzer.
		if n := e.flows().frag.Pending(); n > defrag.MaxDatagrams {
			t.Fatalf("reassembly table: %d datagrams pending, over %d", n, defrag.MaxDatagrams)
		}
		e.Finish()
	})
}

// TestReassemblyAllocs: in steady state, reassembling a datagram
// allocates nothing (entries and their buffers are recycled).
func TestReassemblyAllocs(t *testing.T) {
	e, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string][][]byte{
		"ipv4": capgen.Fragments4(capgen.UDP{Src: netip.MustParseAddr("10.20.0.1"), Dst: netip.MustParseAddr("10.20.0.2"), SrcPort: 4000, DstPort: 5000, Payload: make([]byte, 3000), TTL: 60, IPID: 7}.IP(), 1024),
		"ipv6": capgen.Fragments6(capgen.UDP{Src: netip.MustParseAddr("fd00::1"), Dst: netip.MustParseAddr("fd00::2"), SrcPort: 4000, DstPort: 5000, Payload: make([]byte, 3000), TTL: 60}.IP(), 1024, 5),
	}
	for name, frags := range cases {
		ts := t0
		send := func() {
			for _, f := range frags {
				ts += 1e6
				e.FrameNS(layers.LinkTypeRaw, f, ts, len(f))
			}
		}
		send()
		if allocs := testing.AllocsPerRun(100, send); allocs != 0 {
			t.Errorf("%s: %.1f allocations per datagram, want 0", name, allocs)
		}
	}
	if fr := &e.flows().frag; fr.Dropped() != 0 || fr.Pending() != 0 {
		t.Errorf("%d datagrams dropped, %d left", fr.Dropped(), fr.Pending())
	}
}

// TestOverlappingFragments: overlapping or contradicting fragments drop
// their datagram and are counted (RFC 5722), with one worker or several;
// an IPv6 last fragment ending before one at offset 408 once panicked.
func TestOverlappingFragments(t *testing.T) {
	src, dst := netip.MustParseAddr("fd00::53"), netip.MustParseAddr("fd00::41")
	v6 := capgen.UDP{Src: src, Dst: dst, SrcPort: 53, DstPort: 50000, Payload: bigDNSAnswer(60), TTL: 60}.IP()
	f6 := capgen.Fragments6(v6, 408, 7)
	// frag6 builds one IPv6 fragment of v6's payload at off, n bytes long.
	frag6 := func(off, n int, more bool) []byte {
		f := append([]byte(nil), v6[:40]...)
		f[6] = 44
		fh := make([]byte, 8)
		fh[0] = v6[6]
		fo := uint16(off)
		if more {
			fo |= 1
		}
		binary.BigEndian.PutUint16(fh[2:], fo)
		binary.BigEndian.PutUint32(fh[4:], 7)
		f = append(append(f, fh...), v6[40+off:40+off+n]...)
		binary.BigEndian.PutUint16(f[4:], uint16(len(f)-40))
		return f
	}
	changed := append([]byte(nil), f6[1]...)
	changed[len(changed)-1] ^= 0xff
	cases := []struct {
		name  string
		frags [][]byte
	}{
		{"a last fragment ending before one at 408", [][]byte{f6[0], frag6(408, 408, true), frag6(8, 8, false)}},
		{"a last fragment overlapping one at 408", [][]byte{frag6(408, 408, true), f6[0], frag6(400, 200, false)}},
		{"middle overlapping the first", [][]byte{f6[0], frag6(400, 408, true), f6[2]}},
		{"two last fragments", [][]byte{frag6(408, 16, false), frag6(408, 24, false), f6[0]}},
		{"a copy with other bytes", [][]byte{f6[0], f6[1], changed, f6[2]}},
	}
	for _, c := range cases {
		for _, workers := range []int{1, 2} {
			t.Run(fmt.Sprintf("%s/workers=%d", c.name, workers), func(t *testing.T) {
				e, s := newTestEngine(t, Config{Workers: workers})
				for i, f := range c.frags {
					e.FrameNS(layers.LinkTypeRaw, f, t0+int64(i)*1e6, len(f))
				}
				e.Finish()
				if len(s.dns) != 0 {
					t.Errorf("%d DNS messages from a datagram that should be dropped", len(s.dns))
				}
				if st := e.Stats(); st.FragDropped != 1 {
					t.Errorf("%d datagrams dropped, want 1", st.FragDropped)
				}
			})
		}
	}
}
