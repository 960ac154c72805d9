package dissect_test

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"orchard/dissect"
	"orchard/internal/sharedtest"
)

// ---- capture helpers shared by the DNS, NTP and HTTP tests ----

// txtPacket is the transport view of one captured frame.
type txtPacket struct {
	frame      int // 1-based, as tshark numbers frames
	fragmented bool
	udp, tcp   bool
	srcPort    uint16
	dstPort    uint16
	payload    []byte
}

// txtEachPacket decodes every frame of a pcap or pcapng file and calls fn
// with its UDP or TCP payload. Frames without either still get a call (with
// both flags false) so frame numbers stay aligned with tshark's.
func txtEachPacket(t testing.TB, path string, fn func(p txtPacket)) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	frame := 0
	err = txtFrames(raw, func(link uint16, data []byte) {
		frame++
		pkt := gopacket.NewPacket(data, layers.LinkType(link), gopacket.DecodeOptions{Lazy: true, NoCopy: true})
		p := txtPacket{frame: frame}
		if ip4, ok := pkt.Layer(layers.LayerTypeIPv4).(*layers.IPv4); ok {
			p.fragmented = ip4.Flags&layers.IPv4MoreFragments != 0 || ip4.FragOffset != 0
		}
		if pkt.Layer(layers.LayerTypeIPv6Fragment) != nil {
			p.fragmented = true
		}
		// Payloads quoted inside ICMP errors are not traffic of their own.
		if pkt.Layer(layers.LayerTypeICMPv4) != nil || pkt.Layer(layers.LayerTypeICMPv6) != nil {
			fn(p)
			return
		}
		if u, ok := pkt.Layer(layers.LayerTypeUDP).(*layers.UDP); ok {
			p.udp, p.srcPort, p.dstPort, p.payload = true, uint16(u.SrcPort), uint16(u.DstPort), u.Payload
		} else if tc, ok := pkt.Layer(layers.LayerTypeTCP).(*layers.TCP); ok {
			p.tcp, p.srcPort, p.dstPort, p.payload = true, uint16(tc.SrcPort), uint16(tc.DstPort), tc.Payload
		}
		fn(p)
	})
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// txtFrames calls fn with each frame's link type and captured bytes.
func txtFrames(raw []byte, fn func(link uint16, data []byte)) error {
	frames, err := readFrames("capture", raw)
	for _, f := range frames {
		fn(uint16(f.link), f.data)
	}
	return err
}

// txtFrame returns the UDP or TCP payload of one frame of a shared capture.
func txtFrame(t testing.TB, capture string, frame int) []byte {
	t.Helper()
	var out []byte
	txtEachPacket(t, sharedtest.Path(t, "pcaps/"+capture), func(p txtPacket) {
		if p.frame == frame {
			out = p.payload
		}
	})
	if out == nil {
		t.Fatalf("%s: frame %d has no payload", capture, frame)
	}
	return out
}

// txtNeedTshark skips the test when tshark is not installed.
func txtNeedTshark(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("tshark"); err != nil {
		t.Skip("tshark not installed")
	}
}

// ---- generated DNS messages ----

// dnsName encodes a dotted name as uncompressed labels.
func dnsName(s string) []byte {
	var b []byte
	for l := range strings.SplitSeq(strings.TrimSuffix(s, "."), ".") {
		if l == "" {
			continue
		}
		b = append(b, byte(len(l)))
		b = append(b, l...)
	}
	return append(b, 0)
}

// dnsHeader builds a 12-byte header.
func dnsHeader(id, flags uint16, qd, an, ns, ar int) []byte {
	b := make([]byte, 12)
	binary.BigEndian.PutUint16(b, id)
	binary.BigEndian.PutUint16(b[2:], flags)
	binary.BigEndian.PutUint16(b[4:], uint16(qd))
	binary.BigEndian.PutUint16(b[6:], uint16(an))
	binary.BigEndian.PutUint16(b[8:], uint16(ns))
	binary.BigEndian.PutUint16(b[10:], uint16(ar))
	return b
}

// dnsRR appends a resource record whose owner is given in wire form.
func dnsRR(b, owner []byte, typ, class uint16, ttl uint32, rdata []byte) []byte {
	b = append(b, owner...)
	b = binary.BigEndian.AppendUint16(b, typ)
	b = binary.BigEndian.AppendUint16(b, class)
	b = binary.BigEndian.AppendUint32(b, ttl)
	b = binary.BigEndian.AppendUint16(b, uint16(len(rdata)))
	return append(b, rdata...)
}

