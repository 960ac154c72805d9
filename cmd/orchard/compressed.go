package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"orchard/analyzer/capture"
)

// compressions are the formats orchard does not decompress itself, by
// their magic bytes, with the command that does.
var compressions = []struct {
	magic []byte
	name  string
	tool  string
}{
	{[]byte{0xfd, '7', 'z', 'X', 'Z', 0}, "xz", "xz -dc"},
	{[]byte{0x28, 0xb5, 0x2f, 0xfd}, "zstd", "zstd -dc"},
	{[]byte("BZh"), "bzip2", "bzip2 -dc"},
	{[]byte{0x04, 0x22, 0x4d, 0x18}, "lz4", "lz4 -dc"},
	{[]byte("PK\x03\x04"), "zip", "unzip -p"},
	{[]byte("7z\xbc\xaf\x27\x1c"), "7-zip", "7z e -so"},
}

// explainNotCapture adds what a file that is not a capture is, when it is
// a compressed file orchard cannot read: "x.pcap.xz: xz-compressed:
// decompress first (xz -dc x.pcap.xz | orchard -)".
func explainNotCapture(name string, err error) error {
	if !errors.Is(err, capture.ErrNotCapture) || name == "-" {
		return err
	}
	f, oerr := os.Open(name)
	if oerr != nil {
		return err
	}
	defer f.Close()
	head := make([]byte, 8)
	n, _ := io.ReadFull(f, head)
	for _, c := range compressions {
		if bytes.HasPrefix(head[:n], c.magic) {
			return fmt.Errorf("%s: %s-compressed, which orchard does not read: decompress first (%s %s | orchard -)", name, c.name, c.tool, name)
		}
	}
	return err
}
