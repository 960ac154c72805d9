package dissect

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// DNS resource record types that the dissector names or decodes.
const (
	dnsTypeA     = 1
	dnsTypeNS    = 2
	dnsTypeCNAME = 5
	dnsTypeSOA   = 6
	dnsTypePTR   = 12
	dnsTypeMX    = 15
	dnsTypeTXT   = 16
	dnsTypeAAAA  = 28
	dnsTypeSRV   = 33
	dnsTypeDNAME = 39
	dnsTypeOPT   = 41
	dnsTypeSVCB  = 64
	dnsTypeHTTPS = 65
	dnsTypeANY   = 255
)

// Limits applied to every DNS message, whatever its header announces.
const (
	dnsHeaderLen    = 12
	dnsMaxNameWire  = 255  // RFC 1035 limit on a name's wire length
	dnsMaxJumps     = 64   // compression pointers followed per name
	dnsMaxQuestions = 64   // questions kept
	dnsMaxAnswers   = 256  // answer records kept
	dnsMaxWalked    = 1024 // authority + additional records validated
	dnsMinRecord    = 11   // root name + type, class, TTL, rdlength
	dnsMaxChain     = 16   // names returned by Chain
)

// ErrDNSBadPointer reports a compression pointer that does not point
// strictly backwards, which is how loops and forward references show up.
var ErrDNSBadPointer = errors.New("dissect: dns compression pointer not backwards")

// ErrDNSPointerLimit reports a name that follows too many compression pointers.
var ErrDNSPointerLimit = errors.New("dissect: dns name follows too many compression pointers")

// ErrDNSNameTooLong reports a name longer than 255 bytes on the wire.
var ErrDNSNameTooLong = errors.New("dissect: dns name longer than 255 bytes")

// ErrDNSBadLabel reports a label type other than a normal label or a pointer.
var ErrDNSBadLabel = errors.New("dissect: dns label type unsupported")

// ErrDNSTooManyRecords reports a header announcing more questions or records
// than the dissector keeps; what fitted under the cap is still returned.
var ErrDNSTooManyRecords = errors.New("dissect: dns message announces too many records")

// ErrDNSBadRData reports record data whose length or content does not fit its
// type (an A record that is not 4 bytes, a target name overrunning the data).
var ErrDNSBadRData = errors.New("dissect: dns record data malformed")

// DNSError says where in a DNS message parsing stopped and why; Err is one of
// the ErrDNS sentinels or ErrTruncated.
type DNSError struct {
	Section string // "header", "question", "answer", "authority", "additional"
	Index   int    // index of the entry within its section
	Err     error
}

// Error describes the failure with its section and index.
func (e *DNSError) Error() string {
	return "dns " + e.Section + " " + strconv.Itoa(e.Index) + ": " + e.Err.Error()
}

// Unwrap returns the underlying sentinel.
func (e *DNSError) Unwrap() error { return e.Err }

// DNSQuestion is one entry of the question section.
type DNSQuestion struct {
	Name  string // lower-case, no trailing dot, "" for the root
	Type  uint16
	Class uint16
}

// DNSRecord is one resource record of the answer section.
type DNSRecord struct {
	Name  string // owner name, lower-case, no trailing dot
	Type  uint16
	Class uint16
	TTL   uint32
	// Data is the text form of the record data: the address for A and AAAA,
	// the target name for CNAME, NS, PTR and DNAME, "preference host" for MX,
	// "priority target" for SVCB and HTTPS (target "." for the owner itself),
	// the joined character-strings for TXT, and "" for other types.
	Data string
	Addr netip.Addr // for A and AAAA, else the zero Addr
}

// DNSMessage is a decoded DNS message. The authority and additional sections
// are walked to validate them but not kept, except that an OPT record's
// extended rcode bits are folded into RCode.
type DNSMessage struct {
	ID            uint16
	Response      bool
	Opcode        uint8
	RCode         uint16 // including the EDNS extended rcode bits when an OPT record is present
	Truncated     bool   // TC bit
	Authoritative bool
	Questions     []DNSQuestion
	Answers       []DNSRecord // answer section only
	// NoAddrText, set by the caller before Decode, leaves Data empty in A
	// and AAAA records (their address is in Addr): a string less to build
	// for every record, for callers that render addresses only when they
	// must. Decode keeps it.
	NoAddrText bool

	// dec is the decoder's state, kept across Decode calls: its name text
	// buffer, and its cache of names by offset, which Decode resets
	// without clearing.
	dec   dnsDecoder
	names *dnsNameTable // see InternNames; nil: none
}

