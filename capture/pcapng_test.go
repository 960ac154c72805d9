package capture_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"orchard/capture"
	"orchard/internal/capgen"
	"orchard/internal/sharedtest"
)

var (
	le = binary.LittleEndian
	be = binary.BigEndian
)

// cat joins blocks into a file.
func cat(blocks ...[]byte) []byte { return bytes.Join(blocks, nil) }

// readBoth reads b as a stream and, padded past the mapping threshold
// with a skipped block, as a mapped file; both must give the same packets
// and the same error.
func readBoth(t *testing.T, b []byte) ([]rec, error) {
	t.Helper()
	got, err := readAll(t, openBytes(t, b))
	// A block that reads the same in either byte order (type 0d0bb00d,
	// length 00101000: 1052672 bytes).
	pad := capgen.NGBlock(le, 0x0db00b0d, make([]byte, 0x00101000-12))
	path := writeTemp(t, "mapped.pcapng", append(append([]byte(nil), b...), pad...))
	f, oerr := capture.Open(path)
	if oerr != nil {
		t.Fatalf("mapped open: %v; stream: %v", oerr, err)
	}
	defer f.Close()
	mgot, merr := readAll(t, f)
	if !f.Mapped() && strconv.IntSize == 64 {
		t.Error("the padded file is not mapped") // 32-bit builds read files
	}
	if len(mgot) != len(got) || (err == nil) != (merr == nil) || (err != nil && renamed(merr, "mem") != err.Error()) {
		t.Fatalf("mapped: %d packets, %v; stream: %d packets, %v", len(mgot), merr, len(got), err)
	}
	for i := range got {
		if !bytes.Equal(got[i].data, mgot[i].data) || !got[i].ts.Equal(mgot[i].ts) {
			t.Fatalf("packet %d differs mapped", i)
		}
	}
	return got, err
}

// formatAt checks that err is one FormatError at offset off whose message
// says want.
func formatAt(t *testing.T, err error, off int64, want string) {
	t.Helper()
	var fe *capture.FormatError
	if !errors.As(err, &fe) || fe.Offset != off || !strings.Contains(err.Error(), want) {
		t.Errorf("got %v, want a format error at offset %d saying %q", err, off, want)
	}
}

func TestNgTimestampResolutions(t *testing.T) {
	fr := frames(1)[0]
	base := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		name  string
		opts  []capgen.NGOption
		units uint64
		want  time.Time
	}{
		{"default micro", nil, uint64(base.UnixMicro()) + 7, base.Add(7 * time.Microsecond)},
		{"nano", []capgen.NGOption{{Code: 9, Value: []byte{9}}}, uint64(base.UnixNano()) + 7, base.Add(7)},
		{"milli", []capgen.NGOption{{Code: 9, Value: []byte{3}}}, uint64(base.UnixMilli()) + 7, base.Add(7 * time.Millisecond)},
		{"pico", []capgen.NGOption{{Code: 9, Value: []byte{12}}}, 1e6*1e12 + 7000, time.Unix(1e6, 7)},
		{"2^-20", []capgen.NGOption{{Code: 9, Value: []byte{0x80 | 20}}}, uint64(base.Unix())<<20 | 1<<19, base.Add(500 * time.Millisecond)},
		{"2^-0", []capgen.NGOption{{Code: 9, Value: []byte{0x80}}}, uint64(base.Unix()), base},
		{"offset", []capgen.NGOption{{Code: 14, Value: le.AppendUint64(nil, 3600)}}, uint64(base.UnixMicro()), base.Add(time.Hour)},
		{"1e-30", []capgen.NGOption{{Code: 9, Value: []byte{30}}}, 1 << 60, time.Unix(0, 0)},
		{"2^-100", []capgen.NGOption{{Code: 9, Value: []byte{0x80 | 100}}}, 1 << 63, time.Unix(0, 0)},
	}
	for _, c := range cases {
		b := cat(capgen.NGSection(le, 1, 0), capgen.NGInterface(le, layers.LinkTypeEthernet, 0, c.opts...), capgen.NGEnhanced(le, 0, c.units, fr, uint32(len(fr))))
		got, err := readAll(t, openBytes(t, b))
		if err != nil || len(got) != 1 || !got[0].ts.Equal(c.want) {
			t.Errorf("%s: %v packets, %v, want time %v", c.name, got, err, c.want)
		}
	}
}

// TestNgSimplePacketTime: a simple packet block has no timestamp; it takes
// the previous packet's (the Unix epoch when it comes first), never the
// zero time.Time (year 1, 1754-08-30 in UnixNano).
func TestNgSimplePacketTime(t *testing.T) {
	fr := frames(1)[0]
	ts := t0.Truncate(time.Microsecond)
	b := cat(capgen.NGSection(le, 1, 0), capgen.NGInterface(le, layers.LinkTypeEthernet, 0),
		capgen.NGSimple(le, fr, uint32(len(fr))),
		capgen.NGEnhanced(le, 0, uint64(ts.UnixMicro()), fr, uint32(len(fr))),
		capgen.NGSimple(le, fr, uint32(len(fr))))
	got, err := readBoth(t, b)
	if err != nil || len(got) != 3 {
		t.Fatalf("%d packets, %v", len(got), err)
	}
	if !got[0].ts.Equal(time.Unix(0, 0)) || !got[1].ts.Equal(ts) || !got[2].ts.Equal(ts) {
		t.Errorf("times %v, %v, %v", got[0].ts, got[1].ts, got[2].ts)
	}
}

