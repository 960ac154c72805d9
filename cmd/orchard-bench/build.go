package main

import (
	"bufio"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/pcapgo"

	"orchard/capture"
)

// Re-timing of the source capture. The bench mix is several hundred
// captures concatenated, so its clock jumps by years, forwards and back, at
// each boundary. Such a jump is replaced by boundaryGap: longer than every
// flow timeout, so one capture's flows end before the next one's start, as
// in one long monitoring session. Steps within maxStep either way are kept
// (real captures reorder a little).
const (
	boundaryGap = 10 * time.Minute
	maxStep     = time.Hour
	maxBack     = time.Minute
	// epoch is where the built capture starts (2023-11-14T22:13:20Z).
	epoch = int64(1_700_000_000) * int64(time.Second)
)

// srcPacket is one packet of the source capture with its re-timed offset.
type srcPacket struct {
	off     int64 // nanoseconds since the copy's start
	wireLen int
	data    []byte
}

// loadSource reads the source capture into memory and re-times it.
func loadSource(path string) (pkts []srcPacket, link uint16, span int64, err error) {
	f, err := capture.Open(path)
	if err != nil {
		return nil, 0, 0, err
	}
	defer f.Close()
	var p capture.Packet
	var prev, off int64
	for {
		err := f.Next(&p)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, 0, 0, fmt.Errorf("read %s: %w", path, err)
		}
		ts := p.Timestamp.UnixNano()
		if len(pkts) == 0 {
			link = uint16(p.LinkType)
		} else if uint16(p.LinkType) != link {
			return nil, 0, 0, fmt.Errorf("%s: mixed link types are not supported", path)
		} else {
			d := ts - prev
			if d > int64(maxStep) || d < -int64(maxBack) {
				d = int64(boundaryGap)
			}
			off += d
		}
		prev = ts
		pkts = append(pkts, srcPacket{off: off, wireLen: p.WireLen, data: append([]byte(nil), p.Data...)})
	}
	if len(pkts) == 0 {
		return nil, 0, 0, fmt.Errorf("%s: no packets", path)
	}
	var hi int64
	for _, p := range pkts {
		hi = max(hi, p.off)
	}
	return pkts, link, hi, nil
}

// buildCapture writes copies of the source, each shifted past the previous
// one by boundaryGap, until at least want packets are written, to
// dir/bench.pcap and a gzip'd copy dir/bench.pcap.gz. It returns both paths
// and the packet count.
func buildCapture(src, dir string, want int) (plain, gz string, n int, err error) {
	pkts, link, span, err := loadSource(src)
	if err != nil {
		return "", "", 0, err
	}
	copies := (want + len(pkts) - 1) / len(pkts)
	plain = filepath.Join(dir, "bench.pcap")
	gz = plain + ".gz"
	if err := writeCopies(plain, pkts, link, span, copies); err != nil {
		return "", "", 0, err
	}
	if err := gzipFile(plain, gz); err != nil {
		return "", "", 0, err
	}
	return plain, gz, copies * len(pkts), nil
}

func writeCopies(path string, pkts []srcPacket, link uint16, span int64, copies int) error {
	fh, err := os.Create(path)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(fh, 1<<20)
	w := pcapgo.NewWriter(bw)
	if err := w.WriteFileHeader(capture.MaxCaptureLength, linkType(link)); err != nil {
		fh.Close()
		return err
	}
	step := span + int64(boundaryGap)
	for c := 0; c < copies; c++ {
		base := epoch + int64(c)*step
		for i := range pkts {
			p := &pkts[i]
			ci := gopacket.CaptureInfo{
				Timestamp:     time.Unix(0, base+p.off),
				CaptureLength: len(p.data),
				Length:        p.wireLen,
			}
			if err := w.WritePacket(ci, p.data); err != nil {
				fh.Close()
				return fmt.Errorf("write %s: %w", path, err)
			}
		}
	}
	if err := bw.Flush(); err != nil {
		fh.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	return fh.Close()
}

func gzipFile(src, dst string) error {
	return compressFile(src, dst, "gzip", func(w io.Writer) (io.WriteCloser, error) { return gzip.NewWriter(w), nil })
}

// compressFile writes src to dst through the compressor wrap returns.
func compressFile(src, dst, what string, wrap func(io.Writer) (io.WriteCloser, error)) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	zw, err := wrap(out)
	if err != nil {
		out.Close()
		return err
	}
	if _, err := io.Copy(zw, in); err != nil {
		out.Close()
		return fmt.Errorf("%s %s: %w", what, src, err)
	}
	if err := zw.Close(); err != nil {
		out.Close()
		return fmt.Errorf("%s %s: %w", what, src, err)
	}
	return out.Close()
}