// dnsQuestion appends a question.
func dnsQuestion(b []byte, name string, typ uint16) []byte {
	b = append(b, dnsName(name)...)
	b = binary.BigEndian.AppendUint16(b, typ)
	return binary.BigEndian.AppendUint16(b, 1)
}

var ptrQ = []byte{0xc0, 0x0c} // pointer to the first question's name

// pushChainMsg is a push-courier answer like the ones in the shared
// captures: a CNAME chain with compression ending in two A records.
func pushChainMsg() []byte {
	b := dnsHeader(0x6631, 0x8180, 1, 4, 0, 0)
	b = dnsQuestion(b, "1-Courier.Push.Apple.com", 1)
	cn1 := len(b) + 12 // where the first CNAME's target starts
	b = dnsRR(b, ptrQ, 5, 1, 9431, dnsName("1.courier-push-apple.com.akadns.net"))
	cn2 := len(b) + 12
	b = dnsRR(b, []byte{0xc0, byte(cn1)}, 5, 1, 59, append([]byte("\x12eu-north-courier-4\x0apush-apple"), 0xc0, byte(cn1+2+len("courier-push-apple")+1)))
	b = dnsRR(b, []byte{0xc0, byte(cn2)}, 1, 1, 17, []byte{17, 57, 146, 139})
	b = dnsRR(b, []byte{0xc0, byte(cn2)}, 1, 1, 17, []byte{17, 57, 146, 138})
	return b
}

