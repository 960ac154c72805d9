package capture

import (
	"bytes"
	"encoding/binary"
	"math"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"

	"orchard/internal/capgen"
)

func TestIntLen(t *testing.T) {
	for _, c := range []struct {
		in   uint32
		want int64
	}{
		{0, 0},
		{1514, 1514},
		{math.MaxInt32, math.MaxInt32},
		{math.MaxInt32 + 1, min(math.MaxInt32+1, math.MaxInt)},
		{math.MaxUint32, min(math.MaxUint32, math.MaxInt)},
	} {
		if got := intLen(c.in); int64(got) != c.want || got < 0 {
			t.Errorf("intLen(%#x) = %d, want %d", c.in, got, c.want)
		}
	}
}

// A pcap record's original length of 0xffffffff stays a huge positive
// length on every platform, never a negative one (32-bit int).
func TestWireLenNotNegative(t *testing.T) {
	var b bytes.Buffer
	w := capgen.NewPcap(&b, layers.LinkTypeEthernet)
	if err := w.Write(time.Unix(0, 0), make([]byte, 60), 0); err != nil {
		t.Fatal(err)
	}
	binary.LittleEndian.PutUint32(b.Bytes()[24+12:], math.MaxUint32) // the record's original length
	f, err := OpenReader("wire.pcap", &b)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var p Packet
	if err := f.Next(&p); err != nil {
		t.Fatal(err)
	}
	if p.WireLen < p.CapLen {
		t.Errorf("wire length %d, below the captured %d", p.WireLen, p.CapLen)
	}
}