// ParseDNS decodes one DNS message (a UDP payload, or one message from
// SplitDNSTCP). The returned message is never nil: when the input is cut
// short or malformed part-way, it holds everything decoded before the fault
// and the error (a *DNSError wrapping ErrTruncated or an ErrDNS sentinel)
// says where decoding stopped.
func ParseDNS(b []byte) (*DNSMessage, error) {
	m := &DNSMessage{}
	err := m.Decode(b)
	return m, err
}

// CopyTo makes dst a copy of m that shares no slice with it (names and
// data are immutable strings), reusing the capacity of dst's slices.
func (m *DNSMessage) CopyTo(dst *DNSMessage) {
	q, a, nt := dst.Questions[:0], dst.Answers[:0], dst.names
	dec := dst.dec
	*dst = *m
	dst.Questions = append(q, m.Questions...)
	dst.Answers = append(a, m.Answers...)
	dst.dec, dst.names = dec, nt
}

// Decode decodes b into m, reusing the capacity of m's slices. On error m
// keeps what was decoded before the fault, as with ParseDNS.
func (m *DNSMessage) Decode(b []byte) error {
	m.ID, m.Response, m.Opcode, m.RCode = 0, false, 0, 0
	m.Truncated, m.Authoritative = false, false
	// Entries are overwritten as they are appended; those past the new
	// lengths are cleared at the end, so they keep no old names alive.
	oldQ, oldA := len(m.Questions), len(m.Answers)
	m.Questions = m.Questions[:0]
	m.Answers = m.Answers[:0]
	defer m.clearTail(oldQ, oldA)
	if len(b) < dnsHeaderLen {
		return &DNSError{Section: "header", Err: ErrTruncated}
	}
	m.ID = binary.BigEndian.Uint16(b)
	flags := binary.BigEndian.Uint16(b[2:])
	m.Response = flags&0x8000 != 0
	m.Opcode = uint8(flags>>11) & 0x0f
	m.Authoritative = flags&0x0400 != 0
	m.Truncated = flags&0x0200 != 0
	m.RCode = flags & 0x000f
	d := &m.dec
	if d.buf == nil {
		d.buf = make([]byte, 0, dnsMaxNameWire+1) // grows for escaped names
	}
	d.msg, d.off, d.noAddrText, d.names = b, dnsHeaderLen, m.NoAddrText, m.names
	d.ncach, d.lastPtr = 0, 0
	err := m.sections(d, b)
	d.msg = nil // the message is the caller's
	return err
}

// clearTail zeroes the questions and answers past the current lengths
// that the previous message used, oldQ and oldA of them.
func (m *DNSMessage) clearTail(oldQ, oldA int) {
	if n := len(m.Questions); n < oldQ {
		clear(m.Questions[n:oldQ])
	}
	if n := len(m.Answers); n < oldA {
		clear(m.Answers[n:oldA])
	}
}

