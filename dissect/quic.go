package dissect

import (
	"encoding/binary"
	"errors"
	"strconv"
)

// Limits that keep a QUICAssembler's work and memory bounded whatever the
// wire says.
const (
	quicMaxCIDLen       = 20       // RFC 9000 section 17.2 for versions 1 and 2
	quicMaxCryptoOffset = 64 << 10 // CRYPTO bytes at or past this offset are ignored
	quicMaxPackets      = 32       // Initial packets decrypted per assembler
	quicMaxAttempts     = 64       // Initial packets tried, decrypted or not
	quicMaxKeySets      = 4        // key derivations per assembler
	quicMaxPending      = 128      // out-of-order CRYPTO fragments held
	quicMaxPendingBytes = 64 << 10 // bytes of out-of-order CRYPTO data held
)

// Errors returned (wrapped in a *QUICError) by QUICAssembler.AddDatagram.
var (
	// ErrQUICTruncated reports a packet shorter than its header or Length field says.
	ErrQUICTruncated = errors.New("quic: truncated packet")
	// ErrQUICNotLongHeader reports a datagram that does not start with a long-header packet.
	ErrQUICNotLongHeader = errors.New("quic: not a long-header packet")
	// ErrQUICVersion reports a long-header packet of a version the dissector cannot decrypt.
	ErrQUICVersion = errors.New("quic: unsupported version")
	// ErrQUICConnIDLen reports a connection ID longer than 20 bytes.
	ErrQUICConnIDLen = errors.New("quic: connection ID longer than 20 bytes")
	// ErrQUICDecrypt reports an Initial packet that failed authentication with every candidate key.
	ErrQUICDecrypt = errors.New("quic: Initial packet failed authentication")
	// ErrQUICFrame reports a malformed frame inside a decrypted Initial packet.
	ErrQUICFrame = errors.New("quic: malformed frame")
)

// QUICError says which packet of a datagram was malformed and why; Err is
// one of the ErrQUIC sentinels.
type QUICError struct {
	Offset  int    // byte offset of the packet within the datagram
	Version uint32 // version field of the packet, 0 when unknown
	Err     error  // the ErrQUIC sentinel
}

// Error describes the failure and where it happened.
func (e *QUICError) Error() string {
	b := make([]byte, 0, 96)
	if e.Err != nil {
		b = append(b, e.Err.Error()...)
	} else {
		b = append(b, "quic: malformed packet"...)
	}
	b = append(b, " (packet at byte "...)
	b = strconv.AppendInt(b, int64(e.Offset), 10)
	if e.Version != 0 {
		b = append(b, ", version "...)
		b = append(b, QUICVersionString(e.Version)...)
	}
	b = append(b, ')')
	return string(b)
}

// Unwrap returns the ErrQUIC sentinel.
func (e *QUICError) Unwrap() error { return e.Err }

// IsQUICLongHeader reports whether d starts with a QUIC long header: form
// and fixed bits set and a non-zero version (so not Version Negotiation).
func IsQUICLongHeader(d []byte) bool {
	return len(d) >= 5 && d[0]&0xc0 == 0xc0 && binary.BigEndian.Uint32(d[1:5]) != 0
}

// QUICVersion returns the version field of a long-header packet; ok is
// false when d does not start with a long header. Version 0 is Version
// Negotiation.
func QUICVersion(d []byte) (v uint32, ok bool) {
	if len(d) < 5 || d[0]&0x80 == 0 {
		return 0, false
	}
	return binary.BigEndian.Uint32(d[1:5]), true
}

// QUICVersionString names a QUIC version: "v1", "v2", "draft-29" or the
// number in hex ("0x00000000" for Version Negotiation).
func QUICVersionString(v uint32) string {
	switch v {
	case QUICVersion1:
		return "v1"
	case QUICVersion2:
		return "v2"
	case QUICVersionDraft29:
		return "draft-29"
	}
	const hex = "0123456789abcdef"
	var b [10]byte
	b[0], b[1] = '0', 'x'
	for i := 0; i < 8; i++ {
		b[2+i] = hex[(v>>(28-4*i))&0xf]
	}
	return string(b[:])
}

// quicFrag is an out-of-order CRYPTO fragment held in pendBuf.
type quicFrag struct {
	off        int // stream offset
	start, end int // position in pendBuf
}

