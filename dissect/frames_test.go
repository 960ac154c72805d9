package dissect_test

import (
	"bytes"
	"errors"
	"io"

	"github.com/gopacket/gopacket/layers"

	"orchard/capture"
)

// frame is one captured frame and its link type.
type frame struct {
	link layers.LinkType
	data []byte
}

// readFrames returns every frame of a pcap or pcapng file (gzip'd too),
// read with orchard's own capture reader; a file cut short gives the frames
// before the cut. Only the tests use it: package dissect itself imports no
// packet library and no other orchard package.
func readFrames(name string, raw []byte) ([]frame, error) {
	f, err := capture.OpenReader(name, bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []frame
	var p capture.Packet
	for {
		switch err := f.Next(&p); {
		case err == io.EOF, errors.Is(err, capture.ErrTruncated):
			return out, nil
		case err != nil:
			return out, err
		}
		out = append(out, frame{link: p.LinkType, data: append([]byte(nil), p.Data...)})
	}
}
