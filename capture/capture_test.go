package capture_test

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"

	"orchard/capture"
	"orchard/internal/capgen"
	"orchard/internal/sharedtest"
)

var (
	macA = [6]byte{0x02, 0, 0, 0, 0, 0xaa}
	macB = [6]byte{0x02, 0, 0, 0, 0, 0xbb}
	t0   = time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.UTC)
)

// frames returns n distinct Ethernet frames of growing size.
func frames(n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = capgen.TCP{
			Src: netip.MustParseAddr("192.0.2.1"), Dst: netip.MustParseAddr("17.253.144.10"),
			SrcPort: 50000, DstPort: 443, Flags: capgen.ACK | capgen.PSH,
			Seq: uint32(i), Payload: bytes.Repeat([]byte{byte(i)}, i*7),
		}.Ethernet(macA, macB)
	}
	return out
}

type rec struct {
	data  []byte
	ts    time.Time
	link  layers.LinkType
	iface int
	wire  int
}

// readAll reads every packet of f, copying the data, and returns the final
// non-EOF error.
func readAll(t testing.TB, f *capture.File) ([]rec, error) {
	t.Helper()
	var out []rec
	var p capture.Packet
	for {
		err := f.Next(&p)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			if err2 := f.Next(&p); err2 != io.EOF {
				t.Errorf("Next after %v = %v, want io.EOF", err, err2)
			}
			return out, err
		}
		if p.CapLen != len(p.Data) {
			t.Errorf("CapLen %d, len(Data) %d", p.CapLen, len(p.Data))
		}
		out = append(out, rec{append([]byte(nil), p.Data...), p.Timestamp, p.LinkType, p.Iface, p.WireLen})
	}
}

func openBytes(t testing.TB, b []byte) *capture.File {
	t.Helper()
	f, err := capture.OpenReader("mem", bytes.NewReader(b))
	if err != nil {
		t.Fatalf("OpenReader: %v", err)
	}
	return f
}

func TestPcapVariants(t *testing.T) {
	fr := frames(20)
	for _, opt := range []capgen.PcapOptions{{}, {Nano: true}, {BigEndian: true}, {BigEndian: true, Nano: true}} {
		t.Run(fmt.Sprintf("be=%v,nano=%v", opt.BigEndian, opt.Nano), func(t *testing.T) {
			var buf bytes.Buffer
			w := capgen.NewPcapOptions(&buf, layers.LinkTypeEthernet, opt)
			for i, b := range fr {
				w.Write(t0.Add(time.Duration(i)*time.Millisecond), b, 0)
			}
			if w.Err() != nil {
				t.Fatal(w.Err())
			}
			f := openBytes(t, buf.Bytes())
			got, err := readAll(t, f)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(fr) || f.Packets() != int64(len(fr)) {
				t.Fatalf("got %d packets (Packets %d), want %d", len(got), f.Packets(), len(fr))
			}
			if f.Offset() != int64(buf.Len()) {
				t.Errorf("Offset %d, want %d", f.Offset(), buf.Len())
			}
			for i, r := range got {
				want := t0.Add(time.Duration(i) * time.Millisecond)
				if !opt.Nano {
					want = want.Truncate(time.Microsecond)
				}
				if !r.ts.Equal(want) || !bytes.Equal(r.data, fr[i]) || r.link != layers.LinkTypeEthernet || r.iface != 0 || r.wire != len(fr[i]) {
					t.Fatalf("packet %d: ts %v (want %v), link %v, iface %d, wire %d, data equal %v",
						i, r.ts, want, r.link, r.iface, r.wire, bytes.Equal(r.data, fr[i]))
				}
			}
		})
	}
}