// sections decodes the questions and records after the header.
func (m *DNSMessage) sections(d *dnsDecoder, b []byte) error {
	qd := int(binary.BigEndian.Uint16(b[4:]))
	an := int(binary.BigEndian.Uint16(b[6:]))
	ns := int(binary.BigEndian.Uint16(b[8:]))
	ar := int(binary.BigEndian.Uint16(b[10:]))

	// Every question takes at least 5 bytes and every record 11, so the
	// bytes left bound what is worth reserving, whatever the header says.
	m.Questions = slices.Grow(m.Questions, min(qd, dnsMaxQuestions, (len(b)-d.off)/5))
	for i := range min(qd, dnsMaxQuestions) {
		name, err := d.name(true)
		if err != nil {
			return &DNSError{Section: "question", Index: i, Err: err}
		}
		if d.off+4 > len(b) {
			return &DNSError{Section: "question", Index: i, Err: ErrTruncated}
		}
		m.Questions = append(m.Questions, DNSQuestion{
			Name:  name,
			Type:  binary.BigEndian.Uint16(b[d.off:]),
			Class: binary.BigEndian.Uint16(b[d.off+2:]),
		})
		d.off += 4
	}
	if qd > dnsMaxQuestions {
		return &DNSError{Section: "question", Index: dnsMaxQuestions, Err: ErrDNSTooManyRecords}
	}

	m.Answers = slices.Grow(m.Answers, min(an, dnsMaxAnswers, (len(b)-d.off)/dnsMinRecord))
	for i := range min(an, dnsMaxAnswers) {
		if !d.slowRecords && d.addrRecord(m) {
			continue
		}
		// Decoded in place: a record is 64 bytes with three pointers,
		// copied for nothing from a local.
		m.Answers = append(m.Answers, DNSRecord{})
		if err := d.record(&m.Answers[i], true); err != nil {
			m.Answers[i] = DNSRecord{}
			m.Answers = m.Answers[:i]
			return &DNSError{Section: "answer", Index: i, Err: err}
		}
	}
	if an > dnsMaxAnswers {
		return &DNSError{Section: "answer", Index: dnsMaxAnswers, Err: ErrDNSTooManyRecords}
	}

	if ns+ar > dnsMaxWalked {
		return &DNSError{Section: "authority", Err: ErrDNSTooManyRecords}
	}
	for i := range ns {
		var rr DNSRecord
		if err := d.record(&rr, false); err != nil {
			return &DNSError{Section: "authority", Index: i, Err: err}
		}
	}
	sawOPT := false
	for i := range ar {
		var rr DNSRecord
		if err := d.record(&rr, false); err != nil {
			return &DNSError{Section: "additional", Index: i, Err: err}
		}
		if rr.Type == dnsTypeOPT && !sawOPT {
			// RFC 6891: the upper 8 bits of the 12-bit rcode sit in the
			// first byte of the OPT record's TTL field.
			sawOPT = true
			m.RCode |= uint16(rr.TTL>>24) << 4
		}
	}
	return nil
}

// dnsDecoder walks one message. buf is scratch space for name text.
type dnsDecoder struct {
	msg   []byte
	off   int
	buf   []byte
	cache [8]dnsCachedName
	ncach int
	// last is the cached name a compression pointer found most recently,
	// lastPtr its offset plus one (0: none): the owners of a response's
	// records point at one name in turn, which record takes without a call.
	last       string
	lastPtr    int
	noAddrText bool // see DNSMessage.NoAddrText
	// slowRecords turns addrRecord off, for the test that checks it
	// decodes as record does.
	slowRecords bool
	names       *dnsNameTable // see DNSMessage.InternNames
}

// dnsCachedName remembers the text of a name decoded from offset off, so
// that names which are a single compression pointer to it (the usual form of
// answer owner names) share one string instead of allocating again.
type dnsCachedName struct {
	off  int
	text string
}

// name decodes the name at d.off and advances past it. When build is false
// the name is only validated and "" is returned.
func (d *dnsDecoder) name(build bool) (string, error) {
	s, next, err := d.nameAt(d.off, build)
	if err != nil {
		return "", err
	}
	d.off = next
	return s, nil
}

