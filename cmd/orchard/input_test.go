package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"

	"orchard/analyzer"
	"orchard/capture"
)

// TestCtxReaderStopsBlockedRead checks a read blocked on a stalled producer
// returns the cancellation's cause at once.
func TestCtxReaderStopsBlockedRead(t *testing.T) {
	pr, pw := io.Pipe()
	defer pw.Close()
	ctx, cancel := context.WithCancelCause(context.Background())
	r := newCtxReader(ctx, pr)
	go func() { pw.Write([]byte("abc")) }()
	b := make([]byte, 10)
	if n, err := r.Read(b); n != 3 || err != nil {
		t.Fatalf("Read = %d, %v", n, err)
	}
	stop := errors.New("stop")
	go func() { time.Sleep(50 * time.Millisecond); cancel(stop) }()
	start := time.Now()
	if _, err := r.Read(b); !errors.Is(err, stop) {
		t.Errorf("Read after cancel: %v, want the cause", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("Read took %v to return after cancel", d)
	}
	if r.n.Load() != 3 {
		t.Errorf("counted %d bytes", r.n.Load())
	}
	// A reader's data and its EOF come through whole.
	r = newCtxReader(context.Background(), strings.NewReader(strings.Repeat("x", 200000)))
	all, err := io.ReadAll(r)
	if err != nil || len(all) != 200000 {
		t.Errorf("ReadAll: %d bytes, %v", len(all), err)
	}
}

// TestStreamProgress checks the stdin progress line shows bytes and packets.
func TestStreamProgress(t *testing.T) {
	var b bytes.Buffer
	p := &progress{w: &b, on: true}
	eng, err := analyzer.New(analyzer.Config{})
	if err != nil {
		t.Fatal(err)
	}
	p.stream("-", 3<<20, eng)
	if got := b.String(); !strings.Contains(got, "-: 3.0 MiB read, 0 packets") {
		t.Errorf("progress line %q", got)
	}
	p.done()
	if !strings.HasSuffix(b.String(), "\r\x1b[K") {
		t.Error("the progress line is not cleared")
	}
}

// FuzzPktapInner checks the PKTAP header walk never panics and stays
// within the frame.
func FuzzPktapInner(f *testing.F) {
	f.Add(append([]byte{108, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0}, make([]byte, 120)...))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 1, 0, 0, 0, 1, 0, 0, 0})
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		_, inner, ok := pktapInner(b)
		if ok && (len(inner) > len(b) || len(b)-len(inner) < 12) {
			t.Fatalf("inner frame of %d bytes from %d", len(inner), len(b))
		}
		// The whole narrowing on the same bytes, as any link type.
		n := &narrowing{}
		if err := n.setDevice("10.20.30.41"); err != nil {
			t.Fatal(err)
		}
		for _, lt := range []layers.LinkType{layers.LinkTypeEthernet, linkPKTAP, layers.LinkTypeRaw} {
			n.Keep(&capture.Packet{Data: b, LinkType: lt, WireLen: len(b)})
		}
	})
}