func TestPcapNGMixedLinks(t *testing.T) {
	src, dst := netip.MustParseAddr("10.0.0.2"), netip.MustParseAddr("17.57.144.20")
	u := capgen.UDP{Src: src, Dst: dst, SrcPort: 5353, DstPort: 53, Payload: []byte("hello")}
	want := []rec{
		{data: u.Ethernet(macA, macB), link: layers.LinkTypeEthernet, iface: 0},
		{data: u.SLL2(), link: layers.LinkTypeLinuxSLL2, iface: 1},
		{data: u.PKTAP("mDNSResponder", 42), link: capgen.LinkTypePKTAP, iface: 2},
		{data: u.Ethernet(macA, macB), link: layers.LinkTypeEthernet, iface: 0},
	}
	for _, opt := range []capgen.NGOptions{{}, {BigEndian: true}, {Nano: true}} {
		var buf bytes.Buffer
		w := capgen.NewPcapNGOptions(&buf, opt, layers.LinkTypeEthernet, layers.LinkTypeLinuxSLL2, capgen.LinkTypePKTAP)
		for i, r := range want {
			w.Write(t0.Add(time.Duration(i)*time.Second), r.data, r.iface)
		}
		f := openBytes(t, buf.Bytes())
		got, err := readAll(t, f)
		if err != nil {
			t.Fatalf("%+v: %v", opt, err)
		}
		if len(got) != len(want) {
			t.Fatalf("%+v: got %d packets, want %d", opt, len(got), len(want))
		}
		for i := range want {
			wts := t0.Add(time.Duration(i) * time.Second)
			if !opt.Nano {
				wts = wts.Truncate(time.Microsecond)
			}
			if got[i].link != want[i].link || got[i].iface != want[i].iface || !bytes.Equal(got[i].data, want[i].data) || !got[i].ts.Equal(wts) {
				t.Errorf("%+v packet %d: link %v iface %d ts %v, want link %v iface %d ts %v",
					opt, i, got[i].link, got[i].iface, got[i].ts, want[i].link, want[i].iface, wts)
			}
		}
		if f.Offset() != int64(buf.Len()) {
			t.Errorf("Offset %d, want %d", f.Offset(), buf.Len())
		}
	}
}

func gz(b []byte) []byte {
	var out bytes.Buffer
	zw := gzip.NewWriter(&out)
	zw.Write(b)
	zw.Close()
	return out.Bytes()
}

func pcapBytes(t testing.TB, ng bool, fr [][]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	var w *capgen.Writer
	if ng {
		w = capgen.NewPcapNG(&buf, layers.LinkTypeEthernet)
	} else {
		w = capgen.NewPcap(&buf, layers.LinkTypeEthernet)
	}
	for i, b := range fr {
		w.Write(t0.Add(time.Duration(i)*time.Millisecond), b, 0)
	}
	if w.Err() != nil {
		t.Fatal(w.Err())
	}
	return buf.Bytes()
}

func TestGzip(t *testing.T) {
	fr := frames(50)
	for _, ng := range []bool{false, true} {
		raw := pcapBytes(t, ng, fr)
		z := gz(raw)
		f := openBytes(t, z)
		got, err := readAll(t, f)
		if err != nil || len(got) != len(fr) {
			t.Fatalf("ng=%v: %d packets, err %v", ng, len(got), err)
		}
		if f.Offset() != int64(len(raw)) || f.InputOffset() != int64(len(z)) {
			t.Errorf("ng=%v: Offset %d (want %d), InputOffset %d (want %d)", ng, f.Offset(), len(raw), f.InputOffset(), len(z))
		}
		// Cut the compressed stream: every packet before the cut, then
		// a TruncatedError.
		f = openBytes(t, z[:len(z)*2/3])
		got, err = readAll(t, f)
		if !errors.Is(err, capture.ErrTruncated) || len(got) == 0 || len(got) >= len(fr) {
			t.Errorf("ng=%v cut gzip: %d packets, err %v", ng, len(got), err)
		}
	}
}

