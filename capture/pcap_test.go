package capture_test

import (
	"bytes"
	"testing"

	"orchard/capture"
)

// TestPcapVersions: libpcap reads versions 2.0 to 2.4 (and DG/UX's 543.0);
// before 2.3 the record headers hold the original length first, and 2.3
// files come both ways.
func TestPcapVersions(t *testing.T) {
	fr := frames(3)
	raw := pcapBytes(t, false, fr)
	// swap exchanges the two lengths of every record.
	swap := func(b []byte) []byte {
		b = append([]byte(nil), b...)
		for off := 24; off < len(b); {
			n := int(le.Uint32(b[off+8:]))
			a, w := le.Uint32(b[off+8:]), le.Uint32(b[off+12:])
			le.PutUint32(b[off+8:], w)
			le.PutUint32(b[off+12:], a)
			off += 16 + n
		}
		return b
	}
	version := func(b []byte, major, minor uint16) []byte {
		b = append([]byte(nil), b...)
		le.PutUint16(b[4:], major)
		le.PutUint16(b[6:], minor)
		return b
	}
	// Records whose original length exceeds the captured one, so that a
	// swap shows.
	snapped := pcapBytes(t, false, fr)
	for off, i := 24, 0; off < len(snapped); i++ {
		le.PutUint32(snapped[off+12:], uint32(len(fr[i])+100))
		off += 16 + len(fr[i])
	}
	cases := []struct {
		name    string
		b       []byte
		wireAdd int
		err     string
	}{
		{"2.4", raw, 0, ""},
		{"2.4 snapped", snapped, 100, ""},
		{"2.2 swapped", version(swap(snapped), 2, 2), 100, ""},
		{"2.3 swapped", version(swap(snapped), 2, 3), 100, ""},
		{"2.3 in order", version(snapped, 2, 3), 100, ""},
		{"543.0", version(swap(raw), 543, 0), 0, ""},
		{"2.5", version(raw, 2, 5), 0, "mem: malformed record at offset 0: pcap file header: version 2.5"},
		{"1.0", version(raw, 1, 0), 0, "version 1.0"},
	}
	for _, c := range cases {
		f, err := capture.OpenReader("mem", bytes.NewReader(c.b))
		if c.err != "" {
			formatAt(t, err, 0, c.err)
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		got, err := readAll(t, f)
		if err != nil || len(got) != len(fr) {
			t.Fatalf("%s: %d packets, %v", c.name, len(got), err)
		}
		for i, r := range got {
			if len(r.data) != len(fr[i]) || r.wire != len(fr[i])+c.wireAdd {
				t.Errorf("%s packet %d: %d bytes of %d", c.name, i, len(r.data), r.wire)
			}
		}
	}
}