func TestParseDNSGenerated(t *testing.T) {
	soa := append(append(dnsName("ns.example"), dnsName("hostmaster.example")...), make([]byte, 20)...)
	opt := func(ttl uint32) []byte { return dnsRR(nil, []byte{0}, 41, 1232, ttl, nil) }

	tests := []struct {
		name      string
		msg       []byte
		wantErr   error
		rcode     string
		questions []string
		answers   []string // "name TYPE data"
		chainFrom string
		chain     []string
	}{
		{
			name:      "cname chain with compression",
			msg:       pushChainMsg(),
			rcode:     "NOERROR",
			questions: []string{"1-courier.push.apple.com"},
			answers: []string{
				"1-courier.push.apple.com CNAME 1.courier-push-apple.com.akadns.net",
				"1.courier-push-apple.com.akadns.net CNAME eu-north-courier-4.push-apple.com.akadns.net",
				"eu-north-courier-4.push-apple.com.akadns.net A 17.57.146.139",
				"eu-north-courier-4.push-apple.com.akadns.net A 17.57.146.138",
			},
			chainFrom: "1-courier.push.apple.com.",
			chain:     []string{"1-courier.push.apple.com", "1.courier-push-apple.com.akadns.net", "eu-north-courier-4.push-apple.com.akadns.net"},
		},
		{
			name:      "nxdomain with soa in authority",
			msg:       dnsRR(dnsQuestion(dnsHeader(7, 0x8183, 1, 0, 1, 0), "nope.apple.com", 1), ptrQ, 6, 1, 60, soa),
			rcode:     "NXDOMAIN",
			questions: []string{"nope.apple.com"},
		},
		{
			name:      "empty answer noerror",
			msg:       dnsQuestion(dnsHeader(7, 0x8180, 1, 0, 0, 0), "mesu.apple.com", 28),
			rcode:     "NOERROR",
			questions: []string{"mesu.apple.com"},
		},
		{
			name: "https and svcb records kept with type",
			msg: dnsRR(dnsRR(dnsQuestion(dnsHeader(7, 0x8180, 1, 2, 0, 0), "gateway.icloud.com", 65),
				ptrQ, 65, 1, 300, []byte{0, 1, 0, 0, 1, 0, 3, 2, 'h', '2'}),
				ptrQ, 64, 1, 300, append([]byte{0, 2}, dnsName("svc.apple-dns.net")...)),
			rcode:     "NOERROR",
			questions: []string{"gateway.icloud.com"},
			answers:   []string{"gateway.icloud.com HTTPS 1 .", "gateway.icloud.com SVCB 2 svc.apple-dns.net"},
		},
		{
			name:      "sinkhole 0.0.0.0",
			msg:       dnsRR(dnsQuestion(dnsHeader(7, 0x8180, 1, 1, 0, 0), "mdmenrollment.apple.com", 1), ptrQ, 1, 1, 10, []byte{0, 0, 0, 0}),
			rcode:     "NOERROR",
			questions: []string{"mdmenrollment.apple.com"},
			answers:   []string{"mdmenrollment.apple.com A 0.0.0.0"},
		},
		{
			name: "aaaa mx txt ptr",
			msg: dnsRR(dnsRR(dnsRR(dnsRR(dnsQuestion(dnsHeader(7, 0x8180, 1, 4, 0, 0), "apple.com", 255),
				ptrQ, 28, 1, 1, netip.MustParseAddr("2620:149:af0::10").AsSlice()),
				ptrQ, 15, 1, 1, append([]byte{0, 10}, dnsName("mx-in.g.apple.com")...)),
				ptrQ, 16, 1, 1, []byte("\x05v=spf\x031 a\x02\x00\\")),
				ptrQ, 12, 1, 1, ptrQ),
			rcode:     "NOERROR",
			questions: []string{"apple.com"},
			answers: []string{
				"apple.com AAAA 2620:149:af0::10",
				"apple.com MX 10 mx-in.g.apple.com",
				`apple.com TXT v=spf1 a\000\092`,
				"apple.com PTR apple.com",
			},
		},
		{
			name:      "edns extended rcode",
			msg:       append(dnsQuestion(dnsHeader(7, 0x8180, 1, 0, 0, 1), "apple.com", 1), opt(1<<24)...),
			rcode:     "BADVERS",
			questions: []string{"apple.com"},
		},
		{
			name:      "pointer loop",
			msg:       append(dnsHeader(7, 0x8180, 1, 0, 0, 0), 0x01, 'a', 0xc0, 0x0c, 0, 1, 0, 1),
			wantErr:   dissect.ErrDNSBadPointer,
			rcode:     "NOERROR",
			questions: nil,
		},
		{
			name:      "pointer to itself",
			msg:       append(dnsHeader(7, 0x8180, 1, 0, 0, 0), 0xc0, 0x0c, 0, 1, 0, 1),
			wantErr:   dissect.ErrDNSBadPointer,
			rcode:     "NOERROR",
			questions: nil,
		},
		{
			name:      "forward pointer",
			msg:       append(dnsHeader(7, 0x8180, 1, 0, 0, 0), 0xc0, 0x12, 0, 1, 0, 1, 1, 'a', 0),
			wantErr:   dissect.ErrDNSBadPointer,
			rcode:     "NOERROR",
			questions: nil,
		},
		{
			name:      "reserved label type",
			msg:       append(dnsHeader(7, 0x8180, 1, 0, 0, 0), 0x41, 'a', 0, 0, 1, 0, 1),
			wantErr:   dissect.ErrDNSBadLabel,
			rcode:     "NOERROR",
			questions: nil,
		},
		{
			name:      "name too long",
			msg:       dnsQuestion(dnsHeader(7, 0x8180, 1, 0, 0, 0), strings.Repeat("abcdefghijklmnopqrstuvwxyz.", 10), 1),
			wantErr:   dissect.ErrDNSNameTooLong,
			rcode:     "NOERROR",
			questions: nil,
		},
		{
			name:      "a record with 5 bytes",
			msg:       dnsRR(dnsQuestion(dnsHeader(7, 0x8180, 1, 1, 0, 0), "apple.com", 1), ptrQ, 1, 1, 1, []byte{1, 2, 3, 4, 5}),
			wantErr:   dissect.ErrDNSBadRData,
			rcode:     "NOERROR",
			questions: []string{"apple.com"},
		},
		{
			name:      "cname target overruns rdata",
			msg:       dnsRR(dnsQuestion(dnsHeader(7, 0x8180, 1, 1, 0, 0), "apple.com", 1), ptrQ, 5, 1, 1, []byte{3, 'a', 'b', 'c'}),
			wantErr:   dissect.ErrTruncated,
			rcode:     "NOERROR",
			questions: []string{"apple.com"},
		},
		{
			name:      "truncated in second answer keeps the first",
			msg:       pushChainMsg()[:len(pushChainMsg())-20],
			wantErr:   dissect.ErrTruncated,
			rcode:     "NOERROR",
			questions: []string{"1-courier.push.apple.com"},
			answers: []string{
				"1-courier.push.apple.com CNAME 1.courier-push-apple.com.akadns.net",
				"1.courier-push-apple.com.akadns.net CNAME eu-north-courier-4.push-apple.com.akadns.net",
			},
		},
		{
			name:    "header only part",
			msg:     []byte{1, 2, 3},
			wantErr: dissect.ErrTruncated,
			rcode:   "NOERROR",
		},
		{
			name:      "header announces more than sent",
			msg:       dnsQuestion(dnsHeader(7, 0x8180, 1, 65535, 65535, 65535), "apple.com", 1),
			wantErr:   dissect.ErrTruncated,
			rcode:     "NOERROR",
			questions: []string{"apple.com"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := dissect.ParseDNS(tt.msg)
			if m == nil {
				t.Fatal("nil message")
			}
			if tt.wantErr == nil && err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("error = %v, want %v", err, tt.wantErr)
			}
			if got := dissect.DNSRCodeString(m.RCode); got != tt.rcode {
				t.Errorf("rcode = %s, want %s", got, tt.rcode)
			}
			var qs []string
			for _, q := range m.Questions {
				qs = append(qs, q.Name)
			}
			if !slices.Equal(qs, tt.questions) {
				t.Errorf("questions = %q, want %q", qs, tt.questions)
			}
			var as []string
			for _, a := range m.Answers {
				as = append(as, a.Name+" "+dissect.DNSTypeString(a.Type)+" "+a.Data)
			}
			if !slices.Equal(as, tt.answers) {
				t.Errorf("answers = %q, want %q", as, tt.answers)
			}
			if tt.chain != nil {
				if got := m.Chain(tt.chainFrom); !slices.Equal(got, tt.chain) {
					t.Errorf("chain = %q, want %q", got, tt.chain)
				}
			}
		})
	}
}