func writeTemp(t *testing.T, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestOpenFileAndStdin(t *testing.T) {
	fr := frames(10)
	raw := pcapBytes(t, false, fr)
	p := writeTemp(t, "x.pcap.whatever", gz(raw))
	f, err := capture.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	if f.Name() != p || f.Size() != int64(len(gz(raw))) {
		t.Errorf("Name %q Size %d", f.Name(), f.Size())
	}
	if got, err := readAll(t, f); err != nil || len(got) != 10 {
		t.Errorf("%d packets, %v", len(got), err)
	}
	if err := f.Close(); err != nil {
		t.Error(err)
	}

	// Stdin from a pipe: size unknown.
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	go func() { w.Write(raw); w.Close() }()
	old := os.Stdin
	os.Stdin = r
	defer func() { os.Stdin = old }()
	f, err = capture.Open("-")
	if err != nil {
		t.Fatal(err)
	}
	if f.Size() != -1 || f.Name() != "-" {
		t.Errorf("stdin: Size %d Name %q", f.Size(), f.Name())
	}
	if got, err := readAll(t, f); err != nil || len(got) != 10 {
		t.Errorf("stdin: %d packets, %v", len(got), err)
	}
	f.Close()
	r.Close()
}

func TestTruncated(t *testing.T) {
	fr := frames(5)
	for _, ng := range []bool{false, true} {
		raw := pcapBytes(t, ng, fr)
		last := len(fr[4])
		recLen := 16 + last // pcap record header + data
		if ng {
			recLen = 32 + (last+3)&^3
		}
		lastStart := int64(len(raw) - recLen)
		cases := map[string]int{
			"in data":          len(raw) - 7,
			"in record header": int(lastStart) + 5,
			"after header":     int(lastStart) + 16,
		}
		for name, cut := range cases {
			f := openBytes(t, raw[:cut])
			got, err := readAll(t, f)
			var te *capture.TruncatedError
			if !errors.As(err, &te) || !errors.Is(err, capture.ErrTruncated) {
				t.Errorf("ng=%v %s: err %v, want TruncatedError", ng, name, err)
				continue
			}
			if len(got) != 4 || te.Packets != 4 || te.Offset != lastStart || te.File != "mem" {
				t.Errorf("ng=%v %s: %d packets, %+v, want 4 packets at offset %d", ng, name, len(got), te, lastStart)
			}
			if !strings.Contains(err.Error(), "mem: ") {
				t.Errorf("error does not name the file: %v", err)
			}
		}
		// File cut in its header.
		_, err := capture.OpenReader("hdr", bytes.NewReader(raw[:10]))
		if !errors.Is(err, capture.ErrTruncated) {
			t.Errorf("ng=%v header cut: %v", ng, err)
		}
	}
}

func TestNotACapture(t *testing.T) {
	p := writeTemp(t, "page.pcap", []byte("<html><body>404</body></html>\n"))
	_, err := capture.Open(p)
	want := p + ": not a pcap or pcapng file (starts with 3c 68 74 6d)"
	if err == nil || err.Error() != want || !errors.Is(err, capture.ErrNotCapture) {
		t.Errorf("got %v, want %q", err, want)
	}
	p = writeTemp(t, "empty.pcap", nil)
	if _, err := capture.Open(p); err == nil || !errors.Is(err, capture.ErrNotCapture) || !strings.HasPrefix(err.Error(), p+": ") {
		t.Errorf("empty: %v", err)
	}
	if _, err := capture.Open(filepath.Join(t.TempDir(), "missing.pcap")); err == nil || !strings.Contains(err.Error(), "missing.pcap") {
		t.Errorf("missing: %v", err)
	}
	// A gzip'd text file.
	if _, err := capture.OpenReader("t.gz", bytes.NewReader(gz([]byte("hello world")))); !errors.Is(err, capture.ErrNotCapture) {
		t.Errorf("gzip text: %v", err)
	}
}

func TestBogusLengths(t *testing.T) {
	fr := frames(3)
	raw := pcapBytes(t, false, fr)
	off := 24 + 16 + len(fr[0]) // second record
	for _, bad := range [][2]uint32{{0x7fffffff, 0x7fffffff}, {0xffffffff, 0xffffffff}, {100, 50}} {
		b := append([]byte(nil), raw...)
		le := func(o int, v uint32) { b[o], b[o+1], b[o+2], b[o+3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24) }
		le(off+8, bad[0])
		le(off+12, bad[1])
		var ms0, ms1 runtime.MemStats
		runtime.ReadMemStats(&ms0)
		f := openBytes(t, b)
		got, err := readAll(t, f)
		runtime.ReadMemStats(&ms1)
		var fe *capture.FormatError
		if !errors.As(err, &fe) || !errors.Is(err, capture.ErrFormat) || fe.Offset != int64(off) || len(got) != 1 {
			t.Errorf("caplen %#x: %d packets, err %v", bad[0], len(got), err)
		}
		if d := ms1.TotalAlloc - ms0.TotalAlloc; d > 8<<20 {
			t.Errorf("caplen %#x: allocated %d bytes", bad[0], d)
		}
	}
	// pcapng: a packet block whose captured length exceeds the block.
	rawng := pcapBytes(t, true, fr)
	shbIDB := 28 + 20
	b := append([]byte(nil), rawng...)
	b[shbIDB+20], b[shbIDB+21], b[shbIDB+22], b[shbIDB+23] = 0xff, 0xff, 0xff, 0x7f
	got, err := readAll(t, openBytes(t, b))
	if !errors.Is(err, capture.ErrFormat) || len(got) != 0 {
		t.Errorf("pcapng caplen: %d packets, %v", len(got), err)
	}
	// pcapng: block length not a multiple of 4.
	b = append([]byte(nil), rawng...)
	b[shbIDB+4]++
	if _, err := readAll(t, openBytes(t, b)); !errors.Is(err, capture.ErrFormat) {
		t.Errorf("pcapng block length: %v", err)
	}
}

// tsharkCount returns the number of frames tshark reads from path.
func tsharkCount(t *testing.T, path string, filter string) int {
	t.Helper()
	args := []string{"-r", path, "-T", "fields", "-e", "frame.number"}
	if filter != "" {
		args = append(args, "-Y", filter)
	}
	out, err := exec.Command("tshark", args...).Output()
	if err != nil {
		t.Fatalf("tshark %s: %v", path, err)
	}
	return strings.Count(string(out), "\n")
}

// frameCounts returns the number of frames in each capture, from one run of
// capinfos when it is installed, else from tshark (one run per file).
func frameCounts(t *testing.T, paths []string) map[string]int {
	t.Helper()
	counts := map[string]int{}
	if _, err := exec.LookPath("capinfos"); err == nil {
		out, err := exec.Command("capinfos", append([]string{"-c", "-M", "-T", "-r"}, paths...)...).Output()
		if err != nil {
			t.Fatalf("capinfos: %v", err)
		}
		for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			name, n, ok := strings.Cut(line, "\t")
			c, err := strconv.Atoi(strings.TrimSpace(n))
			if !ok || err != nil {
				t.Fatalf("capinfos line %q", line)
			}
			counts[name] = c
		}
		return counts
	}
	if _, err := exec.LookPath("tshark"); err != nil {
		t.Skip("neither capinfos nor tshark installed")
	}
	for _, p := range paths {
		counts[p] = tsharkCount(t, p, "")
	}
	return counts
}