// QUICAssembler decrypts the client Initial packets of one QUIC connection
// and reassembles the CRYPTO stream that carries the TLS ClientHello. Feed
// it the client's UDP payloads in capture order; the zero value is ready to
// use. It is not safe for concurrent use.
type QUICAssembler struct {
	keys      [quicMaxKeySets]quicKeys
	nkeys     int
	cur       int    // 1 + index of the key set that last decrypted a packet; 0 for none
	version   uint32 // version of the first decrypted Initial
	packets   int    // Initial packets decrypted
	attempts  int    // Initial packets tried
	largestPN int64
	havePN    bool
	closeCode uint64
	closed    bool

	scratch []byte // decryption buffer, reused
	crypto  []byte // contiguous CRYPTO bytes from offset 0
	pend    []quicFrag
	pendBuf []byte
}

// Reset empties the assembler for another connection, keeping its
// buffers' memory and dropping its keys.
func (a *QUICAssembler) Reset() {
	scratch, crypto, pend, pendBuf := a.scratch[:0], a.crypto[:0], a.pend[:0], a.pendBuf[:0]
	*a = QUICAssembler{scratch: scratch, crypto: crypto, pend: pend, pendBuf: pendBuf}
}

// Version returns the version of the first Initial packet decrypted, 0 if
// none was.
func (a *QUICAssembler) Version() uint32 { return a.version }

// DCID returns the Destination Connection ID the working Initial keys were
// derived from: the client's original one, or the one a Retry gave it; nil
// before any Initial packet decrypted. The caller must not modify it.
func (a *QUICAssembler) DCID() []byte {
	if a.cur == 0 {
		return nil
	}
	k := &a.keys[a.cur-1]
	return k.dcid[:k.dcidLen:k.dcidLen]
}

// Crypto returns the contiguous CRYPTO stream bytes from offset 0. It is
// valid until the next AddDatagram; the caller must not modify it.
func (a *QUICAssembler) Crypto() []byte { return a.crypto[:len(a.crypto):len(a.crypto)] }

// ClientHelloMessage returns the first handshake message, with its 4-byte
// header, once it is complete and of type 1 (ClientHello); else nil. It is
// valid until the next AddDatagram; the caller must not modify it.
func (a *QUICAssembler) ClientHelloMessage() []byte {
	c := a.crypto
	if len(c) < 4 || c[0] != 1 {
		return nil
	}
	n := 4 + (int(c[1])<<16 | int(c[2])<<8 | int(c[3]))
	if len(c) < n {
		return nil
	}
	return c[:n:n]
}

// Packets returns how many Initial packets were decrypted.
func (a *QUICAssembler) Packets() int { return a.packets }

// ConnectionClose returns the error code of the first CONNECTION_CLOSE frame
// the client sent in an Initial packet; ok is false when there was none.
func (a *QUICAssembler) ConnectionClose() (code uint64, ok bool) {
	return a.closeCode, a.closed
}

// AddDatagram parses the packets coalesced in one client UDP payload.
// Long-header Initial packets of versions 1, 2 and draft-29 are decrypted
// and their frames collected; other long-header packets are skipped by
// their Length, and parsing stops without error at a short-header packet
// or padding. Malformed or undecryptable packets
// give a *QUICError wrapping an ErrQUIC sentinel; packets before it in the
// datagram have been used. Errors are never fatal to the assembler.
func (a *QUICAssembler) AddDatagram(d []byte) error {
	for off := 0; off < len(d); {
		p := d[off:]
		if p[0]&0x80 == 0 {
			// A short-header packet (fixed bit set) runs to the end of the
			// datagram and is skipped, as is padding after coalesced
			// packets; a datagram starting with neither is not QUIC.
			if off == 0 && p[0]&0x40 == 0 {
				return &QUICError{Offset: off, Err: ErrQUICNotLongHeader}
			}
			return nil
		}
		if len(p) < 5 {
			return &QUICError{Offset: off, Err: ErrQUICTruncated}
		}
		version := binary.BigEndian.Uint32(p[1:5])
		if version == 0 {
			return nil // Version Negotiation has no Length: nothing follows
		}
		params, ok := quicParams(version)
		if !ok {
			return &QUICError{Offset: off, Version: version, Err: ErrQUICVersion}
		}
		h, err := parseQUICLongHeader(p, params)
		if err != nil {
			return &QUICError{Offset: off, Version: version, Err: err}
		}
		if h.retry {
			return nil // Retry has no Length and runs to the end
		}
		if h.initial {
			if err := a.addInitial(p[:h.end], version, h.dcid, h.pnOff); err != nil {
				return &QUICError{Offset: off, Version: version, Err: err}
			}
		}
		off += h.end
	}
	return nil
}

