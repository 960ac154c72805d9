package dissect

import (
	"encoding/binary"
	"reflect"
	"testing"
)

// addrResponse returns a response to name whose answers are a CNAME to
// target and n A records and an AAAA record of target, owners compressed
// as resolvers send them.
func addrResponse(name, target string, n int) []byte {
	label := func(b []byte, s string) []byte {
		for len(s) > 0 {
			i := 0
			for i < len(s) && s[i] != '.' {
				i++
			}
			b = append(b, byte(i))
			b = append(b, s[:i]...)
			if i == len(s) {
				break
			}
			s = s[i+1:]
		}
		return append(b, 0)
	}
	b := []byte{0x12, 0x34, 0x81, 0x80, 0, 1, 0, byte(n + 2), 0, 0, 0, 0}
	b = append(label(b, name), 0, 1, 0, 1)
	b = append(b, 0xc0, 12, 0, 5, 0, 1, 0, 0, 0, 60)
	t := label(nil, target)
	b = binary.BigEndian.AppendUint16(b, uint16(len(t)))
	at := len(b)
	b = append(b, t...)
	for i := range n {
		b = append(b, 0xc0|byte(at>>8), byte(at), 0, 1, 0, 1, 0, 0, 1, byte(i), 0, 4, 17, 0, 0, byte(i))
	}
	b = append(b, 0xc0|byte(at>>8), byte(at), 0, 28, 0, 1, 0, 0, 0, 9, 0, 16)
	return append(b, 0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1)
}

// FuzzDNSAddrRecords checks that the one-step decoding of address
// records (addrRecord) gives what record gives for every input: the same
// questions, answers and error.
func FuzzDNSAddrRecords(f *testing.F) {
	f.Add(addrResponse("www.apple.com", "e6858.dsce9.akamaiedge.net", 19), false)
	f.Add(addrResponse("a.b", "c.d", 2), true)
	f.Add(addrResponse("mesu.apple.com", "x.y", 0), false)
	full := addrResponse("gs.apple.com", "gs.g.aaplimg.com", 5)
	f.Add(full[:len(full)-7], false) // the AAAA record cut short
	f.Fuzz(func(t *testing.T, b []byte, noText bool) {
		var fast, slow DNSMessage
		fast.NoAddrText, slow.NoAddrText = noText, noText
		slow.dec.slowRecords = true
		ef, es := fast.Decode(b), slow.Decode(b)
		if (ef == nil) != (es == nil) || ef != nil && ef.Error() != es.Error() {
			t.Fatalf("errors differ: %v, without the fast path %v", ef, es)
		}
		if !reflect.DeepEqual(fast.Questions, slow.Questions) || !reflect.DeepEqual(fast.Answers, slow.Answers) {
			t.Fatalf("answers differ:\n%+v\n%+v", fast.Answers, slow.Answers)
		}
	})
}

// TestDNSAddrRecordsTaken checks that address records after the first of
// a name are addrRecord's, so that FuzzDNSAddrRecords compares something:
// taken from the second A record on, it decodes the 18 others and the
// AAAA record as Decode did.
func TestDNSAddrRecordsTaken(t *testing.T) {
	msg := addrResponse("www.apple.com", "edge.example.net", 19)
	var m DNSMessage
	if err := m.Decode(msg); err != nil {
		t.Fatal(err)
	}
	if len(m.Answers) != 21 || m.Answers[20].Type != 28 || m.Answers[5].Name != "edge.example.net" || m.Answers[5].Data != "17.0.0.4" {
		t.Fatalf("answers %+v", m.Answers)
	}
	want := append([]DNSRecord(nil), m.Answers...)
	d := &m.dec
	d.msg, d.off = msg, len(msg)-28-16*18
	d.last, d.lastPtr = "edge.example.net", int(binary.BigEndian.Uint16(msg[d.off:])&0x3fff)+1
	m.Answers = m.Answers[:2]
	taken := 0
	for d.addrRecord(&m) {
		taken++
	}
	if taken != 19 || d.off != len(msg) || !reflect.DeepEqual(m.Answers, want) {
		t.Errorf("addrRecord took %d records, ending at %d of %d: %+v", taken, d.off, len(msg), m.Answers)
	}
}