func TestParseDNSFlagsAndAddrs(t *testing.T) {
	m, err := dissect.ParseDNS(pushChainMsg())
	if err != nil {
		t.Fatal(err)
	}
	if m.ID != 0x6631 || !m.Response || m.Opcode != 0 || m.Truncated || m.Authoritative {
		t.Errorf("header = %+v", m)
	}
	want := []netip.Addr{netip.MustParseAddr("17.57.146.139"), netip.MustParseAddr("17.57.146.138")}
	if got := m.Addrs(); !slices.Equal(got, want) {
		t.Errorf("addrs = %v, want %v", got, want)
	}
	if m.Answers[0].TTL != 9431 || m.Answers[0].Class != 1 {
		t.Errorf("first answer = %+v", m.Answers[0])
	}
	m2, err := dissect.ParseDNS(dnsHeader(1, 0x8780|0x0200, 0, 0, 0, 0)) // AA+TC, opcode 0
	if err != nil || !m2.Authoritative || !m2.Truncated || m2.RCode != 0 {
		t.Errorf("flags: %+v %v", m2, err)
	}
	m3, _ := dissect.ParseDNS(dnsHeader(1, 0x2800, 0, 0, 0, 0)) // query, opcode 5 (UPDATE)
	if m3.Response || m3.Opcode != 5 {
		t.Errorf("opcode: %+v", m3)
	}
}

func TestDNSNameEscaping(t *testing.T) {
	b := dnsHeader(7, 0x8180, 1, 0, 0, 0)
	b = append(b, 5, 'A', '.', 'b', 0, 'C', 3, 'x', ' ', 0xff, 3, 'C', 'o', 'M', 0, 0, 1, 0, 1)
	m, err := dissect.ParseDNS(b)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := m.Questions[0].Name, `a\046b\000c.x\032\255.com`; got != want {
		t.Errorf("name = %q, want %q", got, want)
	}
	// The root name is the empty string.
	m, err = dissect.ParseDNS(append(dnsHeader(7, 0x8180, 1, 0, 0, 0), 0, 0, 2, 0, 1))
	if err != nil || m.Questions[0].Name != "" || m.Questions[0].Type != 2 {
		t.Errorf("root question: %+v %v", m.Questions, err)
	}
}