func TestSharedCaptures(t *testing.T) {
	pcaps := sharedtest.Pcaps(t)
	counts := frameCounts(t, pcaps)
	for _, path := range pcaps {
		t.Run(filepath.Base(path), func(t *testing.T) {
			f, err := capture.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			var p capture.Packet
			n := 0
			for {
				err := f.Next(&p)
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatalf("after %d packets: %v", n, err)
				}
				n++
			}
			if want, ok := counts[path]; !ok || n != want {
				t.Errorf("%d packets, capinfos/tshark read %d (known %v)", n, want, ok)
			}
			if st, _ := os.Stat(path); f.Offset() != st.Size() || f.InputOffset() != st.Size() {
				t.Errorf("Offset %d InputOffset %d, size %d", f.Offset(), f.InputOffset(), st.Size())
			}
		})
	}
}

func benchFile(_ testing.TB, n int) []byte {
	var buf bytes.Buffer
	w := capgen.NewPcap(&buf, layers.LinkTypeEthernet)
	fr := capgen.TCP{
		Src: netip.MustParseAddr("192.0.2.1"), Dst: netip.MustParseAddr("17.253.144.10"),
		SrcPort: 50000, DstPort: 443, Flags: capgen.ACK, Payload: make([]byte, 500),
	}.Ethernet(macA, macB)
	for i := 0; i < n; i++ {
		w.Write(t0.Add(time.Duration(i)*time.Microsecond), fr, 0)
	}
	return buf.Bytes()
}

func BenchmarkFileNext(b *testing.B) {
	data := benchFile(b, 100000)
	b.SetBytes(int64(len(data)) / 100000)
	b.ReportAllocs()
	f, _ := capture.OpenReader("bench", bytes.NewReader(data))
	var p capture.Packet
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := f.Next(&p); err != nil {
			f, _ = capture.OpenReader("bench", bytes.NewReader(data))
			if err := f.Next(&p); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "packets/s")
}

// BenchmarkMappedNext walks a mapped file larger than the caches, with
// records of mixed sizes: the read floor of a large capture.
func BenchmarkMappedNext(b *testing.B) { benchMapped(b, false) }

// BenchmarkMappedNextPcapNG is BenchmarkMappedNext on the same packets in
// a pcapng file (enhanced packet blocks).
func BenchmarkMappedNextPcapNG(b *testing.B) { benchMapped(b, true) }

