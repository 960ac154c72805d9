package main

import (
	"bufio"
	"bytes"
	"cmp"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// evidenceWriter writes the packets of flagged flows to a pcapng file in
// time order, each with a comment naming the finding(s) it supports, one
// interface per link type so mixed inputs stay readable. The engine hands
// packets over flow by flow as flows are judged, so they are spooled to an
// unlinked temporary file and sorted by time at Close: memory holds only a
// small index entry per packet. Nothing is written when nothing was flagged.
type evidenceWriter struct {
	name    string
	max     int // packets kept at most (maxEvidencePackets)
	dropped int // packets past max
	spool   *os.File
	sw      *bufio.Writer
	off     int64
	index   []evPacket
	notes   []string
	noteIdx map[string]int32
	err     error // the first spool error
}

// maxEvidencePackets bounds the evidence file, and so the index kept in
// memory to sort it (about 40 bytes a packet: 40 MiB at most).
const maxEvidencePackets = 1 << 20

// evPacket locates one spooled packet.
type evPacket struct {
	ts   int64
	off  int64
	n    int32
	link layers.LinkType
	note int32
	seq  int32 // arrival order: ties keep it
}

func newEvidenceWriter(name string) (*evidenceWriter, error) {
	sp, err := os.CreateTemp("", "orchard-evidence-*")
	if err != nil {
		return nil, fmt.Errorf("--write-evidence: spool: %w", err)
	}
	_ = os.Remove(sp.Name()) // unlinked: gone whatever happens
	return &evidenceWriter{name: name, max: maxEvidencePackets, spool: sp, sw: bufio.NewWriterSize(sp, 256<<10), noteIdx: map[string]int32{}}, nil
}

// WritePacket spools one frame with its note.
func (w *evidenceWriter) WritePacket(link layers.LinkType, ts int64, frame []byte, note string) error {
	if w.err != nil {
		return w.err
	}
	if len(w.index) >= w.max {
		w.dropped++
		return nil
	}
	if _, err := w.sw.Write(frame); err != nil {
		w.err = fmt.Errorf("--write-evidence: spool: %w", err)
		return w.err
	}
	id, ok := w.noteIdx[note]
	if !ok {
		id = int32(len(w.notes))
		w.notes = append(w.notes, note)
		w.noteIdx[note] = id
	}
	w.index = append(w.index, evPacket{ts: ts, off: w.off, n: int32(len(frame)), link: link, note: id, seq: int32(len(w.index))})
	w.off += int64(len(frame))
	return nil
}

// Close writes the evidence file, time-ordered, and returns a note for the
// user when there was nothing to write (and no file was made).
func (w *evidenceWriter) Close() (string, error) {
	defer w.spool.Close()
	if w.err != nil {
		return "", w.err
	}
	if len(w.index) == 0 {
		return fmt.Sprintf("no evidence written to %s: nothing was flagged", w.name), nil
	}
	if err := w.sw.Flush(); err != nil {
		return "", fmt.Errorf("--write-evidence: spool: %w", err)
	}
	// A packet that supports several findings is written once, with every note.
	slices.SortFunc(w.index, func(a, b evPacket) int {
		return cmp.Or(cmp.Compare(a.ts, b.ts), cmp.Compare(a.seq, b.seq))
	})
	out, err := createOutput("--write-evidence", w.name)
	if err != nil {
		return "", err
	}
	if err := w.writeSorted(out); err != nil {
		out.Abort()
		return "", out.writeErr(err)
	}
	note := ""
	if w.dropped > 0 {
		note = fmt.Sprintf("evidence in %s stops at %d packets: %d more packets of flagged flows were not written (narrow the input with a filter or --device)", w.name, w.max, w.dropped)
	}
	return note, out.Commit()
}

// Abort drops the spool without writing anything.
func (w *evidenceWriter) Abort() { _ = w.spool.Close() }

func (w *evidenceWriter) writeSorted(out io.Writer) error {
	bw := bufio.NewWriterSize(out, 256<<10)
	var ng *pcapgo.NgWriter
	ifaces := map[layers.LinkType]int{}
	buf := make([]byte, 0, 64<<10)
	for i := 0; i < len(w.index); {
		p := w.index[i]
		buf = slices.Grow(buf[:0], int(p.n))[:p.n]
		if _, err := w.spool.ReadAt(buf, p.off); err != nil {
			return fmt.Errorf("spool: %w", err)
		}
		// The same packet handed over for several findings: one record.
		notes := []string{w.notes[p.note]}
		j := i + 1
		for ; j < len(w.index) && w.index[j].ts == p.ts && w.index[j].n == p.n && w.index[j].link == p.link && w.sameFrame(buf, w.index[j]); j++ {
			if n := w.notes[w.index[j].note]; !slices.Contains(notes, n) {
				notes = append(notes, n)
			}
		}
		i = j
		id, ok := ifaces[p.link]
		if !ok {
			intf := pcapgo.NgInterface{Name: fmt.Sprintf("orchard-evidence-%d", p.link), LinkType: p.link, SnapLength: 262144, TimestampResolution: 9}
			var err error
			if ng == nil {
				ng, err = pcapgo.NewNgWriterInterface(bw, intf, pcapgo.NgWriterOptions{SectionInfo: pcapgo.NgSectionInfo{Application: "orchard", Comment: "packets of flows orchard flagged, each commented with the finding it supports"}})
				id = 0
			} else {
				id, err = ng.AddInterface(intf)
			}
			if err != nil {
				return err
			}
			ifaces[p.link] = id
		}
		ci := gopacket.CaptureInfo{Timestamp: time.Unix(0, p.ts), CaptureLength: len(buf), Length: len(buf), InterfaceIndex: id}
		if err := ng.WritePacketWithOptions(ci, buf, pcapgo.NgPacketOptions{Comments: notes}); err != nil {
			return err
		}
	}
	if err := ng.Flush(); err != nil {
		return err
	}
	return bw.Flush()
}

// sameFrame reports whether the spooled packet q holds the bytes b.
func (w *evidenceWriter) sameFrame(b []byte, q evPacket) bool {
	if int(q.n) != len(b) {
		return false
	}
	other := make([]byte, q.n)
	if _, err := w.spool.ReadAt(other, q.off); err != nil {
		return false
	}
	return bytes.Equal(other, b)
}