func TestDNSCaps(t *testing.T) {
	b := dnsQuestion(dnsHeader(7, 0x8180, 1, 300, 0, 0), "many.apple.com", 1)
	for i := range 300 {
		b = dnsRR(b, ptrQ, 1, 1, 1, []byte{10, 0, byte(i >> 8), byte(i)})
	}
	m, err := dissect.ParseDNS(b)
	if !errors.Is(err, dissect.ErrDNSTooManyRecords) {
		t.Fatalf("err = %v", err)
	}
	if len(m.Answers) != 256 || len(m.Questions) != 1 {
		t.Errorf("kept %d answers, %d questions", len(m.Answers), len(m.Questions))
	}

	b = dnsHeader(7, 0x0100, 65, 0, 0, 0)
	for range 65 {
		b = append(b, 0, 0, 1, 0, 1)
	}
	m, err = dissect.ParseDNS(b)
	if !errors.Is(err, dissect.ErrDNSTooManyRecords) || len(m.Questions) != 64 {
		t.Errorf("questions: %d, %v", len(m.Questions), err)
	}

	// A long chain of pointers, each to the previous name, hits the jump cap.
	// The labels sit in the data of an unknown-type record; a CNAME after it
	// points at the last one.
	chain := dnsHeader(7, 0x8180, 1, 2, 0, 0)
	chain = append(chain, 0, 0, 1, 0, 1) // root question at 12
	chain = append(chain, 0, 0, 99, 0, 1, 0, 0, 0, 1, 0, 0)
	rdStart := len(chain)
	prev := 12
	for range 70 {
		here := len(chain)
		chain = append(chain, 1, 'a', 0xc0|byte(prev>>8), byte(prev))
		prev = here
	}
	binary.BigEndian.PutUint16(chain[rdStart-2:], uint16(len(chain)-rdStart))
	chain = dnsRR(chain, []byte{0}, 5, 1, 1, []byte{0xc0 | byte(prev>>8), byte(prev)})
	_, err = dissect.ParseDNS(chain)
	if !errors.Is(err, dissect.ErrDNSPointerLimit) && !errors.Is(err, dissect.ErrDNSNameTooLong) {
		t.Errorf("long pointer chain: %v", err)
	}
}

func TestDNSDecodeReuse(t *testing.T) {
	var m dissect.DNSMessage
	if err := m.Decode(pushChainMsg()); err != nil {
		t.Fatal(err)
	}
	if len(m.Answers) != 4 {
		t.Fatalf("answers = %d", len(m.Answers))
	}
	if err := m.Decode(dnsQuestion(dnsHeader(9, 0x8183, 1, 0, 0, 0), "x.apple.com", 1)); err != nil {
		t.Fatal(err)
	}
	if m.ID != 9 || m.RCode != 3 || len(m.Answers) != 0 || len(m.Questions) != 1 || m.Questions[0].Name != "x.apple.com" {
		t.Errorf("after reuse: %+v", m)
	}
	// The records the first message left past the new length are cleared,
	// so that they keep none of its names alive.
	for i, r := range m.Answers[:4] {
		if r != (dissect.DNSRecord{}) {
			t.Errorf("stale answer %d kept: %+v", i, r)
		}
	}
	if err := m.Decode(nil); !errors.Is(err, dissect.ErrTruncated) || len(m.Questions) != 0 || m.ID != 0 {
		t.Errorf("empty input: %+v %v", m, err)
	}
}

// A copy survives the source decoding another message, and reuses the
// copy's slices.
func TestDNSCopyTo(t *testing.T) {
	var m, c dissect.DNSMessage
	if err := m.Decode(pushChainMsg()); err != nil {
		t.Fatal(err)
	}
	want, _ := dissect.ParseDNS(pushChainMsg())
	c.Answers = make([]dissect.DNSRecord, 0, 8)
	backing := &c.Answers[:1][0]
	m.CopyTo(&c)
	if err := m.Decode(dnsQuestion(dnsHeader(9, 0x8183, 1, 0, 0, 0), "x.apple.com", 1)); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c.Questions, want.Questions) || !reflect.DeepEqual(c.Answers, want.Answers) || c.ID != want.ID || c.Response != want.Response {
		t.Errorf("copy changed with its source: %+v", c)
	}
	if &c.Answers[0] != backing {
		t.Error("the copy did not reuse its own slice")
	}
}

func TestDNSChainLoopAndCap(t *testing.T) {
	m := &dissect.DNSMessage{Answers: []dissect.DNSRecord{
		{Name: "a.example", Type: 5, Data: "b.example"},
		{Name: "b.example", Type: 5, Data: "a.example"},
	}}
	if got := m.Chain("A.Example."); !slices.Equal(got, []string{"a.example", "b.example"}) {
		t.Errorf("loop chain = %q", got)
	}
	m.Answers = nil
	for i := range 40 {
		m.Answers = append(m.Answers, dissect.DNSRecord{Name: "n" + string(rune('a'+i)), Type: 5, Data: "n" + string(rune('a'+i+1))})
	}
	if got := m.Chain("na"); len(got) != 16 {
		t.Errorf("chain length = %d", len(got))
	}
	if got := m.Chain("unknown"); !slices.Equal(got, []string{"unknown"}) {
		t.Errorf("no chain = %q", got)
	}
}

