package defrag

import (
	"bytes"
	"net/netip"
	"testing"

	"github.com/gopacket/gopacket/layers"

	"orchard/decode"
	"orchard/internal/capgen"
)

// feed decodes each raw IP fragment and files it, returning the datagram
// the last one completed (a copy), if any.
func feed(t testing.TB, d *Reassembler, frags [][]byte, ts int64) []byte {
	t.Helper()
	dec := decode.NewDecoder()
	var p decode.Packet
	var out []byte
	for i, f := range frags {
		if err := dec.Decode(layers.LinkTypeRaw, f, &p); err != nil {
			t.Fatalf("fragment %d: %v", i, err)
		}
		if !p.Fragment {
			t.Fatalf("fragment %d decodes as a whole packet", i)
		}
		if dg := d.Add(&p, ts+int64(i)); dg != nil {
			out = append([]byte(nil), dg...)
		}
	}
	return out
}

func TestReassemble(t *testing.T) {
	payload := make([]byte, 3000)
	for i := range payload {
		payload[i] = byte(i * 7)
	}
	udp4 := capgen.UDP{Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("10.0.0.2"), SrcPort: 53, DstPort: 5000, Payload: payload, TTL: 60, IPID: 9}.IP()
	udp6 := capgen.UDP{Src: netip.MustParseAddr("fd00::1"), Dst: netip.MustParseAddr("fd00::2"), SrcPort: 53, DstPort: 5000, Payload: payload, TTL: 60}.IP()
	f4, f6 := capgen.Fragments4(udp4, 1024), capgen.Fragments6(udp6, 1024, 5)
	reversed := func(l [][]byte) [][]byte {
		r := make([][]byte, len(l))
		for i := range l {
			r[len(l)-1-i] = l[i]
		}
		return r
	}
	for _, c := range []struct {
		name   string
		frags  [][]byte
		whole  []byte
		header int
	}{
		{"ipv4 in order", f4, udp4, 20},
		{"ipv4 reversed", reversed(f4), udp4, 20},
		{"ipv4 with a duplicate", append([][]byte{f4[1]}, f4...), udp4, 20},
		{"ipv6 in order", f6, udp6, 40},
		{"ipv6 reversed", reversed(f6), udp6, 40},
	} {
		var d Reassembler
		dg := feed(t, &d, c.frags, 1e9)
		if !bytes.Equal(dg[c.header:], c.whole[c.header:]) {
			t.Errorf("%s: reassembled payload differs (%d bytes, want %d)", c.name, len(dg), len(c.whole))
		}
		if d.Pending() != 0 || d.Dropped() != 0 {
			t.Errorf("%s: %d pending, %d dropped", c.name, d.Pending(), d.Dropped())
		}
	}
	// Half a datagram waits, then times out and is counted.
	var d Reassembler
	if dg := feed(t, &d, f4[:2], 1e9); dg != nil || d.Pending() != 1 {
		t.Fatalf("incomplete datagram: %d bytes back, %d pending", len(dg), d.Pending())
	}
	feed(t, &d, capgen.Fragments4(capgen.UDP{Src: netip.MustParseAddr("10.0.0.3"), Dst: netip.MustParseAddr("10.0.0.2"), SrcPort: 1, DstPort: 2, Payload: payload, TTL: 1, IPID: 1}.IP(), 1024)[:1], 1e9+fragTimeout+1)
	if d.Dropped() != 1 {
		t.Errorf("timed-out datagram: %d dropped, want 1", d.Dropped())
	}
}

// FuzzAdd files hostile fragment sequences (offsets, flags, sizes and
// identifications from the input): no panic, and the tables stay within
// their limits.
func FuzzAdd(f *testing.F) {
	f.Add([]byte{0, 0, 1, 32, 0, 4, 0, 32})
	f.Add([]byte{0, 8, 1, 200, 0, 0, 1, 200, 0, 8, 0, 16})
	base := capgen.UDP{Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("10.0.0.2"), SrcPort: 53, DstPort: 5000, Payload: make([]byte, 8), TTL: 9}.IP()
	f.Fuzz(func(t *testing.T, script []byte) {
		var d Reassembler
		dec := decode.NewDecoder()
		var p decode.Packet
		for i := 0; i+4 <= len(script) && i < 4096; i += 4 {
			pkt := capgen.ScriptedFragment(base, script[i:i+4])
			if dec.Decode(layers.LinkTypeRaw, pkt, &p) != nil || !p.Fragment {
				continue
			}
			d.Add(&p, int64(i)*1e6)
		}
		if len(d.m) > MaxDatagrams || len(d.order) != len(d.m) || len(d.free) > MaxDatagrams {
			t.Fatalf("reassembly table: %d entries, %d in order, %d free", len(d.m), len(d.order), len(d.free))
		}
		for _, en := range d.m {
			if en.bytes > 2*fragMaxBytes || len(en.pieces) > fragMaxPieces {
				t.Fatalf("entry over its limits: %d bytes, %d pieces", en.bytes, len(en.pieces))
			}
		}
	})
}
