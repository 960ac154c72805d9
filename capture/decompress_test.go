package capture_test

import (
	"bytes"
	"errors"
	"os/exec"
	"runtime"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"

	"orchard/capture"
)

func zst(t testing.TB, b []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	zw, err := zstd.NewWriter(&out)
	if err != nil {
		t.Fatal(err)
	}
	zw.Write(b)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func lz(t testing.TB, b []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	zw := lz4.NewWriter(&out)
	zw.Write(b)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// tool compresses b with an installed command (zstd -c, lz4 -c ...), or
// returns nil when it is not installed.
func tool(t testing.TB, b []byte, argv ...string) []byte {
	t.Helper()
	if _, err := exec.LookPath(argv[0]); err != nil {
		return nil
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdin = bytes.NewReader(b)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%v: %v", argv, err)
	}
	return out
}

// TestCompressed reads pcap and pcapng compressed with zstd and lz4 (by
// the Go encoders and, when installed, the commands), from a reader and
// from a file, and cut short.
func TestCompressed(t *testing.T) {
	fr := frames(300)
	for _, ng := range []bool{false, true} {
		raw := pcapBytes(t, ng, fr)
		for _, c := range []struct {
			name string
			b    []byte
		}{
			{"zstd", zst(t, raw)},
			{"zstd -19 --long", tool(t, raw, "zstd", "-q", "-c", "-19", "--long=24")},
			{"zstd -T2 (two frames)", append(tool(t, raw[:len(raw)/2], "zstd", "-q", "-c"), tool(t, raw[len(raw)/2:], "zstd", "-q", "-c")...)},
			{"zstd after a skippable frame", append([]byte{0x5e, 0x2a, 0x4d, 0x18, 4, 0, 0, 0, 'p', 'z', 's', 't'}, zst(t, raw)...)},
			{"lz4", lz(t, raw)},
			{"lz4 -c", tool(t, raw, "lz4", "-q", "-c")},
			{"lz4 -l (legacy)", tool(t, raw, "lz4", "-q", "-l", "-c")},
		} {
			if len(c.b) == 0 {
				continue // the command is not installed
			}
			f := openBytes(t, c.b)
			got, err := readAll(t, f)
			if err != nil || len(got) != len(fr) {
				t.Fatalf("ng=%v %s: %d packets, %v", ng, c.name, len(got), err)
			}
			for i := range got {
				if !bytes.Equal(got[i].data, fr[i]) {
					t.Fatalf("ng=%v %s: packet %d differs", ng, c.name, i)
				}
			}
			if f.Offset() != int64(len(raw)) || f.InputOffset() != int64(len(c.b)) {
				t.Errorf("ng=%v %s: Offset %d (want %d), InputOffset %d (want %d)", ng, c.name, f.Offset(), len(raw), f.InputOffset(), len(c.b))
			}
			f.Close()
			p := writeTemp(t, "x.pcap", c.b)
			f, err = capture.Open(p)
			if err != nil {
				t.Fatal(err)
			}
			if got, err := readAll(t, f); err != nil || len(got) != len(fr) {
				t.Errorf("ng=%v %s file: %d packets, %v", ng, c.name, len(got), err)
			}
			f.Close()
			got = nil
			f, err = capture.OpenReader("mem", bytes.NewReader(c.b[:len(c.b)*2/3]))
			if err == nil {
				got, err = readAll(t, f)
			}
			if !errors.Is(err, capture.ErrTruncated) && !errors.Is(err, capture.ErrFormat) || len(got) >= len(fr) || !strings.HasPrefix(err.Error(), "mem: ") {
				t.Errorf("ng=%v cut %s: %d packets, err %v", ng, c.name, len(got), err)
			}
		}
	}
}

// TestCompressedNamed: formats that are not read are named, with what to
// run instead.
func TestCompressedNamed(t *testing.T) {
	raw := pcapBytes(t, false, frames(3))
	cases := []struct {
		name string
		b    []byte
		want string
	}{
		{"xz", append([]byte{0xfd, '7', 'z', 'X', 'Z', 0}, raw...), "x: xz-compressed: decompress first with `xz -dc`"},
		{"xz tool", tool(t, raw, "xz", "-c"), "x: xz-compressed: decompress first with `xz -dc`"},
		{"bzip2 tool", tool(t, raw, "bzip2", "-c"), "x: bzip2-compressed: decompress first with `bzip2 -dc`"},
		{"zip", append([]byte("PK\x03\x04"), raw...), "x: a zip archive: extract it first with `unzip`"},
		{"7z", append([]byte{'7', 'z', 0xbc, 0xaf, 0x27, 0x1c}, raw...), "x: a 7z archive: extract it first with `7z x`"},
	}
	for _, c := range cases {
		if c.b == nil {
			continue
		}
		f, err := capture.OpenReader("x", bytes.NewReader(c.b))
		var ce *capture.CompressedError
		if f != nil || err == nil || err.Error() != c.want || !errors.As(err, &ce) || !errors.Is(err, capture.ErrNotCapture) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
}

// TestZstdWindowBomb: a zstd frame asking for a window larger than the
// zstd command accepts by default (1 GiB) is refused, without allocating it.
func TestZstdWindowBomb(t *testing.T) {
	raw := pcapBytes(t, false, frames(3))
	if _, err := readAll(t, openBytes(t, zst(t, raw))); err != nil {
		t.Fatal(err)
	}
	// A frame by hand: no content size, not single-segment, a window of
	// 2^30 bytes; then the capture as one raw, last block.
	bomb := []byte{0x28, 0xb5, 0x2f, 0xfd, 0x00, 20 << 3}
	h := uint32(1 | len(raw)<<3)
	bomb = append(bomb, byte(h), byte(h>>8), byte(h>>16))
	bomb = append(bomb, raw...)
	var ms0, ms1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms0)
	f, err := capture.OpenReader("bomb.zst", bytes.NewReader(bomb))
	if err == nil {
		_, err = readAll(t, f)
		f.Close()
	}
	runtime.ReadMemStats(&ms1)
	if err == nil || !strings.Contains(err.Error(), "bomb.zst") {
		t.Errorf("a 1 GiB window: %v", err)
	}
	t.Log(err)
	if d := ms1.TotalAlloc - ms0.TotalAlloc; d > 64<<20 {
		t.Errorf("allocated %d bytes", d)
	}
}

// TestNextAllocsZstd: reading zstd input costs no allocation per packet.
func TestNextAllocsZstd(t *testing.T) {
	for _, c := range []func(testing.TB, []byte) []byte{zst, lz} {
		f := openBytes(t, c(t, benchFile(t, 4000)))
		var p capture.Packet
		f.Next(&p)
		allocs := testing.AllocsPerRun(2000, func() {
			if err := f.Next(&p); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("%v allocs per Next", allocs)
		}
		f.Close()
	}
}