func TestDNSStrings(t *testing.T) {
	for _, tt := range []struct {
		t    uint16
		want string
	}{{1, "A"}, {28, "AAAA"}, {5, "CNAME"}, {65, "HTTPS"}, {64, "SVCB"}, {12, "PTR"}, {15, "MX"},
		{16, "TXT"}, {2, "NS"}, {6, "SOA"}, {33, "SRV"}, {41, "OPT"}, {255, "ANY"}, {65534, "TYPE65534"}} {
		if got := dissect.DNSTypeString(tt.t); got != tt.want {
			t.Errorf("DNSTypeString(%d) = %s, want %s", tt.t, got, tt.want)
		}
	}
	for _, tt := range []struct {
		rc   uint16
		want string
	}{{0, "NOERROR"}, {1, "FORMERR"}, {2, "SERVFAIL"}, {3, "NXDOMAIN"}, {4, "NOTIMP"}, {5, "REFUSED"},
		{9, "NOTAUTH"}, {16, "BADVERS"}, {23, "RCODE23"}} {
		if got := dissect.DNSRCodeString(tt.rc); got != tt.want {
			t.Errorf("DNSRCodeString(%d) = %s, want %s", tt.rc, got, tt.want)
		}
	}
}

func TestSplitDNSTCP(t *testing.T) {
	m1 := pushChainMsg()
	m2 := dnsQuestion(dnsHeader(2, 0x8183, 1, 0, 0, 0), "b.apple.com", 1)
	var stream []byte
	for _, m := range [][]byte{m1, nil, m2} {
		stream = binary.BigEndian.AppendUint16(stream, uint16(len(m)))
		stream = append(stream, m...)
	}
	partial := append(binary.BigEndian.AppendUint16(nil, 100), 1, 2, 3)
	for _, tt := range []struct {
		name     string
		stream   []byte
		msgs     int
		restLen  int
		firstLen int
	}{
		{"two messages and an empty one", stream, 2, 0, len(m1)},
		{"plus a partial message", append(slices.Clone(stream), partial...), 2, len(partial), len(m1)},
		{"one length byte", append(slices.Clone(stream), 0), 2, 1, len(m1)},
		{"nothing", nil, 0, 0, 0},
		{"only a length", []byte{0, 5}, 0, 2, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			msgs, rest := dissect.SplitDNSTCP(tt.stream)
			if len(msgs) != tt.msgs || len(rest) != tt.restLen {
				t.Fatalf("got %d msgs, rest %d; want %d, %d", len(msgs), len(rest), tt.msgs, tt.restLen)
			}
			if tt.msgs > 0 && len(msgs[0]) != tt.firstLen {
				t.Errorf("first message %d bytes, want %d", len(msgs[0]), tt.firstLen)
			}
			for _, m := range msgs {
				if _, err := dissect.ParseDNS(m); err != nil {
					t.Errorf("parse split message: %v", err)
				}
			}
		})
	}
	// Appending to a returned message must not overwrite the next one.
	msgs, _ := dissect.SplitDNSTCP(stream)
	_ = append(msgs[0], 0xff)
	if m, err := dissect.ParseDNS(msgs[1]); err != nil || m.ID != 2 {
		t.Errorf("second message clobbered: %v", err)
	}
}

// ---- real captures ----