func benchMapped(b *testing.B, ng bool) {
	var buf bytes.Buffer
	var w *capgen.Writer
	if ng {
		w = capgen.NewPcapNG(&buf, layers.LinkTypeEthernet)
	} else {
		w = capgen.NewPcap(&buf, layers.LinkTypeEthernet)
	}
	fs := frames(200)
	n := 0
	for buf.Len() < 128<<20 {
		w.Write(t0, fs[n%len(fs)], 0)
		n++
	}
	name := filepath.Join(b.TempDir(), "mapped.pcap")
	if err := os.WriteFile(name, buf.Bytes(), 0o644); err != nil {
		b.Fatal(err)
	}
	buf = bytes.Buffer{}
	b.ReportAllocs()
	b.ResetTimer()
	var f *capture.File
	var p capture.Packet
	for i := 0; i < b.N; i++ {
		if f == nil || f.Next(&p) != nil {
			if f != nil {
				f.Close()
			}
			var err error
			if f, err = capture.Open(name); err != nil {
				b.Fatal(err)
			}
			if !f.Mapped() {
				b.Skip("no mmap here")
			}
			if err := f.Next(&p); err != nil {
				b.Fatal(err)
			}
		}
	}
	f.Close()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "packets/s")
}

// TestNextAllocs checks that Next does not allocate per packet.
func TestNextAllocs(t *testing.T) {
	data := benchFile(t, 2000)
	for _, z := range []bool{false, true} {
		in := data
		if z {
			in = gz(data)
		}
		f, _ := capture.OpenReader("allocs", bytes.NewReader(in))
		var p capture.Packet
		f.Next(&p)
		allocs := testing.AllocsPerRun(1000, func() {
			if err := f.Next(&p); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("gzip=%v: %v allocs per Next", z, allocs)
		}
	}
}

func FuzzFile(f *testing.F) {
	fr := frames(3)
	for _, ng := range []bool{false, true} {
		raw := pcapBytes(f, ng, fr)
		f.Add(raw)
		f.Add(raw[:len(raw)-5])
		f.Add(gz(raw))
		f.Add(zst(f, raw))
		f.Add(lz(f, raw))
	}
	var buf bytes.Buffer
	w := capgen.NewPcapNGOptions(&buf, capgen.NGOptions{BigEndian: true}, layers.LinkTypeEthernet, layers.LinkTypeLinuxSLL)
	w.Write(t0, fr[0], 1)
	f.Add(buf.Bytes())
	f.Add(spbFile(40, fr[0][:40], 1500))
	buf.Reset()
	w = capgen.NewPcapNG(&buf, layers.LinkTypeEthernet)
	w.WriteProc(t0, fr[1], 0, w.AddProcess(98, "apsd"))
	f.Add(buf.Bytes())
	f.Add([]byte(strconv.Quote("not a capture")))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := capture.OpenReader("fuzz", bytes.NewReader(b))
		if err != nil {
			return
		}
		var p capture.Packet
		for i := 0; i < 100000; i++ {
			err := c.Next(&p)
			if err == io.EOF {
				return
			}
			if err != nil {
				if !errors.Is(err, capture.ErrTruncated) && !errors.Is(err, capture.ErrFormat) {
					t.Fatalf("unexpected error kind: %v", err)
				}
				if c.Next(&p) != io.EOF {
					t.Fatal("Next after error is not io.EOF")
				}
				return
			}
			if len(p.Data) != p.CapLen || p.CapLen > capture.MaxCaptureLength {
				t.Fatalf("bad packet lengths %d/%d", len(p.Data), p.CapLen)
			}
		}
		t.Fatal("too many packets")
	})
}

