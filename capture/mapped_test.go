package capture_test

import (
	"errors"
	"reflect"
	"testing"

	"orchard/capture"
)

// bigPcap is a pcap capture over the size from which files are mapped.
func bigPcap(t *testing.T) ([]byte, [][]byte) {
	t.Helper()
	var fr [][]byte
	for len(fr) < 1600 {
		fr = append(fr, frames(200)...)
	}
	raw := pcapBytes(t, false, fr)
	if len(raw) < 1<<20 {
		t.Fatalf("test capture of %d bytes is too small to be mapped", len(raw))
	}
	return raw, fr
}

// A mapped file reads exactly as the same bytes read through a reader,
// damage included, with the same errors at the same offsets.
func TestMappedMatchesRead(t *testing.T) {
	raw, fr := bigPcap(t)
	recStart := func(i int) int {
		off := 24
		for _, f := range fr[:i] {
			off += 16 + len(f)
		}
		return off
	}
	bogus := append([]byte(nil), raw...)
	o := recStart(700)
	bogus[o+8], bogus[o+9], bogus[o+10], bogus[o+11] = 0xff, 0xff, 0xff, 0x7f
	cases := map[string][]byte{
		"whole":       raw,
		"cut in data": raw[:len(raw)-9],
		"cut in hdr":  raw[:recStart(len(fr)-1)+7],
		"bad caplen":  bogus,
	}
	for name, b := range cases {
		path := writeTemp(t, "big.pcap", b)
		mf, err := capture.Open(path)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !mf.Mapped() {
			skipUnmapped(t)
			t.Fatalf("%s: a %d-byte pcap file was not mapped", name, len(b))
		}
		got, gerr := readAll(t, mf)
		off := mf.Offset()
		mf.Close()
		want, werr := readAll(t, openBytes(t, b))
		if len(got) != len(want) || !reflect.DeepEqual(got, want) {
			t.Errorf("%s: mapped read %d packets, reader %d (or they differ)", name, len(got), len(want))
		}
		if (gerr == nil) != (werr == nil) || gerr != nil && gerr.Error() != renamed(werr, path) {
			t.Errorf("%s: mapped error %v, reader error %v", name, gerr, werr)
		}
		if name == "whole" && off != int64(len(b)) {
			t.Errorf("offset at the end %d, want %d", off, len(b))
		}
		var te *capture.TruncatedError
		if name == "cut in data" && (!errors.As(gerr, &te) || te.Offset != int64(recStart(len(fr)-1))) {
			t.Errorf("cut: %v", gerr)
		}
	}
}

// renamed is a reader's error as the mapped file names it.
func renamed(err error, path string) string {
	var te *capture.TruncatedError
	var fe *capture.FormatError
	switch {
	case errors.As(err, &te):
		c := *te
		c.File = path
		return c.Error()
	case errors.As(err, &fe):
		c := *fe
		c.File = path
		return c.Error()
	}
	return err.Error()
}

// Packets of a mapped file are held by their window: held ones keep their
// bytes after the file moved on, and after it is closed.
func TestMappedChunksHeld(t *testing.T) {
	raw, fr := bigPcap(t)
	f, err := capture.Open(writeTemp(t, "big.pcap", raw))
	if err != nil {
		t.Fatal(err)
	}
	if !f.Mapped() {
		skipUnmapped(t)
		t.Fatal("not mapped")
	}
	data, held, _ := readHolding(t, f, 5)
	f.Close() // the mapping stays while windows are held
	checkHeld(t, data, held, fr, 5)
}
