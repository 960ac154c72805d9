package capture

import (
	"bufio"
	"bytes"
	"fmt"
	"io"

	"github.com/klauspost/compress/gzip" // the standard library's API, about 1.3x faster to inflate
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
)

// Compressed input is recognised by its first bytes, never by the file
// name: gzip, zstd and lz4 are decompressed on a goroutine of their own,
// a few chunks ahead of the analysis (one stream cannot be decompressed in
// parallel, but it can beside the reader); other formats are named with
// what to run instead.

// maxZstdWindow is the largest zstd window accepted, as the zstd command
// decompresses by default (--long=27): a frame asking for more is a
// format error rather than that much memory.
const maxZstdWindow = 128 << 20

// Magics of the compressed formats.
var (
	magicGzip     = []byte{0x1f, 0x8b}
	magicZstd     = []byte{0x28, 0xb5, 0x2f, 0xfd}
	magicLz4      = []byte{0x04, 0x22, 0x4d, 0x18}
	magicLz4Old   = []byte{0x02, 0x21, 0x4c, 0x18} // the legacy frame of lz4 -l
	unsupportedCo = []struct {
		magic        []byte
		what, advice string
	}{
		{[]byte{0xfd, '7', 'z', 'X', 'Z', 0}, "xz-compressed", "decompress first with `xz -dc`"},
		{[]byte{0x5d, 0, 0}, "lzma-compressed", "decompress first with `xz -dc`"},
		{[]byte("BZh"), "bzip2-compressed", "decompress first with `bzip2 -dc`"},
		{[]byte("PK\x03\x04"), "a zip archive", "extract it first with `unzip`"},
		{[]byte{'7', 'z', 0xbc, 0xaf, 0x27, 0x1c}, "a 7z archive", "extract it first with `7z x`"},
		{[]byte("\x89LZO"), "lzop-compressed", "decompress first with `lzop -dc`"},
		{[]byte("Rar!"), "a RAR archive", "extract it first with `unrar x`"},
	}
)

// CompressedError reports input in a compressed or archive format that is
// not read; errors.Is(err, ErrNotCapture) holds.
type CompressedError struct {
	File   string
	What   string // "xz-compressed"
	Advice string // "decompress first with `xz -dc`"
}

// Error names the format and what to do.
func (e *CompressedError) Error() string {
	return fmt.Sprintf("%s: %s: %s", e.File, e.What, e.Advice)
}

// Is reports whether target is ErrNotCapture.
func (e *CompressedError) Is(target error) bool { return target == ErrNotCapture }

// decoder returns the decompressed stream of raw, by its first bytes.
func (f *File) decoder(raw *bufio.Reader) (io.Reader, error) {
	head, err := raw.Peek(6)
	if len(head) < 6 && err != nil && err != io.EOF {
		return nil, f.peekErr(0, err)
	}
	switch {
	case bytes.HasPrefix(head, magicGzip):
		gz, err := gzip.NewReader(raw)
		if err != nil {
			return nil, fmt.Errorf("%s: gzip: %w", f.name, err)
		}
		f.ahead = newReadAhead(gz, nil) // it owns gz; gz needs no closing
	case bytes.HasPrefix(head, magicZstd), zstdSkippable(head):
		// One decoder goroutine (the read-ahead's), not the package's own
		// pool: the analysis needs the other cores.
		d, err := zstd.NewReader(raw, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxWindow(maxZstdWindow), zstd.WithDecoderMaxMemory(maxZstdWindow))
		if err != nil {
			return nil, fmt.Errorf("%s: zstd: %w", f.name, err)
		}
		f.ahead = newReadAhead(zstdStream{d}, d.Close)
	case bytes.HasPrefix(head, magicLz4), bytes.HasPrefix(head, magicLz4Old):
		zr := lz4.NewReader(raw)
		if err := zr.Apply(lz4.ConcurrencyOption(1)); err != nil {
			return nil, fmt.Errorf("%s: lz4: %w", f.name, err)
		}
		f.ahead = newReadAhead(zr, nil)
	default:
		for _, c := range unsupportedCo {
			if bytes.HasPrefix(head, c.magic) {
				return nil, &CompressedError{File: f.name, What: c.what, Advice: c.advice}
			}
		}
		return raw, nil
	}
	return f.ahead, nil
}

// zstdSkippable reports a zstd skippable frame (magic 0x184d2a50 to
// 0x184d2a5f), which pzstd writes first.
func zstdSkippable(head []byte) bool {
	return len(head) >= 4 && head[0]&0xf0 == 0x50 && head[1] == 0x2a && head[2] == 0x4d && head[3] == 0x18
}

// zstdStream names the decoder's errors.
type zstdStream struct{ d *zstd.Decoder }

func (z zstdStream) Read(p []byte) (int, error) {
	n, err := z.d.Read(p)
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		err = fmt.Errorf("zstd: %w", err)
	}
	return n, err
}