// TestNgBombs are small versions of the hostile files of issue 13: every
// block is checked before anything reads it, metadata is capped, and
// skipped blocks are not kept.
func TestNgBombs(t *testing.T) {
	fr := frames(2)
	shb := capgen.NGSection(le, 1, 0)
	idb := capgen.NGInterface(le, layers.LinkTypeEthernet, 0)
	pkt := capgen.NGEnhanced(le, 0, uint64(t0.UnixMicro()), fr[1], uint32(len(fr[1])))
	hugeEPB := func() []byte {
		h := le.AppendUint32(nil, 6)
		return le.AppendUint32(h, 300<<20) // a 300 MiB "packet", then nothing
	}
	t.Run("many blocks then a huge packet", func(t *testing.T) {
		head := cat(shb, idb, pkt, bytes.Repeat(capgen.NGNames(le, 1), 5000))
		got, err := readAllocs(t, cat(head, hugeEPB(), pkt), 8<<20)
		formatAt(t, err, int64(len(head)), "packet block length 314572800 exceeds the maximum")
		if len(got) != 1 {
			t.Errorf("%d packets before the bomb", len(got))
		}
	})
	t.Run("big skipped block", func(t *testing.T) {
		b := cat(shb, idb, pkt, capgen.NGNames(le, 150000), pkt, capgen.NGBlock(le, 0x40000bad, make([]byte, 3<<20)), pkt)
		got, err := readAllocs(t, b, 8<<20)
		if err != nil || len(got) != 3 {
			t.Errorf("%d packets, %v", len(got), err)
		}
		if _, err := readBoth(t, b); err != nil {
			t.Error(err)
		}
	})
	t.Run("big skipped block cut short", func(t *testing.T) {
		b := cat(shb, idb, pkt, capgen.NGNames(le, 150000))
		b = b[:len(b)-100]
		got, err := readAll(t, openBytes(t, b))
		var te *capture.TruncatedError
		if !errors.As(err, &te) || te.Offset != int64(len(shb)+len(idb)+len(pkt)) || len(got) != 1 {
			t.Errorf("%d packets, %v", len(got), err)
		}
		f, err := capture.Open(writeTemp(t, "short.pcapng", b))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		got, err = readAll(t, f)
		if !errors.As(err, &te) || te.Offset != int64(len(shb)+len(idb)+len(pkt)) || len(got) != 1 || !f.Mapped() && strconv.IntSize == 64 {
			t.Errorf("mapped: %d packets, %v", len(got), err)
		}
	})
	t.Run("interfaces in a section", func(t *testing.T) {
		head := cat(shb, bytes.Repeat(idb, 4096))
		_, err := readAllocs(t, cat(head, idb, pkt), 8<<20)
		formatAt(t, err, int64(len(head)), "more than 4096 interfaces in one section")
	})
	t.Run("interfaces in a file", func(t *testing.T) {
		sec := cat(shb, bytes.Repeat(idb, 4096), pkt)
		head := bytes.Repeat(sec, 16)
		got, err := readAllocs(t, cat(head, shb, idb, pkt), 16<<20)
		formatAt(t, err, int64(len(head)+len(shb)), "more than 65536 interfaces in the file")
		if len(got) != 16 {
			t.Errorf("%d packets", len(got))
		}
	})
	t.Run("trailing length", func(t *testing.T) {
		nrb := capgen.NGNames(le, 3)
		nrb[len(nrb)-4]++
		_, err := readBoth(t, cat(shb, idb, nrb, pkt))
		formatAt(t, err, int64(len(shb)+len(idb)), "trailing length")
	})
	t.Run("packet of an undescribed interface", func(t *testing.T) {
		p := capgen.NGEnhanced(le, 1, 0, fr[0], uint32(len(fr[0])))
		_, err := readBoth(t, cat(shb, idb, p))
		formatAt(t, err, int64(len(shb)+len(idb)), "packet of interface 1, but the section describes 1")
	})
	t.Run("huge interface block", func(t *testing.T) {
		var opts []capgen.NGOption
		for range 20 {
			opts = append(opts, capgen.NGOption{Code: 2, Value: make([]byte, 60000)})
		}
		big := capgen.NGInterface(le, layers.LinkTypeEthernet, 0, opts...)
		_, err := readAllocs(t, cat(shb, big, pkt), 8<<20)
		formatAt(t, err, int64(len(shb)), "exceeds the maximum 1048576")
	})
}