func TestParseDNSRealCaptures(t *testing.T) {
	tests := []struct {
		capture string
		frame   int
		rcode   string
		query   string
		chain   []string
		addrs   []string
	}{
		{
			capture: "ndpi-dns_ambiguous_names-push_courier.pcap", frame: 2, rcode: "NOERROR",
			query: "41-courier.push.apple.com",
			chain: []string{"41-courier.push.apple.com", "41.courier-push-apple.com.akadns.net", "eu-north-courier-4.push-apple.com.akadns.net"},
			addrs: []string{"17.57.146.139", "17.57.146.138", "17.57.146.135", "17.57.146.136", "17.57.146.137", "17.57.146.132", "17.57.146.134", "17.57.146.133"},
		},
		{
			capture: "zeek-pcapng_multi_interface-apple_dns.pcapng", frame: 2, rcode: "NOERROR",
			query: "www.apple.com",
			chain: []string{"www.apple.com", "www-apple-com.v.aaplimg.com", "www.apple.com.edgekey.net", "e6858.dsce9.akamaiedge.net"},
		},
		{
			capture: "ndpi-tls_certificate_too_long-ntp_time_macos.pcap", frame: 16, rcode: "NXDOMAIN",
			query: "60.21.149.52.in-addr.arpa", chain: []string{"60.21.149.52.in-addr.arpa"},
		},
		{
			capture: "ndpi-tls_certificate_too_long-ntp_time_macos.pcap", frame: 46, rcode: "NOERROR",
			query: "wd-prod-cp-eu-north-2-fe.northeurope.cloudapp.azure.com",
			chain: []string{"wd-prod-cp-eu-north-2-fe.northeurope.cloudapp.azure.com"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.capture, func(t *testing.T) {
			m, err := dissect.ParseDNS(txtFrame(t, tt.capture, tt.frame))
			if err != nil {
				t.Fatal(err)
			}
			if got := dissect.DNSRCodeString(m.RCode); got != tt.rcode {
				t.Errorf("rcode = %s, want %s", got, tt.rcode)
			}
			if len(m.Questions) != 1 || m.Questions[0].Name != tt.query {
				t.Fatalf("questions = %+v", m.Questions)
			}
			if got := m.Chain(tt.query); !slices.Equal(got, tt.chain) {
				t.Errorf("chain = %q, want %q", got, tt.chain)
			}
			if tt.addrs != nil {
				var got []string
				for _, a := range m.Addrs() {
					got = append(got, a.String())
				}
				if !slices.Equal(got, tt.addrs) {
					t.Errorf("addrs = %q, want %q", got, tt.addrs)
				}
			}
		})
	}
}

// TestDNSMatchesTshark checks, for every UDP/53 response in every shared
// capture, that the (query name, answer address) pairs equal tshark's.
func TestDNSMatchesTshark(t *testing.T) {
	txtNeedTshark(t)
	if testing.Short() {
		t.Skip("runs tshark over every capture")
	}
	total := 0
	for _, path := range sharedtest.Pcaps(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			mine := map[int][]string{}
			skip := map[int]bool{}
			txtEachPacket(t, path, func(p txtPacket) {
				if p.fragmented {
					skip[p.frame] = true
					return
				}
				if !p.udp || p.srcPort != 53 {
					return
				}
				m, err := dissect.ParseDNS(p.payload)
				if err != nil {
					t.Errorf("frame %d: %v", p.frame, err)
				}
				if !m.Response {
					return
				}
				var qs, as []string
				for _, q := range m.Questions {
					qs = append(qs, q.Name)
				}
				for _, a := range m.Addrs() {
					as = append(as, a.String())
				}
				mine[p.frame] = dnsPairs(qs, as)
			})
			theirs := tsharkDNS(t, path)
			for frame := range skip {
				delete(theirs, frame)
			}
			for frame, want := range theirs {
				if got, ok := mine[frame]; !ok {
					t.Errorf("frame %d: tshark sees a response, we do not: %q", frame, want)
				} else if !slices.Equal(got, want) {
					t.Errorf("frame %d: got %q, tshark %q", frame, got, want)
				}
			}
			for frame, got := range mine {
				if _, ok := theirs[frame]; !ok {
					t.Errorf("frame %d: we see a response tshark does not: %q", frame, got)
				}
			}
			total += len(theirs)
		})
	}
	t.Logf("compared %d DNS responses with tshark", total)
}

// dnsPairs returns the sorted, de-duplicated "query|address" pairs; a query
// without addresses gives "query|".
func dnsPairs(queries, addrs []string) []string {
	var out []string
	for _, q := range queries {
		q = strings.ToLower(q)
		if q == "<root>" {
			q = ""
		}
		if len(addrs) == 0 {
			out = append(out, q+"|")
		}
		for _, a := range addrs {
			if ip, err := netip.ParseAddr(a); err == nil {
				a = ip.String()
			}
			out = append(out, q+"|"+a)
		}
	}
	sort.Strings(out)
	return slices.Compact(out)
}

// tsharkDNS returns, per frame, the pairs tshark finds in the question and
// answer sections of UDP/53 responses.
func tsharkDNS(t *testing.T, path string) map[int][]string {
	t.Helper()
	cmd := exec.Command("tshark", "-r", path, "-n", "--no-duplicate-keys",
		"-Y", "dns.flags.response==1 && udp.srcport==53 && !icmp && !icmpv6",
		"-T", "json", "-J", "frame dns")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	var pkts []struct {
		Source struct {
			Layers map[string]any `json:"layers"`
		} `json:"_source"`
	}
	if len(bytes.TrimSpace(out)) == 0 {
		return map[int][]string{}
	}
	if err := json.Unmarshal(out, &pkts); err != nil {
		t.Fatalf("tshark json: %v", err)
	}
	res := map[int][]string{}
	for _, p := range pkts {
		frames := jsonStrings(p.Source.Layers["frame"], "frame.number")
		if len(frames) != 1 {
			t.Fatalf("frame numbers %q", frames)
		}
		var frame int
		for _, c := range frames[0] {
			frame = frame*10 + int(c-'0')
		}
		dns, _ := p.Source.Layers["dns"].(map[string]any)
		if dns == nil {
			continue
		}
		qs := jsonStrings(dns["Queries"], "dns.qry.name")
		as := append(jsonStrings(dns["Answers"], "dns.a"), jsonStrings(dns["Answers"], "dns.aaaa")...)
		res[frame] = dnsPairs(qs, as)
	}
	return res
}