// nameAt decodes the name starting at start and returns its text and the
// offset just past it (not following pointers).
func (d *dnsDecoder) nameAt(start int, build bool) (string, int, error) {
	msg := d.msg
	if build && start+1 < len(msg) && msg[start]&0xc0 == 0xc0 {
		ptr := int(binary.BigEndian.Uint16(msg[start:]) & 0x3fff)
		for i := range d.ncach {
			if d.cache[i].off == ptr && ptr < start {
				d.last, d.lastPtr = d.cache[i].text, ptr+1
				return d.cache[i].text, start + 2, nil
			}
		}
	}
	buf := d.buf[:0]
	pos := start
	segStart := start // lowest offset read so far; pointers must go below it
	next := -1
	jumps := 0
	wire := 1 // the terminating root label
	for {
		if pos >= len(msg) {
			return "", 0, ErrTruncated
		}
		c := msg[pos]
		switch c & 0xc0 {
		case 0x00:
			if c == 0 {
				if next < 0 {
					next = pos + 1
				}
				if !build {
					return "", next, nil
				}
				s := d.str(buf)
				d.buf = buf[:0]
				if d.ncach < len(d.cache) {
					d.cache[d.ncach] = dnsCachedName{off: start, text: s}
					d.ncach++
				}
				return s, next, nil
			}
			l := int(c)
			if pos+1+l > len(msg) {
				return "", 0, ErrTruncated
			}
			wire += l + 1
			if wire > dnsMaxNameWire {
				return "", 0, ErrDNSNameTooLong
			}
			if build {
				if len(buf) > 0 {
					buf = append(buf, '.')
				}
				buf = appendDNSLabel(buf, msg[pos+1:pos+1+l])
			}
			pos += 1 + l
		case 0xc0:
			if pos+2 > len(msg) {
				return "", 0, ErrTruncated
			}
			ptr := int(binary.BigEndian.Uint16(msg[pos:]) & 0x3fff)
			// Requiring each jump to land before every byte read so far
			// makes the walk strictly decreasing, so it always ends.
			if ptr >= segStart {
				return "", 0, ErrDNSBadPointer
			}
			jumps++
			if jumps > dnsMaxJumps {
				return "", 0, ErrDNSPointerLimit
			}
			if next < 0 {
				next = pos + 2
			}
			pos = ptr
			segStart = ptr
		default:
			return "", 0, ErrDNSBadLabel
		}
	}
}

// record decodes one resource record at d.off into rr and advances past it.
// With full false only the owner name, the fixed fields and the data bounds
// are checked and rr.Data stays empty.
func (d *dnsDecoder) record(rr *DNSRecord, full bool) error {
	msg := d.msg
	var name string
	off := d.off
	if full && off+1 < len(msg) && msg[off]&0xc0 == 0xc0 && int(binary.BigEndian.Uint16(msg[off:])&0x3fff)+1 == d.lastPtr && d.lastPtr <= off {
		// The owner points where the last one did: nameAt's cache hit.
		name = d.last
		off += 2
	} else {
		var err error
		if name, err = d.name(full); err != nil {
			return err
		}
		off = d.off
	}
	// The fixed fields are read from one slice into locals, before any
	// store through rr (which could alias d and make d reread).
	if off+10 > len(msg) {
		return ErrTruncated
	}
	h := msg[off : off+10]
	typ := binary.BigEndian.Uint16(h)
	class := binary.BigEndian.Uint16(h[2:])
	ttl := binary.BigEndian.Uint32(h[4:])
	rdlen := int(binary.BigEndian.Uint16(h[8:]))
	start := off + 10
	end := start + rdlen
	if end > len(msg) {
		d.off = off
		return ErrTruncated
	}
	d.off = end
	rr.Name, rr.Type, rr.Class, rr.TTL = name, typ, class, ttl
	if !full {
		return nil
	}
	rdata := msg[start:end]
	switch typ {
	case dnsTypeA:
		if rdlen != 4 {
			return ErrDNSBadRData
		}
		rr.Addr = netip.AddrFrom4([4]byte(rdata))
		if !d.noAddrText {
			rr.Data = rr.Addr.String()
		}
	case dnsTypeAAAA:
		if rdlen != 16 {
			return ErrDNSBadRData
		}
		rr.Addr = netip.AddrFrom16([16]byte(rdata))
		if !d.noAddrText {
			rr.Data = rr.Addr.String()
		}
	case dnsTypeCNAME, dnsTypeNS, dnsTypePTR, dnsTypeDNAME:
		target, err := d.rdataName(start, end)
		if err != nil {
			return err
		}
		rr.Data = target
	case dnsTypeMX, dnsTypeSVCB, dnsTypeHTTPS:
		if rdlen < 3 {
			return ErrDNSBadRData
		}
		target, err := d.rdataName(start+2, end)
		if err != nil {
			return err
		}
		if target == "" {
			target = "."
		}
		b := d.buf[:0]
		b = strconv.AppendUint(b, uint64(binary.BigEndian.Uint16(rdata)), 10)
		b = append(b, ' ')
		b = append(b, target...)
		rr.Data = string(b)
		d.buf = b[:0]
	case dnsTypeTXT:
		b := d.buf[:0]
		for p := 0; p < len(rdata); {
			l := int(rdata[p])
			if p+1+l > len(rdata) {
				return ErrDNSBadRData
			}
			b = appendEscaped(b, rdata[p+1:p+1+l], false)
			p += 1 + l
		}
		rr.Data = string(b)
		d.buf = b[:0]
	}
	return nil
}