// quicLongHeader is the parsed cleartext part of a long header.
type quicLongHeader struct {
	dcid    []byte
	pnOff   int // offset of the protected packet number
	end     int // offset just past the packet
	initial bool
	retry   bool
}

// parseQUICLongHeader parses the long header at the start of p (version
// already checked) up to the packet number.
func parseQUICLongHeader(p []byte, params quicVersionParams) (quicLongHeader, error) {
	var h quicLongHeader
	i := 5
	if len(p) < i+1 {
		return h, ErrQUICTruncated
	}
	dl := int(p[i])
	i++
	if dl > quicMaxCIDLen {
		return h, ErrQUICConnIDLen
	}
	if len(p) < i+dl+1 {
		return h, ErrQUICTruncated
	}
	h.dcid = p[i : i+dl]
	i += dl
	sl := int(p[i])
	i++
	if sl > quicMaxCIDLen {
		return h, ErrQUICConnIDLen
	}
	if len(p) < i+sl {
		return h, ErrQUICTruncated
	}
	i += sl
	typ := (p[0] >> 4) & 0x03
	switch typ {
	case params.retryType:
		h.retry = true
		return h, nil
	case params.initialType:
		h.initial = true
		tl, n := quicVarint(p[i:])
		if n == 0 {
			return h, ErrQUICTruncated
		}
		i += n
		if tl > uint64(len(p)-i) {
			return h, ErrQUICTruncated
		}
		i += int(tl)
	}
	length, n := quicVarint(p[i:])
	if n == 0 {
		return h, ErrQUICTruncated
	}
	i += n
	if length > uint64(len(p)-i) {
		return h, ErrQUICTruncated
	}
	h.pnOff = i
	h.end = i + int(length)
	return h, nil
}

// quicVarint decodes a variable-length integer (RFC 9000 section 16); n is
// 0 when b is too short.
func quicVarint(b []byte) (v uint64, n int) {
	if len(b) == 0 {
		return 0, 0
	}
	n = 1 << (b[0] >> 6)
	if len(b) < n {
		return 0, 0
	}
	v = uint64(b[0] & 0x3f)
	for i := 1; i < n; i++ {
		v = v<<8 | uint64(b[i])
	}
	return v, n
}

// keySet returns the index of the key set for version and dcid, deriving
// it if the budget allows; -1 when there is none.
func (a *QUICAssembler) keySet(version uint32, dcid []byte) int {
	for i := 0; i < a.nkeys; i++ {
		if a.keys[i].matches(version, dcid) {
			return i
		}
	}
	if a.nkeys == quicMaxKeySets {
		return -1
	}
	if err := deriveQUICKeys(&a.keys[a.nkeys], version, dcid); err != nil {
		return -1
	}
	a.nkeys++
	return a.nkeys - 1
}

// addInitial decrypts one Initial packet and takes in its frames. It tries
// the keys that worked last (clients keep the original keys even after the
// server picks a new connection ID), then keys from the packet's own DCID
// (after a Retry), then, when the version changed, keys for the new version
// from the old DCID (compatible version negotiation).
func (a *QUICAssembler) addInitial(pkt []byte, version uint32, dcid []byte, pnOff int) error {
	if a.packets >= quicMaxPackets || a.attempts >= quicMaxAttempts {
		return nil
	}
	a.attempts++
	if pnOff+4+16 > len(pkt) {
		return ErrQUICTruncated
	}
	largest := int64(-1)
	if a.havePN {
		largest = a.largestPN
	}
	var tried [quicMaxKeySets]bool
	for step := 0; step < 3; step++ {
		idx := -1
		switch step {
		case 0:
			if a.cur != 0 && a.keys[a.cur-1].version == version {
				idx = a.cur - 1
			}
		case 1:
			idx = a.keySet(version, dcid)
		case 2:
			if a.cur != 0 && a.keys[a.cur-1].version != version {
				k := &a.keys[a.cur-1]
				var old [quicMaxCIDLen]byte
				n := copy(old[:], k.dcid[:k.dcidLen])
				idx = a.keySet(version, old[:n])
			}
		}
		if idx < 0 || tried[idx] {
			continue
		}
		tried[idx] = true
		a.scratch = append(a.scratch[:0], pkt...)
		frames, pn, err := quicOpen(&a.keys[idx], a.scratch, pnOff, largest)
		if err != nil {
			continue
		}
		a.cur = idx + 1
		if a.version == 0 {
			a.version = version
		}
		a.packets++
		if !a.havePN || pn > a.largestPN {
			a.largestPN, a.havePN = pn, true
		}
		return a.addFrames(frames)
	}
	return ErrQUICDecrypt
}

