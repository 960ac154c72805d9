package capgen

import (
	"encoding/binary"
	"fmt"
	"os"
	"time"
)

// SparseRecord is the length of every record SparsePcap writes: a 16-byte
// record header and 262144 bytes of frame (libpcap's longest).
const SparseRecord = 16 + 262144

// SparsePcap writes a large pcap file at path cheaply: a little-endian,
// microsecond Ethernet pcap of at least size bytes, whose records all have
// the longest length (262144 bytes). Record i holds frames[i%len(frames)]
// at its start, then zeros up to its length (an Ethernet trailer) that are
// never written, so a file system with holes stores about one page a
// record. Record i is stamped t0 plus i milliseconds. It returns the number
// of records.
func SparsePcap(path string, size int64, t0 time.Time, frames [][]byte) (int, error) {
	if len(frames) == 0 {
		return 0, fmt.Errorf("sparse pcap %s: no frames", path)
	}
	fh, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	le := binary.LittleEndian
	h := make([]byte, 24)
	le.PutUint32(h[0:], 0xa1b2c3d4)
	le.PutUint16(h[4:], 2)
	le.PutUint16(h[6:], 4)
	le.PutUint32(h[16:], 262144)
	le.PutUint32(h[20:], 1) // Ethernet
	if _, err := fh.WriteAt(h, 0); err != nil {
		fh.Close()
		return 0, fmt.Errorf("sparse pcap %s: %w", path, err)
	}
	n := int((size - 24 + SparseRecord - 1) / SparseRecord)
	buf := make([]byte, 0, 16+2048)
	for i := 0; i < n; i++ {
		fr := frames[i%len(frames)]
		if len(fr) > SparseRecord-16 {
			fh.Close()
			return 0, fmt.Errorf("sparse pcap %s: frame %d of %d bytes is too long", path, i%len(frames), len(fr))
		}
		ts := t0.Add(time.Duration(i) * time.Millisecond)
		buf = le.AppendUint32(buf[:0], uint32(ts.Unix()))
		buf = le.AppendUint32(buf, uint32(ts.Nanosecond()/1000))
		buf = le.AppendUint32(buf, SparseRecord-16)
		buf = le.AppendUint32(buf, SparseRecord-16)
		buf = append(buf, fr...)
		if _, err := fh.WriteAt(buf, 24+int64(i)*SparseRecord); err != nil {
			fh.Close()
			return 0, fmt.Errorf("sparse pcap %s: record %d: %w", path, i, err)
		}
	}
	if err := fh.Truncate(24 + int64(n)*SparseRecord); err != nil {
		fh.Close()
		return 0, fmt.Errorf("sparse pcap %s: %w", path, err)
	}
	if err := fh.Close(); err != nil {
		return 0, fmt.Errorf("sparse pcap %s: %w", path, err)
	}
	return n, nil
}

// SparsePcapNG writes a large pcapng file at path cheaply: a little-endian
// section with one Ethernet interface (microsecond timestamps), the frames
// of before, custom blocks (type 0x40000bad) of gap bytes or more in all
// whose bodies are never written (holes), then the frames of after. The
// packets are stamped t0 plus i milliseconds, i counting from the first.
// A reader that skips blocks it does not need, as a mapped one can without
// touching their pages, reads it in no time whatever gap is.
func SparsePcapNG(path string, gap int64, t0 time.Time, before, after [][]byte) error {
	fh, err := os.Create(path)
	if err != nil {
		return err
	}
	le := binary.LittleEndian
	var off int64
	put := func(b []byte) {
		if err == nil {
			_, err = fh.WriteAt(b, off)
		}
		off += int64(len(b))
	}
	put(NGSection(le, 1, 0))
	put(NGInterface(le, 1, 262144))
	i := 0
	packets := func(frames [][]byte) {
		for _, fr := range frames {
			ts := t0.Add(time.Duration(i) * time.Millisecond)
			put(NGEnhanced(le, 0, uint64(ts.UnixMicro()), fr, uint32(len(fr))))
			i++
		}
	}
	packets(before)
	const maxBlock = 1<<32 - 16
	for left := gap; left > 0; {
		n := uint32(min(left, maxBlock)+3) &^ 3
		n = max(n, 12)
		put(le.AppendUint32(le.AppendUint32(nil, 0x40000bad), n))
		off += int64(n) - 12 // the body: a hole
		put(le.AppendUint32(nil, n))
		left -= int64(n)
	}
	packets(after)
	if err != nil {
		fh.Close()
		return fmt.Errorf("sparse pcapng %s: %w", path, err)
	}
	if err := fh.Close(); err != nil {
		return fmt.Errorf("sparse pcapng %s: %w", path, err)
	}
	return nil
}
