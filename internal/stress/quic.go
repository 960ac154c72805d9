package stress

import (
	"bufio"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"orchard/internal/capgen"
)

// quicSaltV1 is the QUIC v1 Initial salt (RFC 9001 section 5.2).
var quicSaltV1 = []byte{0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17,
	0x9a, 0xe6, 0xa4, 0xc8, 0x0c, 0xad, 0xcc, 0xbb, 0x7f, 0x0a}

// quicClientHello returns the ClientHello message crypto/tls sends as a
// QUIC client for sni.
func quicClientHello(sni string) ([]byte, error) {
	c := tls.QUICClient(&tls.QUICConfig{TLSConfig: &tls.Config{ServerName: sni, NextProtos: []string{"h3"}, MinVersion: tls.VersionTLS13,
		// Without the post-quantum key share the ClientHello fits one Initial.
		CurvePreferences: []tls.CurveID{tls.X25519, tls.CurveP256}}})
	c.SetTransportParameters([]byte{0x04, 0x04, 0x80, 0x10, 0x00, 0x00}) // initial_max_data
	if err := c.Start(context.Background()); err != nil {
		return nil, err
	}
	defer c.Close()
	for {
		ev := c.NextEvent()
		switch ev.Kind {
		case tls.QUICNoEvent:
			return nil, errors.New("no ClientHello from crypto/tls")
		case tls.QUICWriteData:
			if ev.Level == tls.QUICEncryptionLevelInitial {
				return append([]byte(nil), ev.Data...), nil
			}
		}
	}
}

func expandLabel(secret []byte, label string, n int) ([]byte, error) {
	full := "tls13 " + label
	info := []byte{byte(n >> 8), byte(n), byte(len(full))}
	info = append(info, full...)
	info = append(info, 0)
	return hkdf.Expand(sha256.New, secret, string(info), n)
}

// quicInitial returns a client Initial packet of QUIC v1 carrying crypto
// (a ClientHello) in one CRYPTO frame, padded to 1200 bytes and protected
// with the keys of dcid.
func quicInitial(dcid, scid, crypto []byte, pn uint32) ([]byte, error) {
	initial, err := hkdf.Extract(sha256.New, dcid, quicSaltV1)
	if err != nil {
		return nil, err
	}
	secret, err := expandLabel(initial, "client in", 32)
	if err != nil {
		return nil, err
	}
	key, err := expandLabel(secret, "quic key", 16)
	if err != nil {
		return nil, err
	}
	iv, err := expandLabel(secret, "quic iv", 12)
	if err != nil {
		return nil, err
	}
	hpKey, err := expandLabel(secret, "quic hp", 16)
	if err != nil {
		return nil, err
	}
	kb, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(kb)
	if err != nil {
		return nil, err
	}
	hp, err := aes.NewCipher(hpKey)
	if err != nil {
		return nil, err
	}
	// CRYPTO frame: type 6, offset 0, length (2-byte varint), data.
	if len(crypto) > 1100 {
		return nil, fmt.Errorf("ClientHello of %d bytes does not fit one Initial", len(crypto))
	}
	payload := []byte{0x06, 0x00, 0x40 | byte(len(crypto)>>8), byte(len(crypto))}
	payload = append(payload, crypto...)
	const pnLen = 4
	hdr := []byte{0xc0 | pnLen - 1}
	hdr = binary.BigEndian.AppendUint32(hdr, 1)
	hdr = append(hdr, byte(len(dcid)))
	hdr = append(hdr, dcid...)
	hdr = append(hdr, byte(len(scid)))
	hdr = append(hdr, scid...)
	hdr = append(hdr, 0) // no token
	// Pad the datagram to 1200 bytes (RFC 9000 section 14.1).
	fixed := len(hdr) + 2 + pnLen + aead.Overhead()
	for fixed+len(payload) < 1200 {
		payload = append(payload, 0)
	}
	l := pnLen + len(payload) + aead.Overhead()
	hdr = append(hdr, 0x40|byte(l>>8), byte(l))
	pnOff := len(hdr)
	hdr = binary.BigEndian.AppendUint32(hdr, pn)
	nonce := append([]byte(nil), iv...)
	for i := 0; i < 4; i++ {
		nonce[8+i] ^= byte(pn >> (24 - 8*i))
	}
	pkt := aead.Seal(hdr, nonce, payload, hdr)
	var mask [16]byte
	hp.Encrypt(mask[:], pkt[pnOff+4:pnOff+20])
	pkt[0] ^= mask[0] & 0x0f
	for i := 0; i < pnLen; i++ {
		pkt[pnOff+i] ^= mask[1+i]
	}
	return pkt, nil
}

// writeQUIC writes s.N QUIC connections that send one Initial each (the
// server never answers), each from a new (client, port) with its own
// connection IDs, 2 µs apart.
func writeQUIC(w *bufio.Writer, s Spec) error {
	hellos := make([][]byte, len(appleHosts))
	for i, h := range appleHosts {
		ch, err := quicClientHello(h)
		if err != nil {
			return fmt.Errorf("ClientHello for %s: %w", h, err)
		}
		hellos[i] = ch
	}
	p := newPcap(w)
	const clients = 1 << 14
	dcid, scid := make([]byte, 8), make([]byte, 8)
	for i := 0; i < s.N; i++ {
		binary.BigEndian.PutUint64(dcid, uint64(i)*0x9e3779b97f4a7c15+1)
		binary.BigEndian.PutUint64(scid, uint64(i))
		pkt, err := quicInitial(dcid, scid, hellos[i%len(hellos)], 0)
		if err != nil {
			return err
		}
		u := capgen.UDP{Src: clientAddr(i % clients), Dst: appleAddr(i / 3),
			SrcPort: uint16(1024 + i/clients), DstPort: 443, TTL: 64, IPID: uint16(i), Payload: pkt}
		if err := p.udp(u, true, 2*time.Microsecond); err != nil {
			return err
		}
	}
	return p.w.Err()
}
