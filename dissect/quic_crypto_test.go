package dissect

import (
	"bytes"
	"crypto/aes"
	"encoding/hex"
	"testing"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestQUICInitialKeys checks the key schedule against RFC 9001 appendix A.1
// and RFC 9369 appendix A.1.
func TestQUICInitialKeys(t *testing.T) {
	dcid := unhex(t, "8394c8f03e515708")
	for _, tc := range []struct {
		version             uint32
		secret, key, iv, hp string
		sample, mask        string
	}{
		{
			version: QUICVersion1,
			secret:  "c00cf151ca5be075ed0ebfb5c80323c42d6b7db67881289af4008f1f6c357aea",
			key:     "1f369613dd76d5467730efcbe3b1a22d",
			iv:      "fa044b2f42a3fd3b46fb255c",
			hp:      "9f50449e04a0e810283a1e9933adedd2",
			sample:  "d1b1c98dd7689fb8ec11d242b123dc9b",
			mask:    "437b9aec36",
		},
		{
			version: QUICVersion2,
			secret:  "14ec9d6eb9fd7af83bf5a668bc17a7e283766aade7ecd0891f70f9ff7f4bf47b",
			key:     "8b1a0bc121284290a29e0971b5cd045d",
			iv:      "91f73e2351d8fa91660e909f",
			hp:      "45b95e15235d6f45a6b19cbcb0294ba9",
			sample:  "ffe67b6abcdb4298b485dd04de806071",
			mask:    "94a0c95e80",
		},
	} {
		t.Run(QUICVersionString(tc.version), func(t *testing.T) {
			p, ok := quicParams(tc.version)
			if !ok {
				t.Fatal("version not supported")
			}
			secret, err := quicClientInitialSecret(p, dcid)
			if err != nil || !bytes.Equal(secret, unhex(t, tc.secret)) {
				t.Fatalf("client_initial_secret = %x, %v", secret, err)
			}
			for _, kv := range []struct {
				label, want string
			}{{p.keyLabel, tc.key}, {p.ivLabel, tc.iv}, {p.hpLb, tc.hp}} {
				want := unhex(t, kv.want)
				got, err := hkdfExpandLabel(secret, kv.label, len(want))
				if err != nil || !bytes.Equal(got, want) {
					t.Errorf("%s = %x, want %x (%v)", kv.label, got, want, err)
				}
			}
			var k quicKeys
			if err := deriveQUICKeys(&k, tc.version, dcid); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(k.iv[:], unhex(t, tc.iv)) || !k.matches(tc.version, dcid) {
				t.Fatalf("derived iv %x", k.iv)
			}
			var mask [16]byte
			k.hp.Encrypt(mask[:], unhex(t, tc.sample))
			if !bytes.Equal(mask[:5], unhex(t, tc.mask)) {
				t.Fatalf("mask = %x, want %s", mask[:5], tc.mask)
			}
			// The same mask from an independent AES block with the RFC key.
			blk, _ := aes.NewCipher(unhex(t, tc.hp))
			var mask2 [16]byte
			blk.Encrypt(mask2[:], unhex(t, tc.sample))
			if mask != mask2 {
				t.Fatal("header protection key differs from the RFC")
			}
		})
	}
}

func TestQUICDeriveErrors(t *testing.T) {
	var k quicKeys
	if err := deriveQUICKeys(&k, 0xfaceb002, nil); err != ErrQUICVersion {
		t.Errorf("unknown version: %v", err)
	}
	if err := deriveQUICKeys(&k, QUICVersion1, make([]byte, 21)); err != ErrQUICConnIDLen {
		t.Errorf("long dcid: %v", err)
	}
	if err := deriveQUICKeys(&k, QUICVersion1, nil); err != nil {
		t.Errorf("empty dcid: %v", err)
	}
}

// TestQUICPacketNumber checks RFC 9000 appendix A.3 decoding.
func TestQUICPacketNumber(t *testing.T) {
	for _, tc := range []struct {
		largest   int64
		truncated uint64
		bits      int
		want      int64
	}{
		{0xa82f30ea, 0x9b32, 16, 0xa82f9b32}, // the RFC example
		{-1, 0, 8, 0},
		{-1, 2, 32, 2},
		{0xff, 0x01, 8, 0x101},
		{0x100, 0xff, 8, 0xff},
		{5, 3, 8, 3},
	} {
		if got := decodeQUICPacketNumber(tc.largest, tc.truncated, tc.bits); got != tc.want {
			t.Errorf("decode(%x, %x, %d) = %x, want %x", tc.largest, tc.truncated, tc.bits, got, tc.want)
		}
	}
}

// BenchmarkQUICDeriveKeys measures deriving one set of client Initial keys.
func BenchmarkQUICDeriveKeys(b *testing.B) {
	dcid := unhex(b, "8394c8f03e515708")
	b.ReportAllocs()
	for b.Loop() {
		var k quicKeys
		if err := deriveQUICKeys(&k, QUICVersion1, dcid); err != nil {
			b.Fatal(err)
		}
	}
}

// sealForBench protects, with the RFC 9001 appendix A keys, a 1200-byte
// client Initial (packet number 2) carrying a 241-byte ClientHello-shaped
// CRYPTO frame and PADDING, as in appendix A.2.
func sealForBench(b testing.TB) []byte {
	var k quicKeys
	if err := deriveQUICKeys(&k, QUICVersion1, unhex(b, "8394c8f03e515708")); err != nil {
		b.Fatal(err)
	}
	hdr := unhex(b, "c300000001088394c8f03e5157080000449e00000002")
	payload := make([]byte, 1162)
	copy(payload, []byte{0x06, 0x00, 0x40, 0xf1, 0x01, 0x00, 0x00, 0xed})
	nonce := k.iv
	nonce[11] ^= 2
	pkt := k.aead.Seal(hdr, nonce[:], payload, hdr)
	var mask [16]byte
	k.hp.Encrypt(mask[:], pkt[22:38])
	pkt[0] ^= mask[0] & 0x0f
	for i := 0; i < 4; i++ {
		pkt[18+i] ^= mask[1+i]
	}
	return pkt
}

// BenchmarkQUICAddDatagramSteady measures an assembler that already holds
// its keys taking a client Initial: header protection removal,
// decryption and the frame walk, without key derivation.
func BenchmarkQUICAddDatagramSteady(b *testing.B) {
	var a QUICAssembler
	full := sealForBench(b)
	if err := a.AddDatagram(full); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(full)))
	for b.Loop() {
		a.packets, a.attempts, a.havePN = 0, 0, false
		if err := a.AddDatagram(full); err != nil {
			b.Fatal(err)
		}
	}
}

// TestQUICDerivationBudget checks that undecryptable Initials with ever new
// connection IDs cost at most quicMaxKeySets derivations, and that the
// assembler stops trying after quicMaxAttempts packets.
func TestQUICDerivationBudget(t *testing.T) {
	var a QUICAssembler
	pkt := unhex(t, "c00000000108"+"0000000000000000"+"0000"+"401e"+"00000000")
	pkt = append(pkt, make([]byte, 26)...)
	for i := 0; i < 100; i++ {
		pkt[6] = byte(i) // a new DCID each time
		err := a.AddDatagram(pkt)
		if i < quicMaxAttempts && err == nil {
			t.Fatalf("packet %d: no error", i)
		}
		if i >= quicMaxAttempts && err != nil {
			t.Fatalf("packet %d past the attempt cap: %v", i, err)
		}
	}
	if a.nkeys != quicMaxKeySets || a.attempts != quicMaxAttempts || a.packets != 0 {
		t.Fatalf("nkeys %d attempts %d packets %d", a.nkeys, a.attempts, a.packets)
	}
	good := sealForBench(t)
	if err := a.AddDatagram(good); err != nil || a.packets != 0 {
		t.Fatalf("after the cap: err %v, packets %d", err, a.packets)
	}
}
