package dissect

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/binary"
)

// QUIC version numbers understood by the Initial decryptor.
const (
	// QUICVersion1 is QUIC version 1 (RFC 9000, RFC 9001).
	QUICVersion1 uint32 = 0x00000001
	// QUICVersion2 is QUIC version 2 (RFC 9369).
	QUICVersion2 uint32 = 0x6b3343cf
	// QUICVersionDraft29 is draft-ietf-quic-transport-29.
	QUICVersionDraft29 uint32 = 0xff00001d
)

// Initial salts, from RFC 9001 section 5.2, RFC 9369 section 3.3.1 and
// draft-ietf-quic-tls-29 section 5.2 (the salt shared by drafts 29 to 32).
var (
	quicSaltV1      = [20]byte{0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17, 0x9a, 0xe6, 0xa4, 0xc8, 0x0c, 0xad, 0xcc, 0xbb, 0x7f, 0x0a}
	quicSaltV2      = [20]byte{0x0d, 0xed, 0xe3, 0xde, 0xf7, 0x00, 0xa6, 0xdb, 0x81, 0x93, 0x81, 0xbe, 0x6e, 0x26, 0x9d, 0xcb, 0xf9, 0xbd, 0x2e, 0xd9}
	quicSaltDraft29 = [20]byte{0xaf, 0xbf, 0xec, 0x28, 0x99, 0x93, 0xd2, 0x4c, 0x9e, 0x97, 0x86, 0xf1, 0x9c, 0x61, 0x11, 0xe0, 0x43, 0x90, 0xa8, 0x99}
)

// quicVersionParams holds what differs between the supported versions.
type quicVersionParams struct {
	salt                    *[20]byte
	keyLabel, ivLabel, hpLb string
	initialType             byte // long-header type bits of an Initial packet
	retryType               byte // long-header type bits of a Retry packet
}

// quicParams returns the parameters of a supported version.
func quicParams(v uint32) (quicVersionParams, bool) {
	switch v {
	case QUICVersion1:
		return quicVersionParams{&quicSaltV1, "quic key", "quic iv", "quic hp", 0, 3}, true
	case QUICVersionDraft29:
		return quicVersionParams{&quicSaltDraft29, "quic key", "quic iv", "quic hp", 0, 3}, true
	case QUICVersion2:
		return quicVersionParams{&quicSaltV2, "quicv2 key", "quicv2 iv", "quicv2 hp", 1, 0}, true
	}
	return quicVersionParams{}, false
}

// quicKeys is one set of client Initial keys.
type quicKeys struct {
	version uint32
	dcid    [quicMaxCIDLen]byte
	dcidLen uint8
	aead    cipher.AEAD
	hp      cipher.Block
	iv      [12]byte

	// Work space for quicOpen: arrays handed to the cipher interfaces
	// would escape to the heap on every packet if they lived on the stack.
	mask  [16]byte
	nonce [12]byte
}

func (k *quicKeys) matches(version uint32, dcid []byte) bool {
	return k.version == version && string(k.dcid[:k.dcidLen]) == string(dcid)
}

// hkdfExpandLabel implements HKDF-Expand-Label from RFC 8446 section 7.1
// with an empty context, as used by RFC 9001 section 5.
func hkdfExpandLabel(secret []byte, label string, length int) ([]byte, error) {
	var info [2 + 1 + 6 + 32 + 1]byte
	full := len("tls13 ") + len(label)
	binary.BigEndian.PutUint16(info[0:2], uint16(length))
	info[2] = byte(full)
	n := 3 + copy(info[3:], "tls13 ")
	n += copy(info[n:], label)
	info[n] = 0 // empty context
	n++
	return hkdf.Expand(sha256.New, secret, string(info[:n]), length)
}

// quicClientInitialSecret returns the client_initial_secret for a version
// and the client's original Destination Connection ID.
func quicClientInitialSecret(p quicVersionParams, dcid []byte) ([]byte, error) {
	initial, err := hkdf.Extract(sha256.New, dcid, p.salt[:])
	if err != nil {
		return nil, err
	}
	return hkdfExpandLabel(initial, "client in", 32)
}

// deriveQUICKeys derives the client Initial packet protection keys.
func deriveQUICKeys(k *quicKeys, version uint32, dcid []byte) error {
	p, ok := quicParams(version)
	if !ok {
		return ErrQUICVersion
	}
	if len(dcid) > quicMaxCIDLen {
		return ErrQUICConnIDLen
	}
	secret, err := quicClientInitialSecret(p, dcid)
	if err != nil {
		return err
	}
	key, err := hkdfExpandLabel(secret, p.keyLabel, 16)
	if err != nil {
		return err
	}
	iv, err := hkdfExpandLabel(secret, p.ivLabel, 12)
	if err != nil {
		return err
	}
	hp, err := hkdfExpandLabel(secret, p.hpLb, 16)
	if err != nil {
		return err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return err
	}
	hpBlock, err := aes.NewCipher(hp)
	if err != nil {
		return err
	}
	k.version = version
	k.dcidLen = uint8(copy(k.dcid[:], dcid))
	k.aead = aead
	k.hp = hpBlock
	copy(k.iv[:], iv)
	return nil
}

// quicOpen removes header protection from pkt in place and decrypts its
// payload in place. pkt is one whole long-header packet (header through
// the end of its Length field's extent) and pnOff the offset of the packet
// number. largest is the largest packet number seen so far, -1 for none.
// It returns the plaintext frames (aliasing pkt) and the packet number.
func quicOpen(k *quicKeys, pkt []byte, pnOff int, largest int64) ([]byte, int64, error) {
	// RFC 9001 section 5.4.2: the sample starts 4 bytes after the start
	// of the packet number, whatever its real length.
	if pnOff+4+16 > len(pkt) {
		return nil, 0, ErrQUICTruncated
	}
	mask := &k.mask
	k.hp.Encrypt(mask[:], pkt[pnOff+4:pnOff+4+16])
	pkt[0] ^= mask[0] & 0x0f
	pnLen := int(pkt[0]&0x03) + 1
	var truncated uint64
	for i := 0; i < pnLen; i++ {
		pkt[pnOff+i] ^= mask[1+i]
		truncated = truncated<<8 | uint64(pkt[pnOff+i])
	}
	pn := decodeQUICPacketNumber(largest, truncated, pnLen*8)

	nonce := &k.nonce
	*nonce = k.iv
	var pnb [8]byte
	binary.BigEndian.PutUint64(pnb[:], uint64(pn))
	for i := 0; i < 8; i++ {
		nonce[4+i] ^= pnb[i]
	}
	hdr := pkt[:pnOff+pnLen]
	ct := pkt[pnOff+pnLen:]
	pt, err := k.aead.Open(ct[:0], nonce[:], ct, hdr)
	if err != nil {
		return nil, 0, ErrQUICDecrypt
	}
	return pt, pn, nil
}

// decodeQUICPacketNumber recovers a full packet number from its truncated
// encoding (RFC 9000 appendix A.3).
func decodeQUICPacketNumber(largest int64, truncated uint64, bits int) int64 {
	expected := largest + 1
	win := int64(1) << bits
	hwin := win / 2
	mask := win - 1
	candidate := (expected &^ mask) | int64(truncated)
	switch {
	case candidate <= expected-hwin && candidate < (1<<62)-win:
		return candidate + win
	case candidate > expected+hwin && candidate >= win:
		return candidate - win
	}
	return candidate
}