// addrRecord decodes the record at d.off and appends it to m.Answers when
// it is the common case of an answer section, an A or AAAA record whose
// owner points where the last owner did (each address of a name after the
// first, or after a CNAME), whole in the message: what record would do,
// with one bounds check. It reports false, having done nothing, for any
// other record.
func (d *dnsDecoder) addrRecord(m *DNSMessage) bool {
	msg, off, p := d.msg, d.off, d.lastPtr
	if p == 0 || p > off || off+12 > len(msg) {
		return false
	}
	h := msg[off : off+12 : off+12]
	ptr := p - 1
	if h[0] != 0xc0|byte(ptr>>8) || h[1] != byte(ptr) || h[2] != 0 || h[10] != 0 {
		return false
	}
	n := 0
	switch {
	case h[3] == dnsTypeA && h[11] == 4:
		n = 12 + 4
	case h[3] == dnsTypeAAAA && h[11] == 16:
		n = 12 + 16
	default:
		return false
	}
	if off+n > len(msg) {
		return false
	}
	var a netip.Addr
	if n == 16 {
		a = netip.AddrFrom4([4]byte(msg[off+12 : off+16]))
	} else {
		a = netip.AddrFrom16([16]byte(msg[off+12 : off+28]))
	}
	m.Answers = append(m.Answers, DNSRecord{Name: d.last, Type: uint16(h[3]), Class: binary.BigEndian.Uint16(h[4:]), TTL: binary.BigEndian.Uint32(h[6:]), Addr: a})
	if !d.noAddrText {
		rr := &m.Answers[len(m.Answers)-1]
		rr.Data = a.String()
	}
	d.off = off + n
	return true
}

// rdataName decodes a name that must lie within the record data [start, end)
// (its pointers may reach earlier parts of the message).
func (d *dnsDecoder) rdataName(start, end int) (string, error) {
	s, next, err := d.nameAt(start, true)
	if err != nil {
		return "", err
	}
	if next > end {
		return "", ErrDNSBadRData
	}
	return s, nil
}

// appendDNSLabel appends a label lower-cased, escaping dots, backslashes,
// spaces and non-printable bytes as \DDD so that a hostile label cannot
// forge extra labels or terminal control sequences.
func appendDNSLabel(dst, label []byte) []byte {
	// Without a branch a byte: names are mostly plain, and the check
	// is most of what a label costs.
	var odd uint8
	for _, c := range label {
		odd |= dnsOddByte[c]
	}
	if odd != 0 {
		return appendEscaped(dst, label, true)
	}
	return append(dst, label...)
}

// dnsOddByte is 1 for the bytes a label cannot copy as they are (all but
// lower-case letters, digits, '-' and '_'). It is never written.
var dnsOddByte = func() (t [256]uint8) {
	for c := range t {
		plain := c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_'
		if !plain {
			t[c] = 1
		}
	}
	return t
}()

