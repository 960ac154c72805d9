package stress

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"net/netip"
	"time"

	"orchard/internal/capgen"
)

// resolver is the DNS server every client asks.
var resolver = netip.AddrFrom4([4]byte{10, 255, 0, 53})

// dnsAnswers is how many records each response carries.
const dnsAnswers = 20

// appendName appends a name in DNS wire format.
func appendName(b []byte, name string) []byte {
	start := 0
	for i := 0; i <= len(name); i++ {
		if i == len(name) || name[i] == '.' {
			b = append(b, byte(i-start))
			b = append(b, name[start:i]...)
			start = i + 1
		}
	}
	return append(b, 0)
}

// dnsQuery appends a query for name (type A) to b.
func dnsQuery(b []byte, id uint16, name string) []byte {
	b = binary.BigEndian.AppendUint16(b, id)
	b = append(b, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0)
	b = appendName(b, name)
	return append(b, 0, 1, 0, 1)
}

// dnsResponse appends the answer to dnsQuery(id, name): a CNAME to cname,
// then dnsAnswers-1 A records of cname from first on. Names after the
// question are compressed, as resolvers send them.
func dnsResponse(b []byte, id uint16, name, cname string, first uint32) []byte {
	b = binary.BigEndian.AppendUint16(b, id)
	b = append(b, 0x81, 0x80, 0, 1, 0, dnsAnswers, 0, 0, 0, 0)
	b = appendName(b, name)
	b = append(b, 0, 1, 0, 1)
	// CNAME: owner is the question (pointer to offset 12).
	b = append(b, 0xc0, 12, 0, 5, 0, 1, 0, 0, 0x0e, 0x10)
	target := appendName(nil, cname)
	b = binary.BigEndian.AppendUint16(b, uint16(len(target)))
	cnameOff := len(b)
	b = append(b, target...)
	for i := uint32(0); i < dnsAnswers-1; i++ {
		b = append(b, 0xc0|byte(cnameOff>>8), byte(cnameOff), 0, 1, 0, 1, 0, 0, 0, 60, 0, 4)
		b = binary.BigEndian.AppendUint32(b, first+i)
	}
	return b
}

// writeDNS writes s.N query/response pairs from 50,000 clients to one
// resolver, 1 µs apart. Every response carries a CNAME and 19 addresses,
// new ones for each response (from 17.0.0.0/8 for the Apple names a third
// of the queries ask for, else from 100.64.0.0/10), so the DNS cache keeps
// learning.
func writeDNS(w *bufio.Writer, s Spec) error {
	p := newPcap(w)
	const clients = 50_000
	var q, r []byte
	for i := 0; i < s.N; i++ {
		cl := clientAddr(i % clients)
		port := uint16(1024 + (i/clients*7919)%64000)
		id := uint16(i * 31)
		var name, cname string
		first := uint32(100)<<24 | uint32(64)<<16 + uint32(i*dnsAnswers)&0x3fffff
		if i%3 == 0 {
			h := appleHosts[i/3%len(appleHosts)]
			name, cname = h, fmt.Sprintf("e%d.a.cdn-apple.com", i%9973)
			first = 17<<24 | uint32(i*dnsAnswers)&0xffffff
		} else {
			name = fmt.Sprintf("www%d.example%d.com", i, i%97)
			cname = fmt.Sprintf("edge%d.cdn%d.net", i%7919, i%13)
		}
		q = dnsQuery(q[:0], id, name)
		r = dnsResponse(r[:0], id, name, cname, first)
		if err := p.udp(capgen.UDP{Src: cl, Dst: resolver, SrcPort: port, DstPort: 53, TTL: 64, IPID: uint16(i), Payload: q}, true, time.Microsecond); err != nil {
			return err
		}
		if err := p.udp(capgen.UDP{Src: resolver, Dst: cl, SrcPort: 53, DstPort: port, TTL: 63, IPID: uint16(i), Payload: r}, false, time.Microsecond); err != nil {
			return err
		}
	}
	return p.w.Err()
}