// jsonStrings collects every string value stored under key anywhere below v.
func jsonStrings(v any, key string) []string {
	var out []string
	var walk func(v any, under bool)
	walk = func(v any, under bool) {
		switch x := v.(type) {
		case string:
			if under {
				out = append(out, x)
			}
		case []any:
			for _, e := range x {
				walk(e, under)
			}
		case map[string]any:
			for k, e := range x {
				walk(e, k == key)
			}
		}
	}
	walk(v, false)
	return out
}

// ---- fuzzing and benchmarks ----

func FuzzParseDNS(f *testing.F) {
	f.Add(pushChainMsg())
	f.Add(dnsRR(dnsQuestion(dnsHeader(7, 0x8183, 1, 0, 1, 0), "nope.apple.com", 1), ptrQ, 6, 1, 60, make([]byte, 22)))
	f.Add(append(dnsHeader(7, 0x8180, 1, 0, 0, 0), 0x01, 'a', 0xc0, 0x0c, 0, 1, 0, 1))
	f.Add(dnsRR(dnsQuestion(dnsHeader(7, 0x8180, 1, 1, 0, 1), "gateway.icloud.com", 65), ptrQ, 65, 1, 300, []byte{0, 1, 0, 0, 1, 0, 3, 2, 'h', '2'}))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := dissect.ParseDNS(b)
		if m == nil {
			t.Fatal("nil message")
		}
		if len(m.Questions) > 64 || len(m.Answers) > 256 {
			t.Fatalf("caps exceeded: %d questions, %d answers", len(m.Questions), len(m.Answers))
		}
		for _, rr := range m.Answers {
			if len(rr.Name) > 4*255 {
				t.Fatalf("name of %d bytes", len(rr.Name))
			}
		}
		if len(m.Chain("x")) > 16 {
			t.Fatal("chain too long")
		}
		_ = m.Addrs()
		// Decoding again into a used message gives the same result.
		var again dissect.DNSMessage
		_ = again.Decode(pushChainMsg())
		err2 := again.Decode(b)
		if (err == nil) != (err2 == nil) || len(again.Answers) != len(m.Answers) || len(again.Questions) != len(m.Questions) {
			t.Fatalf("reuse differs: %v vs %v", err, err2)
		}
	})
}

func FuzzSplitDNSTCP(f *testing.F) {
	f.Add([]byte{0, 3, 1, 2, 3, 0, 0, 0, 5, 1})
	f.Add(append(binary.BigEndian.AppendUint16(nil, uint16(len(pushChainMsg()))), pushChainMsg()...))
	f.Fuzz(func(t *testing.T, b []byte) {
		msgs, rest := dissect.SplitDNSTCP(b)
		n := len(rest)
		for _, m := range msgs {
			n += 2 + len(m)
		}
		if n > len(b) || len(rest) > len(b) {
			t.Fatalf("accounted %d of %d bytes", n, len(b))
		}
		if len(rest) >= 2 && int(binary.BigEndian.Uint16(rest))+2 <= len(rest) {
			t.Fatalf("rest holds a complete message")
		}
	})
}

func BenchmarkParseDNS(b *testing.B) {
	msg := pushChainMsg()
	b.ReportAllocs()
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		if _, err := dissect.ParseDNS(msg); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDNSDecodeReuse(b *testing.B) {
	msg := pushChainMsg()
	var m dissect.DNSMessage
	b.ReportAllocs()
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		if err := m.Decode(msg); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSplitDNSTCP(b *testing.B) {
	var stream []byte
	for range 8 {
		stream = binary.BigEndian.AppendUint16(stream, uint16(len(pushChainMsg())))
		stream = append(stream, pushChainMsg()...)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(stream)))
	for b.Loop() {
		dissect.SplitDNSTCP(stream)
	}
}