// appendEscaped appends src with bytes outside printable ASCII (and, for
// names, '.', '\\' and space) written as a backslash and three decimal
// digits. When lower is true upper-case ASCII letters are lower-cased.
func appendEscaped(dst, src []byte, lower bool) []byte {
	for _, c := range src {
		switch {
		case lower && c >= 'A' && c <= 'Z':
			dst = append(dst, c+('a'-'A'))
		case c == '\\' || c < 0x20 || c > 0x7e || (lower && (c == '.' || c == ' ')):
			dst = append(dst, '\\', '0'+c/100, '0'+c/10%10, '0'+c%10)
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

// SplitDNSTCP splits a TCP byte stream into its DNS messages, each preceded
// by a 2-byte big-endian length (RFC 1035 section 4.2.2). rest holds the
// trailing bytes of a message that is not complete yet. Zero-length messages
// are skipped. The returned slices alias stream.
func SplitDNSTCP(stream []byte) (msgs [][]byte, rest []byte) {
	n := 0 // count first so that msgs is allocated once
	for p := 0; len(stream)-p >= 2; {
		l := int(binary.BigEndian.Uint16(stream[p:]))
		if len(stream)-p-2 < l {
			break
		}
		if l > 0 {
			n++
		}
		p += 2 + l
	}
	if n > 0 {
		msgs = make([][]byte, 0, n)
	}
	p := 0
	for len(stream)-p >= 2 {
		l := int(binary.BigEndian.Uint16(stream[p:]))
		if len(stream)-p-2 < l {
			break
		}
		if l > 0 {
			msgs = append(msgs, stream[p+2:p+2+l:p+2+l])
		}
		p += 2 + l
	}
	return msgs, stream[p:]
}

// Chain follows CNAME records in the answer section from name and returns
// the names visited, starting with name itself (lower-cased, without a
// trailing dot). It stops at a repeated name and after 16 names.
func (m *DNSMessage) Chain(name string) []string {
	cur := strings.ToLower(strings.TrimSuffix(name, "."))
	out := []string{cur}
	for len(out) < dnsMaxChain {
		next := ""
		for i := range m.Answers {
			if rr := &m.Answers[i]; rr.Type == dnsTypeCNAME && rr.Name == cur {
				next = rr.Data
				break
			}
		}
		if next == "" || slices.Contains(out, next) {
			break
		}
		out = append(out, next)
		cur = next
	}
	return out
}

// Addrs returns the address of every A and AAAA record in the answer
// section, in message order.
func (m *DNSMessage) Addrs() []netip.Addr {
	var out []netip.Addr
	for i := range m.Answers {
		if m.Answers[i].Addr.IsValid() {
			out = append(out, m.Answers[i].Addr)
		}
	}
	return out
}

// DNSTypeString names a record type ("A", "AAAA", "HTTPS", ...) and writes
// unknown ones in the RFC 3597 form "TYPE65534".
func DNSTypeString(t uint16) string {
	switch t {
	case dnsTypeA:
		return "A"
	case dnsTypeNS:
		return "NS"
	case dnsTypeCNAME:
		return "CNAME"
	case dnsTypeSOA:
		return "SOA"
	case dnsTypePTR:
		return "PTR"
	case 13:
		return "HINFO"
	case dnsTypeMX:
		return "MX"
	case dnsTypeTXT:
		return "TXT"
	case dnsTypeAAAA:
		return "AAAA"
	case dnsTypeSRV:
		return "SRV"
	case 35:
		return "NAPTR"
	case dnsTypeDNAME:
		return "DNAME"
	case dnsTypeOPT:
		return "OPT"
	case 43:
		return "DS"
	case 46:
		return "RRSIG"
	case 47:
		return "NSEC"
	case 48:
		return "DNSKEY"
	case 50:
		return "NSEC3"
	case dnsTypeSVCB:
		return "SVCB"
	case dnsTypeHTTPS:
		return "HTTPS"
	case 252:
		return "AXFR"
	case dnsTypeANY:
		return "ANY"
	case 257:
		return "CAA"
	}
	return "TYPE" + strconv.Itoa(int(t))
}

// DNSRCodeString names a response code ("NOERROR", "NXDOMAIN", ...) and
// writes others as "RCODE23".
func DNSRCodeString(rc uint16) string {
	switch rc {
	case 0:
		return "NOERROR"
	case 1:
		return "FORMERR"
	case 2:
		return "SERVFAIL"
	case 3:
		return "NXDOMAIN"
	case 4:
		return "NOTIMP"
	case 5:
		return "REFUSED"
	case 6:
		return "YXDOMAIN"
	case 7:
		return "YXRRSET"
	case 8:
		return "NXRRSET"
	case 9:
		return "NOTAUTH"
	case 10:
		return "NOTZONE"
	case 16:
		return "BADVERS"
	}
	return "RCODE" + strconv.Itoa(int(rc))
}