// TestNextAllocsPcapNG checks Next on pcapng, for link types that fit a
// byte and for larger ones (SLL2, PKTAP): no allocation either way.
func TestNextAllocsPcapNG(t *testing.T) {
	fr := frames(1)[0]
	for _, lt := range []layers.LinkType{layers.LinkTypeEthernet, layers.LinkTypeLinuxSLL2} {
		var buf bytes.Buffer
		w := capgen.NewPcapNG(&buf, lt)
		for i := 0; i < 2000; i++ {
			w.Write(t0, fr, 0)
		}
		f := openBytes(t, buf.Bytes())
		var p capture.Packet
		f.Next(&p)
		allocs := testing.AllocsPerRun(1000, func() {
			if err := f.Next(&p); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("link %v: %v allocs per Next", lt, allocs)
		}
	}
}

func TestOpenErrorsReturnNoFile(t *testing.T) {
	raw := pcapBytes(t, true, frames(1))
	bad := append([]byte(nil), raw...)
	bad[8] = 0 // byte-order magic
	for _, b := range [][]byte{raw[:20], bad, {0xa1, 0xb2}, {0xd4, 0xc3, 0xb2, 0xa1, 9, 0}} {
		f, err := capture.OpenReader("x", bytes.NewReader(b))
		if f != nil || err == nil || !strings.HasPrefix(err.Error(), "x: ") {
			t.Errorf("%d bytes: file %v, err %v", len(b), f != nil, err)
		}
	}
}

// spbFile is a pcapng file with one Ethernet interface (snap length snap)
// and one simple packet block of frame, claiming original length wire.
func spbFile(snap uint32, frame []byte, wire uint32) []byte {
	le := binary.LittleEndian
	var b []byte
	block := func(typ uint32, body []byte) {
		n := uint32(12 + len(body))
		b = le.AppendUint32(b, typ)
		b = le.AppendUint32(b, n)
		b = append(b, body...)
		b = le.AppendUint32(b, n)
	}
	block(0x0a0d0d0a, []byte{0x4d, 0x3c, 0x2b, 0x1a, 1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	idb := []byte{1, 0, 0, 0}
	idb = le.AppendUint32(idb, snap)
	block(1, idb)
	spb := le.AppendUint32(nil, wire)
	spb = append(spb, frame...)
	for len(spb)%4 != 0 {
		spb = append(spb, 0)
	}
	block(3, spb)
	return b
}

func TestSimplePacketBlock(t *testing.T) {
	fr := frames(1)[0]
	n := uint32(len(fr))
	got, err := readAll(t, openBytes(t, spbFile(0, fr, n)))
	if err != nil || len(got) != 1 || !bytes.Equal(got[0].data, fr) {
		t.Errorf("whole SPB: %d packets, %v", len(got), err)
	}
	got, err = readAll(t, openBytes(t, spbFile(40, fr[:40], 1500)))
	if err != nil || len(got) != 1 || len(got[0].data) != 40 || got[0].wire != 1500 {
		t.Errorf("snapped SPB: %d packets, %v", len(got), err)
	}
	// Original length larger than the block with no snap length: the
	// packet would run into the next block.
	if _, err = readAll(t, openBytes(t, spbFile(0, fr[:40], 1500))); !errors.Is(err, capture.ErrFormat) {
		t.Errorf("overlong SPB: %v", err)
	}
}

// TestAppleProcessBlocks reads a pcapng file as macOS `tcpdump -k` writes
// it: process information blocks, and packets tagged with their process.
func TestAppleProcessBlocks(t *testing.T) {
	for _, be := range []bool{false, true} {
		var buf bytes.Buffer
		w := capgen.NewPcapNGOptions(&buf, capgen.NGOptions{BigEndian: be}, layers.LinkTypeEthernet)
		apsd := w.AddProcess(98, "apsd")
		timed := w.AddProcess(142, "timed")
		frame := capgen.UDP{Src: netip.MustParseAddr("10.0.0.2"), Dst: netip.MustParseAddr("17.253.4.125"), SrcPort: 123, DstPort: 123, Payload: make([]byte, 48)}.Ethernet([6]byte{2}, [6]byte{4})
		ts := time.Unix(1700000000, 0)
		w.WriteProc(ts, frame, 0, timed)
		w.Write(ts, frame, 0)
		w.WriteProc(ts, frame, 0, apsd)
		w.WriteProc(ts, frame, 0, 7) // an index with no block
		if w.Err() != nil {
			t.Fatal(w.Err())
		}
		f, err := capture.OpenReader("k.pcapng", &buf)
		if err != nil {
			t.Fatal(err)
		}
		want := []struct {
			proc string
			pid  int32
		}{{"timed", 142}, {"", 0}, {"apsd", 98}, {"", 0}}
		var p capture.Packet
		for i, w := range want {
			if err := f.Next(&p); err != nil {
				t.Fatalf("be=%v packet %d: %v", be, i, err)
			}
			if p.Proc != w.proc || p.PID != w.pid || len(p.Data) != len(frame) {
				t.Errorf("be=%v packet %d: proc %q pid %d (%d bytes), want %q %d", be, i, p.Proc, p.PID, len(p.Data), w.proc, w.pid)
			}
		}
		if err := f.Next(&p); err != io.EOF {
			t.Errorf("be=%v: %v after the last packet, want EOF", be, err)
		}
	}
}

// TestReadErrorNamed: an input that cannot be read (a directory) is named
// with the offset, as a read error.
func TestReadErrorNamed(t *testing.T) {
	dir := t.TempDir()
	_, err := capture.Open(dir)
	var re *capture.ReadError
	if !errors.As(err, &re) || re.Offset != 0 || err.Error() != dir+": read error at offset 0: read "+dir+": is a directory" {
		t.Errorf("a directory: %v", err)
	}
}