// readAllocs reads b as a stream and checks it allocates at most limit bytes.
func readAllocs(t *testing.T, b []byte, limit uint64) ([]rec, error) {
	t.Helper()
	var ms0, ms1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms0)
	f := openBytes(t, b)
	var p capture.Packet
	var got []rec
	var err error
	for {
		if err = f.Next(&p); err != nil {
			break
		}
		got = append(got, rec{ts: p.Timestamp})
	}
	runtime.ReadMemStats(&ms1)
	if d := ms1.TotalAlloc - ms0.TotalAlloc; d > limit {
		t.Errorf("reading %d bytes allocated %d", len(b), d)
	}
	if err == io.EOF {
		err = nil
	}
	return got, err
}

// TestNgVersions: a section of a version other than 1.x is refused with
// its offset, at open when it comes first.
func TestNgVersions(t *testing.T) {
	fr := frames(1)[0]
	idb := capgen.NGInterface(le, layers.LinkTypeEthernet, 0)
	pkt := capgen.NGEnhanced(le, 0, 1, fr, uint32(len(fr)))
	_, err := capture.OpenReader("v2.pcapng", bytes.NewReader(cat(capgen.NGSection(le, 2, 0), idb, pkt)))
	formatAt(t, err, 0, "v2.pcapng: malformed record at offset 0: pcapng section of version 2.0")
	if err == nil || errors.Is(err, io.EOF) {
		t.Errorf("version 2.0 first: %v", err)
	}
	first := cat(capgen.NGSection(le, 1, 0), idb, pkt)
	got, err := readBoth(t, cat(first, capgen.NGSection(be, 3, 1), pkt))
	formatAt(t, err, int64(len(first)), "version 3.1")
	if len(got) != 1 {
		t.Errorf("%d packets before the unknown section", len(got))
	}
	// 1.2 is read, as libpcap does; a second section in the other byte
	// order starts afresh.
	got, err = readBoth(t, cat(capgen.NGSection(le, 1, 2), idb, pkt, capgen.NGSection(be, 1, 0), capgen.NGInterface(be, layers.LinkTypeRaw, 0), capgen.NGEnhanced(be, 0, 1, fr, uint32(len(fr)))))
	if err != nil || len(got) != 2 || got[1].link != layers.LinkTypeRaw {
		t.Errorf("1.2 then big-endian 1.0: %d packets, %v", len(got), err)
	}
}

// TestNgMatchesPcapgo reads generated pcapng files with gopacket's reader
// too: the same packets, times, lengths, interfaces and link types.
func TestNgMatchesPcapgo(t *testing.T) {
	for _, opt := range []capgen.NGOptions{{}, {BigEndian: true}, {Nano: true}} {
		var buf bytes.Buffer
		w := capgen.NewPcapNGOptions(&buf, opt, layers.LinkTypeEthernet, layers.LinkTypeLinuxSLL2)
		for i, fr := range frames(40) {
			w.Write(t0.Add(time.Duration(i)*time.Second), fr, i%2)
		}
		matchPcapgo(t, fmt.Sprintf("%+v", opt), buf.Bytes())
	}
}

// TestNgSharedMatchesPcapgo is TestNgMatchesPcapgo on every shared pcapng
// capture.
func TestNgSharedMatchesPcapgo(t *testing.T) {
	for _, p := range sharedtest.Pcaps(t) {
		if !strings.HasSuffix(p, ".pcapng") {
			continue
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		matchPcapgo(t, filepath.Base(p), b)
	}
}

func matchPcapgo(t *testing.T, name string, b []byte) {
	t.Helper()
	if len(b) < 4 || be.Uint32(b) != 0x0a0d0d0a {
		return // a pcap file named .pcapng
	}
	got, err := readAll(t, openBytes(t, b))
	if err != nil {
		t.Errorf("%s: %v", name, err)
	}
	r, err := pcapgo.NewNgReader(bytes.NewReader(b), pcapgo.NgReaderOptions{WantMixedLinkType: true})
	if err != nil {
		t.Fatalf("%s: pcapgo: %v", name, err)
	}
	n := 0
	for ; ; n++ {
		data, ci, err := r.ReadPacketData()
		if err != nil {
			break
		}
		if n >= len(got) {
			n++
			break
		}
		g := got[n]
		iface, _ := r.Interface(ci.InterfaceIndex)
		if !bytes.Equal(g.data, data) || !g.ts.Equal(ci.Timestamp) || g.iface != ci.InterfaceIndex || g.wire != ci.Length || g.link != iface.LinkType {
			t.Errorf("%s packet %d: ts %v/%v iface %d/%d wire %d/%d link %v/%v data equal %v", name, n, g.ts, ci.Timestamp, g.iface, ci.InterfaceIndex, g.wire, ci.Length, g.link, iface.LinkType, bytes.Equal(g.data, data))
			return
		}
	}
	if n != len(got) {
		t.Errorf("%s: %d packets, pcapgo %d", name, len(got), n)
	}
}
