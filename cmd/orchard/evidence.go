package main

import (
	"bufio"
	"fmt"
	"os"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// evidenceWriter writes the packets of flagged flows to a pcapng file, one
// interface per link type so mixed inputs stay readable.
type evidenceWriter struct {
	name    string
	f       *os.File
	bw      *bufio.Writer
	ng      *pcapgo.NgWriter
	ifaces  map[layers.LinkType]int
	packets int
}

func newEvidenceWriter(name string) (*evidenceWriter, error) {
	f, err := os.Create(name)
	if err != nil {
		return nil, fmt.Errorf("write evidence: %w", err)
	}
	return &evidenceWriter{name: name, f: f, bw: bufio.NewWriter(f), ifaces: map[layers.LinkType]int{}}, nil
}

// WritePacket appends one frame.
func (w *evidenceWriter) WritePacket(link layers.LinkType, ts int64, frame []byte) error {
	id, ok := w.ifaces[link]
	if !ok {
		intf := pcapgo.NgInterface{Name: fmt.Sprintf("orchard-evidence-%d", link), LinkType: link, SnapLength: 262144, TimestampResolution: 9}
		if w.ng == nil {
			ng, err := pcapgo.NewNgWriterInterface(w.bw, intf, pcapgo.NgWriterOptions{SectionInfo: pcapgo.NgSectionInfo{Application: "orchard", Comment: "packets of flows orchard flagged"}})
			if err != nil {
				return fmt.Errorf("write evidence %s: %w", w.name, err)
			}
			w.ng, id = ng, 0
		} else {
			var err error
			if id, err = w.ng.AddInterface(intf); err != nil {
				return fmt.Errorf("write evidence %s: %w", w.name, err)
			}
		}
		w.ifaces[link] = id
	}
	ci := gopacket.CaptureInfo{Timestamp: time.Unix(0, ts), CaptureLength: len(frame), Length: len(frame), InterfaceIndex: id}
	w.packets++
	return w.ng.WritePacket(ci, frame)
}

// Close flushes and closes the file.
func (w *evidenceWriter) Close() error {
	if w.ng != nil {
		if err := w.ng.Flush(); err != nil {
			return fmt.Errorf("write evidence %s: %w", w.name, err)
		}
	}
	if err := w.bw.Flush(); err != nil {
		return fmt.Errorf("write evidence %s: %w", w.name, err)
	}
	return w.f.Close()
}