// addFrames walks the frames of a decrypted Initial packet. It stops
// quietly at a frame type not allowed in Initial packets.
func (a *QUICAssembler) addFrames(b []byte) error {
	for len(b) > 0 {
		if b[0] == 0x00 { // PADDING
			b = b[1:]
			continue
		}
		t, n := quicVarint(b)
		if n == 0 {
			return ErrQUICFrame
		}
		b = b[n:]
		switch t {
		case 0x01: // PING
		case 0x02, 0x03: // ACK, ACK with ECN counts
			var ranges uint64
			for i := 0; i < 4; i++ { // largest, delay, range count, first range
				v, n := quicVarint(b)
				if n == 0 {
					return ErrQUICFrame
				}
				if i == 2 {
					ranges = v
				}
				b = b[n:]
			}
			// Each range takes at least two bytes, so running out of
			// bytes ends this loop long before a hostile count does.
			for ; ranges > 0; ranges-- {
				if b = quicSkipVarints(b, 2); b == nil {
					return ErrQUICFrame
				}
			}
			if t == 0x03 {
				if b = quicSkipVarints(b, 3); b == nil {
					return ErrQUICFrame
				}
			}
		case 0x06: // CRYPTO
			off, n := quicVarint(b)
			if n == 0 {
				return ErrQUICFrame
			}
			b = b[n:]
			l, n := quicVarint(b)
			if n == 0 || l > uint64(len(b)-n) {
				return ErrQUICFrame
			}
			b = b[n:]
			a.addCrypto(off, b[:l])
			b = b[l:]
		case 0x1c, 0x1d: // CONNECTION_CLOSE (transport, application)
			code, n := quicVarint(b)
			if n == 0 {
				return ErrQUICFrame
			}
			b = b[n:]
			if t == 0x1c { // offending frame type
				if b = quicSkipVarints(b, 1); b == nil {
					return ErrQUICFrame
				}
			}
			rl, n := quicVarint(b)
			if n == 0 || rl > uint64(len(b)-n) {
				return ErrQUICFrame
			}
			b = b[uint64(n)+rl:]
			if !a.closed {
				a.closeCode, a.closed = code, true
			}
		default:
			return nil
		}
	}
	return nil
}

// quicSkipVarints skips count varints; nil when b is too short.
func quicSkipVarints(b []byte, count int) []byte {
	for ; count > 0; count-- {
		_, n := quicVarint(b)
		if n == 0 {
			return nil
		}
		b = b[n:]
	}
	return b
}

// addCrypto files CRYPTO data at stream offset off. Data extending the
// contiguous prefix is appended; data past a gap waits in pendBuf; data
// already held is ignored (the first copy wins).
func (a *QUICAssembler) addCrypto(off uint64, data []byte) {
	if off >= quicMaxCryptoOffset {
		return
	}
	if rest := quicMaxCryptoOffset - off; uint64(len(data)) > rest {
		data = data[:rest]
	}
	o := int(off)
	have := len(a.crypto)
	switch {
	case o+len(data) <= have:
		return // duplicate
	case o <= have:
		if a.crypto == nil {
			a.crypto = make([]byte, 0, 2048)
		}
		a.crypto = append(a.crypto, data[have-o:]...)
		a.drainPending()
	default:
		if len(a.pend) >= quicMaxPending || len(a.pendBuf)+len(data) > quicMaxPendingBytes {
			return
		}
		for _, f := range a.pend {
			if f.off == o && f.end-f.start >= len(data) {
				return // repeated fragment
			}
		}
		start := len(a.pendBuf)
		a.pendBuf = append(a.pendBuf, data...)
		a.pend = append(a.pend, quicFrag{off: o, start: start, end: len(a.pendBuf)})
	}
}

// drainPending moves held fragments that now touch the contiguous prefix
// into it.
func (a *QUICAssembler) drainPending() {
	for moved := true; moved && len(a.pend) > 0; {
		moved = false
		for i := 0; i < len(a.pend); i++ {
			f := a.pend[i]
			have := len(a.crypto)
			if f.off > have {
				continue
			}
			if end := f.off + (f.end - f.start); end > have {
				a.crypto = append(a.crypto, a.pendBuf[f.start+(have-f.off):f.end]...)
			}
			last := len(a.pend) - 1
			a.pend[i] = a.pend[last]
			a.pend = a.pend[:last]
			i--
			moved = true
		}
	}
	if len(a.pend) == 0 {
		a.pendBuf = a.pendBuf[:0]
	}
}
