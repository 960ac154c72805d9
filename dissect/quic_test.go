package dissect_test

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"orchard/dissect"
	"orchard/internal/sharedtest"
)

// RFC 9001 appendix A.2: the client Initial packet (DCID 8394c8f03e515708,
// packet number 2) and the CRYPTO frame it carries.
const rfc9001ClientInitial = "c000000001088394c8f03e5157080000449e7b9aec34d1b1c98dd7689fb8ec11" +
	"d242b123dc9bd8bab936b47d92ec356c0bab7df5976d27cd449f63300099f399" +
	"1c260ec4c60d17b31f8429157bb35a1282a643a8d2262cad67500cadb8e7378c" +
	"8eb7539ec4d4905fed1bee1fc8aafba17c750e2c7ace01e6005f80fcb7df6212" +
	"30c83711b39343fa028cea7f7fb5ff89eac2308249a02252155e2347b63d58c5" +
	"457afd84d05dfffdb20392844ae812154682e9cf012f9021a6f0be17ddd0c208" +
	"4dce25ff9b06cde535d0f920a2db1bf362c23e596d11a4f5a6cf3948838a3aec" +
	"4e15daf8500a6ef69ec4e3feb6b1d98e610ac8b7ec3faf6ad760b7bad1db4ba3" +
	"485e8a94dc250ae3fdb41ed15fb6a8e5eba0fc3dd60bc8e30c5c4287e53805db" +
	"059ae0648db2f64264ed5e39be2e20d82df566da8dd5998ccabdae053060ae6c" +
	"7b4378e846d29f37ed7b4ea9ec5d82e7961b7f25a9323851f681d582363aa5f8" +
	"9937f5a67258bf63ad6f1a0b1d96dbd4faddfcefc5266ba6611722395c906556" +
	"be52afe3f565636ad1b17d508b73d8743eeb524be22b3dcbc2c7468d54119c74" +
	"68449a13d8e3b95811a198f3491de3e7fe942b330407abf82a4ed7c1b311663a" +
	"c69890f4157015853d91e923037c227a33cdd5ec281ca3f79c44546b9d90ca00" +
	"f064c99e3dd97911d39fe9c5d0b23a229a234cb36186c4819e8b9c5927726632" +
	"291d6a418211cc2962e20fe47feb3edf330f2c603a9d48c0fcb5699dbfe58964" +
	"25c5bac4aee82e57a85aaf4e2513e4f05796b07ba2ee47d80506f8d2c25e50fd" +
	"14de71e6c418559302f939b0e1abd576f279c4b2e0feb85c1f28ff18f58891ff" +
	"ef132eef2fa09346aee33c28eb130ff28f5b766953334113211996d20011a198" +
	"e3fc433f9f2541010ae17c1bf202580f6047472fb36857fe843b19f5984009dd" +
	"c324044e847a4f4a0ab34f719595de37252d6235365e9b84392b061085349d73" +
	"203a4a13e96f5432ec0fd4a1ee65accdd5e3904df54c1da510b0ff20dcc0c77f" +
	"cb2c0e0eb605cb0504db87632cf3d8b4dae6e705769d1de354270123cb11450e" +
	"fc60ac47683d7b8d0f811365565fd98c4c8eb936bcab8d069fc33bd801b03ade" +
	"a2e1fbc5aa463d08ca19896d2bf59a071b851e6c239052172f296bfb5e724047" +
	"90a2181014f3b94a4e97d117b438130368cc39dbb2d198065ae3986547926cd2" +
	"162f40a29f0c3c8745c0f50fba3852e566d44575c29d39a03f0cda721984b6f4" +
	"40591f355e12d439ff150aab7613499dbd49adabc8676eef023b15b65bfc5ca0" +
	"6948109f23f350db82123535eb8a7433bdabcb909271a6ecbcb58b936a88cd4e" +
	"8f2e6ff5800175f113253d8fa9ca8885c2f552e657dc603f252e1a8e308f76f0" +
	"be79e2fb8f5d5fbbe2e30ecadd220723c8c0aea8078cdfcb3868263ff8f09400" +
	"54da48781893a7e49ad5aff4af300cd804a6b6279ab3ff3afb64491c85194aab" +
	"760d58a606654f9f4400e8b38591356fbf6425aca26dc85244259ff2b19c41b9" +
	"f96f3ca9ec1dde434da7d2d392b905ddf3d1f9af93d1af5950bd493f5aa731b4" +
	"056df31bd267b6b90a079831aaf579be0a39013137aac6d404f518cfd4684064" +
	"7e78bfe706ca4cf5e9c5453e9f7cfd2b8b4c8d169a44e55c88d4a9a7f9474241" +
	"e221af44860018ab0856972e194cd934"

// RFC 9369 appendix A.2: the same ClientHello in a version 2 Initial.
const rfc9369ClientInitial = "d76b3343cf088394c8f03e5157080000449ea0c95e82ffe67b6abcdb4298b485" +
	"dd04de806071bf03dceebfa162e75d6c96058bdbfb127cdfcbf903388e99ad04" +
	"9f9a3dd4425ae4d0992cfff18ecf0fdb5a842d09747052f17ac2053d21f57c5d" +
	"250f2c4f0e0202b70785b7946e992e58a59ac52dea6774d4f03b55545243cf1a" +
	"12834e3f249a78d395e0d18f4d766004f1a2674802a747eaa901c3f10cda5500" +
	"cb9122faa9f1df66c392079a1b40f0de1c6054196a11cbea40afb6ef5253cd68" +
	"18f6625efce3b6def6ba7e4b37a40f7732e093daa7d52190935b8da58976ff33" +
	"12ae50b187c1433c0f028edcc4c2838b6a9bfc226ca4b4530e7a4ccee1bfa2a3" +
	"d396ae5a3fb512384b2fdd851f784a65e03f2c4fbe11a53c7777c023462239dd" +
	"6f7521a3f6c7d5dd3ec9b3f233773d4b46d23cc375eb198c63301c21801f6520" +
	"bcfb7966fc49b393f0061d974a2706df8c4a9449f11d7f3d2dcbb90c6b877045" +
	"636e7c0c0fe4eb0f697545460c806910d2c355f1d253bc9d2452aaa549e27a1f" +
	"ac7cf4ed77f322e8fa894b6a83810a34b361901751a6f5eb65a0326e07de7c12" +
	"16ccce2d0193f958bb3850a833f7ae432b65bc5a53975c155aa4bcb4f7b2c4e5" +
	"4df16efaf6ddea94e2c50b4cd1dfe06017e0e9d02900cffe1935e0491d77ffb4" +
	"fdf85290fdd893d577b1131a610ef6a5c32b2ee0293617a37cbb08b847741c3b" +
	"8017c25ca9052ca1079d8b78aebd47876d330a30f6a8c6d61dd1ab5589329de7" +
	"14d19d61370f8149748c72f132f0fc99f34d766c6938597040d8f9e2bb522ff9" +
	"9c63a344d6a2ae8aa8e51b7b90a4a806105fcbca31506c446151adfeceb51b91" +
	"abfe43960977c87471cf9ad4074d30e10d6a7f03c63bd5d4317f68ff325ba3bd" +
	"80bf4dc8b52a0ba031758022eb025cdd770b44d6d6cf0670f4e990b22347a7db" +
	"848265e3e5eb72dfe8299ad7481a408322cac55786e52f633b2fb6b614eaed18" +
	"d703dd84045a274ae8bfa73379661388d6991fe39b0d93debb41700b41f90a15" +
	"c4d526250235ddcd6776fc77bc97e7a417ebcb31600d01e57f32162a8560cacc" +
	"7e27a096d37a1a86952ec71bd89a3e9a30a2a26162984d7740f81193e8238e61" +
	"f6b5b984d4d3dfa033c1bb7e4f0037febf406d91c0dccf32acf423cfa1e70710" +
	"10d3f270121b493ce85054ef58bada42310138fe081adb04e2bd901f2f13458b" +
	"3d6758158197107c14ebb193230cd1157380aa79cae1374a7c1e5bbcb80ee23e" +
	"06ebfde206bfb0fcbc0edc4ebec309661bdd908d532eb0c6adc38b7ca7331dce" +
	"8dfce39ab71e7c32d318d136b6100671a1ae6a6600e3899f31f0eed19e3417d1" +
	"34b90c9058f8632c798d4490da4987307cba922d61c39805d072b589bd52fdf1" +
	"e86215c2d54e6670e07383a27bbffb5addf47d66aa85a0c6f9f32e59d85a44dd" +
	"5d3b22dc2be80919b490437ae4f36a0ae55edf1d0b5cb4e9a3ecabee93dfc6e3" +
	"8d209d0fa6536d27a5d6fbb17641cde27525d61093f1b28072d111b2b4ae5f89" +
	"d5974ee12e5cf7d5da4d6a31123041f33e61407e76cffcdcfd7e19ba58cf4b53" +
	"6f4c4938ae79324dc402894b44faf8afbab35282ab659d13c93f70412e85cb19" +
	"9a37ddec600545473cfb5a05e08d0b209973b2172b4d21fb69745a262ccde96b" +
	"a18b2faa745b6fe189cf772a9f84cbfc"

// The CRYPTO frame of RFC 9001 and RFC 9369 appendix A.2 (ClientHello for
// example.com), before PADDING.
const rfcCryptoFrame = "060040f1010000ed0303ebf8fa56f12939b9584a3896472ec40bb863cfd3e868" +
	"04fe3a47f06a2b69484c00000413011302010000c000000010000e00000b6578" +
	"616d706c652e636f6dff01000100000a00080006001d00170018001000070005" +
	"04616c706e000500050100000000003300260024001d00209370b2c9caa47fba" +
	"baf4559fedba753de171fa71f50f1ce15d43e994ec74d748002b000302030400" +
	"0d0010000e0403050306030203080408050806002d00020101001c0002400100" +
	"3900320408ffffffffffffffff05048000ffff07048000ffff08011001048000" +
	"75300901100f088394c8f03e51570806048000ffff"

// RFC 9001 appendix A.3: the server's Initial, protected with server keys.
const rfc9001ServerInitial = "cf000000010008f067a5502a4262b5004075c0d95a482cd0991cd25b0aac406a" +
	"5816b6394100f37a1c69797554780bb38cc5a99f5ede4cf73c3ec2493a1839b3" +
	"dbcba3f6ea46c5b7684df3548e7ddeb9c3bf9c73cc3f3bded74b562bfb19fb84" +
	"022f8ef4cdd93795d77d06edbb7aaf2f58891850abbdca3d20398c276456cbc4" +
	"2158407dd074ee"

var rfcDCID = mustHex("8394c8f03e515708")

// testSNI returns the SNI of a ClientHello handshake message (with its
// 4-byte header) through the TLS dissector; ok is false when the message is
// malformed. A ClientHello without SNI gives "".
func testSNI(msg []byte) (sni string, ok bool) {
	ch, err := dissect.ParseClientHello(msg)
	if err != nil {
		return "", false
	}
	return ch.SNI, true
}

// testClientHello builds a ClientHello for sni with an extra extension of
// pad bytes, like the large key share of a post-quantum ClientHello.
func testClientHello(sni string, pad int) []byte {
	var ext []byte
	if sni != "" {
		name := []byte{0}
		name = binary.BigEndian.AppendUint16(name, uint16(len(sni)))
		name = append(name, sni...)
		list := binary.BigEndian.AppendUint16(nil, uint16(len(name)))
		list = append(list, name...)
		ext = binary.BigEndian.AppendUint16(ext, 0)
		ext = binary.BigEndian.AppendUint16(ext, uint16(len(list)))
		ext = append(ext, list...)
	}
	ext = binary.BigEndian.AppendUint16(ext, 0x11ec) // carrier for pad bytes
	ext = binary.BigEndian.AppendUint16(ext, uint16(pad))
	for i := 0; i < pad; i++ {
		ext = append(ext, byte(i*7))
	}
	body := []byte{3, 3}
	body = append(body, bytes.Repeat([]byte{0xab}, 32)...)
	body = append(body, 0)                // session id
	body = append(body, 0, 2, 0x13, 0x01) // cipher suites
	body = append(body, 1, 0)             // compression
	body = binary.BigEndian.AppendUint16(body, uint16(len(ext)))
	body = append(body, ext...)
	msg := []byte{1, byte(len(body) >> 16), byte(len(body) >> 8), byte(len(body))}
	return append(msg, body...)
}

// testVarint encodes v as a QUIC varint of the given size (1, 2, 4 or 8).
func testVarint(v uint64, size int) []byte {
	b := make([]byte, size)
	for i := size - 1; i >= 0; i-- {
		b[i] = byte(v)
		v >>= 8
	}
	b[0] |= map[int]byte{1: 0, 2: 0x40, 4: 0x80, 8: 0xc0}[size]
	return b
}

// cryptoFrame builds a CRYPTO frame carrying data at offset off.
func cryptoFrame(off int, data []byte) []byte { return cryptoFrameAt(uint64(off), data) }

// cryptoFrameAt is cryptoFrame for any offset, also past an int's range
// on 32-bit platforms (an 8-byte varint from 2^30 on).
func cryptoFrameAt(off uint64, data []byte) []byte {
	f := []byte{0x06}
	if off < 1<<30 {
		f = append(f, testVarint(off, 4)...)
	} else {
		f = append(f, testVarint(off, 8)...)
	}
	f = append(f, testVarint(uint64(len(data)), 2)...)
	return append(f, data...)
}

// testSealer protects client Initial packets; it derives its keys on its
// own so that it checks the dissector rather than sharing its code.
type testSealer struct {
	version uint32
	aead    cipher.AEAD
	hp      cipher.Block
	iv      []byte
}

func newTestSealer(t testing.TB, version uint32, dcid []byte) *testSealer {
	t.Helper()
	salt := map[uint32]string{
		dissect.QUICVersion1:       "38762cf7f55934b34d179ae6a4c80cadccbb7f0a",
		dissect.QUICVersion2:       "0dede3def700a6db819381be6e269dcbf9bd2ed9",
		dissect.QUICVersionDraft29: "afbfec289993d24c9e9786f19c6111e04390a899",
	}[version]
	prefix := "quic "
	if version == dissect.QUICVersion2 {
		prefix = "quicv2 "
	}
	label := func(secret []byte, l string, n int) []byte {
		full := "tls13 " + l
		info := []byte{byte(n >> 8), byte(n), byte(len(full))}
		info = append(info, full...)
		info = append(info, 0)
		out, err := hkdf.Expand(sha256.New, secret, string(info), n)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	initial, err := hkdf.Extract(sha256.New, dcid, mustHex(salt))
	if err != nil {
		t.Fatal(err)
	}
	secret := label(initial, "client in", 32)
	kb, _ := aes.NewCipher(label(secret, prefix+"key", 16))
	aead, _ := cipher.NewGCM(kb)
	hp, _ := aes.NewCipher(label(secret, prefix+"hp", 16))
	return &testSealer{version: version, aead: aead, hp: hp, iv: label(secret, prefix+"iv", 12)}
}

// seal builds one protected Initial packet. payload is padded with PADDING
// frames to at least minPayload bytes.
func (s *testSealer) seal(dcid, scid, token []byte, pn uint64, pnLen int, payload []byte, minPayload int) []byte {
	for len(payload) < minPayload || pnLen+len(payload) < 4 {
		payload = append(payload, 0)
	}
	typ := byte(0)
	if s.version == dissect.QUICVersion2 {
		typ = 1
	}
	hdr := []byte{0xc0 | typ<<4 | byte(pnLen-1)}
	hdr = binary.BigEndian.AppendUint32(hdr, s.version)
	hdr = append(hdr, byte(len(dcid)))
	hdr = append(hdr, dcid...)
	hdr = append(hdr, byte(len(scid)))
	hdr = append(hdr, scid...)
	hdr = append(hdr, testVarint(uint64(len(token)), 1)...)
	hdr = append(hdr, token...)
	hdr = append(hdr, testVarint(uint64(pnLen+len(payload)+16), 2)...)
	pnOff := len(hdr)
	for i := pnLen - 1; i >= 0; i-- {
		hdr = append(hdr, byte(pn>>(8*i)))
	}
	nonce := bytes.Clone(s.iv)
	for i := 0; i < 8; i++ {
		nonce[4+i] ^= byte(pn >> (56 - 8*i))
	}
	pkt := s.aead.Seal(hdr, nonce, payload, hdr)
	var mask [16]byte
	s.hp.Encrypt(mask[:], pkt[pnOff+4:pnOff+20])
	pkt[0] ^= mask[0] & 0x0f
	for i := 0; i < pnLen; i++ {
		pkt[pnOff+i] ^= mask[1+i]
	}
	return pkt
}

func TestQUICRFCClientInitial(t *testing.T) {
	for _, tc := range []struct {
		name    string
		version uint32
		packet  string
	}{
		{"RFC9001", dissect.QUICVersion1, rfc9001ClientInitial},
		{"RFC9369", dissect.QUICVersion2, rfc9369ClientInitial},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pkt := mustHex(tc.packet)
			frame := mustHex(rfcCryptoFrame)

			// The test sealer reproduces the RFC bytes exactly.
			s := newTestSealer(t, tc.version, rfcDCID)
			if got := s.seal(rfcDCID, nil, nil, 2, 4, frame, 1162); !bytes.Equal(got, pkt) {
				t.Fatalf("sealer does not reproduce the RFC packet")
			}

			in := bytes.Clone(pkt)
			var a dissect.QUICAssembler
			if err := a.AddDatagram(in); err != nil {
				t.Fatalf("AddDatagram: %v", err)
			}
			if !bytes.Equal(in, pkt) {
				t.Fatal("AddDatagram modified its input")
			}
			if a.Packets() != 1 || a.Version() != tc.version || !bytes.Equal(a.DCID(), rfcDCID) {
				t.Fatalf("packets %d version %x dcid %x", a.Packets(), a.Version(), a.DCID())
			}
			want := frame[4:] // CRYPTO frame header: type, offset 0, 2-byte length
			if !bytes.Equal(a.Crypto(), want) {
				t.Fatalf("crypto = %x\nwant %x", a.Crypto(), want)
			}
			ch := a.ClientHelloMessage()
			if !bytes.Equal(ch, want) {
				t.Fatalf("ClientHelloMessage = %x", ch)
			}
			if sni, ok := testSNI(ch); !ok || sni != "example.com" {
				t.Fatalf("sni = %q, %v", sni, ok)
			}
		})
	}
}

func TestQUICServerInitialIsNotClient(t *testing.T) {
	var a dissect.QUICAssembler
	err := a.AddDatagram(mustHex(rfc9001ServerInitial))
	if !errors.Is(err, dissect.ErrQUICDecrypt) {
		t.Fatalf("err = %v, want ErrQUICDecrypt", err)
	}
	var qe *dissect.QUICError
	if !errors.As(err, &qe) || qe.Offset != 0 || qe.Version != dissect.QUICVersion1 {
		t.Fatalf("err = %#v", err)
	}
	if got, want := err.Error(), "quic: Initial packet failed authentication (packet at byte 0, version v1)"; got != want {
		t.Fatalf("message %q, want %q", got, want)
	}
	if got := (&dissect.QUICError{Offset: 3}).Error(); got != "quic: malformed packet (packet at byte 3)" {
		t.Fatalf("zero error message %q", got)
	}
	if a.Packets() != 0 || a.DCID() != nil || a.Version() != 0 {
		t.Fatal("failed packet changed the assembler")
	}
}

func TestQUICVersionHelpers(t *testing.T) {
	v1 := mustHex(rfc9001ClientInitial)
	for _, tc := range []struct {
		name    string
		d       []byte
		long    bool
		version uint32
		ok      bool
	}{
		{"v1", v1, true, 1, true},
		{"v2", mustHex(rfc9369ClientInitial), true, dissect.QUICVersion2, true},
		{"version negotiation", mustHex("c000000000"), false, 0, true},
		{"no fixed bit", mustHex("8000000001"), false, 1, true},
		{"short header", mustHex("4000000001"), false, 0, false},
		{"too short", v1[:4], false, 0, false},
		{"empty", nil, false, 0, false},
	} {
		if got := dissect.IsQUICLongHeader(tc.d); got != tc.long {
			t.Errorf("%s: IsQUICLongHeader = %v", tc.name, got)
		}
		v, ok := dissect.QUICVersion(tc.d)
		if v != tc.version || ok != tc.ok {
			t.Errorf("%s: QUICVersion = %x, %v", tc.name, v, ok)
		}
	}
	for v, want := range map[uint32]string{
		1: "v1", 0x6b3343cf: "v2", 0xff00001d: "draft-29",
		0: "0x00000000", 0xfaceb002: "0xfaceb002", 0x709a50c4: "0x709a50c4",
	} {
		if got := dissect.QUICVersionString(v); got != want {
			t.Errorf("QUICVersionString(%x) = %q, want %q", v, got, want)
		}
	}
}

// addAll feeds datagrams and fails on any error.
func addAll(t *testing.T, a *dissect.QUICAssembler, ds ...[]byte) {
	t.Helper()
	for i, d := range ds {
		if err := a.AddDatagram(d); err != nil {
			t.Fatalf("datagram %d: %v", i, err)
		}
	}
}

func TestQUICSplitClientHello(t *testing.T) {
	for _, version := range []uint32{dissect.QUICVersion1, dissect.QUICVersion2, dissect.QUICVersionDraft29} {
		t.Run(dissect.QUICVersionString(version), func(t *testing.T) {
			dcid := mustHex("0011223344556677")
			scid := mustHex("a1a2a3a4")
			ch := testClientHello("mask.icloud.com", 1250) // ~1.3 KB: two packets
			s := newTestSealer(t, version, dcid)
			cut := 1100
			p0 := s.seal(dcid, scid, nil, 0, 4, cryptoFrame(0, ch[:cut]), 1162)
			p1 := s.seal(dcid, scid, nil, 1, 4, cryptoFrame(cut, ch[cut:]), 1162)

			var a dissect.QUICAssembler
			addAll(t, &a, p0)
			if a.ClientHelloMessage() != nil || len(a.Crypto()) != cut {
				t.Fatalf("after first packet: crypto %d bytes, hello %v", len(a.Crypto()), a.ClientHelloMessage() != nil)
			}
			addAll(t, &a, p1)
			if !bytes.Equal(a.ClientHelloMessage(), ch) || a.Packets() != 2 || a.Version() != version {
				t.Fatalf("hello complete %v, packets %d", a.ClientHelloMessage() != nil, a.Packets())
			}
			if sni, _ := testSNI(a.ClientHelloMessage()); sni != "mask.icloud.com" {
				t.Fatalf("sni %q", sni)
			}
		})
	}
}

func TestQUICReorderedAndDuplicateCrypto(t *testing.T) {
	dcid := mustHex("c0ffee00c0ffee00")
	ch := testClientHello("gateway.icloud.com", 1500)
	s := newTestSealer(t, dissect.QUICVersion1, dcid)
	a1, a2, a3 := ch[:500], ch[500:1000], ch[1000:]

	// Chrome-style: several CRYPTO frames in reverse order, with PING and
	// PADDING between them, and an ACK frame.
	var mixed []byte
	mixed = append(mixed, cryptoFrame(1000, a3[:200])...)
	mixed = append(mixed, 0x01, 0x00, 0x00)
	mixed = append(mixed, cryptoFrame(500, a2)...)
	mixed = append(mixed, 0x02, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00) // ACK with one extra range
	mixed = append(mixed, cryptoFrame(0, a1[:100])...)

	pkts := [][]byte{
		s.seal(dcid, nil, nil, 0, 1, cryptoFrame(1200, ch[1200:]), 1162), // tail first
		s.seal(dcid, nil, nil, 1, 2, mixed, 1162),
		s.seal(dcid, nil, nil, 2, 4, cryptoFrame(1000, a3[:200]), 1162), // duplicate
		s.seal(dcid, nil, nil, 3, 4, cryptoFrame(50, a1[50:]), 1162),    // overlapping
	}
	var a dissect.QUICAssembler
	addAll(t, &a, pkts[0], pkts[1], pkts[2])
	if len(a.Crypto()) != 100 || a.ClientHelloMessage() != nil {
		t.Fatalf("crypto %d bytes before the gap is filled", len(a.Crypto()))
	}
	addAll(t, &a, pkts[3])
	if !bytes.Equal(a.Crypto(), ch) || !bytes.Equal(a.ClientHelloMessage(), ch) {
		t.Fatalf("crypto %d bytes, want %d", len(a.Crypto()), len(ch))
	}
	// A full retransmission changes nothing.
	addAll(t, &a, s.seal(dcid, nil, nil, 4, 4, cryptoFrame(0, ch), 1162))
	if !bytes.Equal(a.Crypto(), ch) || a.Packets() != 5 {
		t.Fatalf("after retransmission: %d bytes, %d packets", len(a.Crypto()), a.Packets())
	}
}

func TestQUICCoalesced(t *testing.T) {
	dcid := mustHex("0102030405060708")
	s := newTestSealer(t, dissect.QUICVersion1, dcid)
	frame := mustHex(rfcCryptoFrame)
	initial := s.seal(dcid, nil, mustHex("aabbcc"), 0, 2, frame, 0)

	// A Handshake packet (type 2) and a 0-RTT packet (type 1), whose
	// contents the dissector must skip by their Length fields.
	other := func(typ byte, n int) []byte {
		p := []byte{0xc0 | typ<<4 | 1, 0, 0, 0, 1, 8}
		p = append(p, dcid...)
		p = append(p, 0)
		p = append(p, testVarint(uint64(n), 2)...)
		return append(p, bytes.Repeat([]byte{0x5a}, n)...)
	}
	var d []byte
	d = append(d, other(1, 60)...)
	d = append(d, initial...)
	d = append(d, other(2, 40)...)
	d = append(d, make([]byte, 300)...) // datagram padding
	var a dissect.QUICAssembler
	addAll(t, &a, d)
	if a.Packets() != 1 || !bytes.Equal(a.ClientHelloMessage(), frame[4:]) {
		t.Fatalf("packets %d, hello %v", a.Packets(), a.ClientHelloMessage() != nil)
	}

	// Two Initials coalesced, each with half of the ClientHello, then a
	// short-header packet.
	var a2 dissect.QUICAssembler
	d = append(s.seal(dcid, nil, nil, 0, 4, cryptoFrame(0, frame[4:100]), 0),
		s.seal(dcid, nil, nil, 1, 4, cryptoFrame(96, frame[100:]), 0)...)
	d = append(d, 0x40, 1, 2, 3, 4, 5, 6, 7, 8, 9)
	addAll(t, &a2, d)
	if a2.Packets() != 2 || !bytes.Equal(a2.ClientHelloMessage(), frame[4:]) {
		t.Fatalf("two coalesced: packets %d", a2.Packets())
	}
}

func TestQUICKeysStayWithOriginalDCID(t *testing.T) {
	orig := mustHex("1111111111111111")
	serverCID := mustHex("22222222")
	s := newTestSealer(t, dissect.QUICVersion2, orig)
	ch := testClientHello("api.apple-cloudkit.com", 1300)
	var a dissect.QUICAssembler
	addAll(t, &a,
		s.seal(orig, nil, nil, 0, 4, cryptoFrame(0, ch[:1000]), 1162),
		// After the server's Initial the client addresses the server's
		// connection ID but keeps the original keys.
		s.seal(serverCID, nil, nil, 1, 4, cryptoFrame(1000, ch[1000:]), 1162),
		s.seal(serverCID, nil, nil, 2, 4, []byte{0x02, 0, 0, 0, 0}, 1162),
	)
	if a.Packets() != 3 || !bytes.Equal(a.DCID(), orig) || !bytes.Equal(a.ClientHelloMessage(), ch) {
		t.Fatalf("packets %d dcid %x hello %v", a.Packets(), a.DCID(), a.ClientHelloMessage() != nil)
	}
}

func TestQUICRetry(t *testing.T) {
	first := mustHex("1111111111111111")
	retried := mustHex("3333333333333333aa")
	ch := testClientHello("init.push.apple.com", 0)
	s1 := newTestSealer(t, dissect.QUICVersion1, first)
	s2 := newTestSealer(t, dissect.QUICVersion1, retried)
	var a dissect.QUICAssembler
	addAll(t, &a, s1.seal(first, nil, nil, 0, 4, cryptoFrame(0, ch[:30]), 1162))
	// After a Retry the client uses the server's connection ID and token,
	// with keys derived from that connection ID.
	addAll(t, &a, s2.seal(retried, nil, mustHex("746f6b656e"), 1, 4, cryptoFrame(0, ch), 1162))
	if a.Packets() != 2 || !bytes.Equal(a.DCID(), retried) || !bytes.Equal(a.ClientHelloMessage(), ch) {
		t.Fatalf("packets %d dcid %x", a.Packets(), a.DCID())
	}
	// A Retry packet itself (which only servers send) is skipped.
	if err := a.AddDatagram(mustHex("f0000000010008f067a5502a4262b5746f6b656e")); err != nil {
		t.Fatalf("retry: %v", err)
	}
}

func TestQUICFrames(t *testing.T) {
	dcid := mustHex("abcdef0123456789")
	s := newTestSealer(t, dissect.QUICVersion1, dcid)
	frame := mustHex(rfcCryptoFrame)

	// CONNECTION_CLOSE (0x1c): code 0x0a, frame type 6, reason "bye".
	closeFrame := []byte{0x1c, 0x0a, 0x06, 0x03, 'b', 'y', 'e'}
	var a dissect.QUICAssembler
	addAll(t, &a, s.seal(dcid, nil, nil, 0, 4, append(append([]byte{0x03, 5, 0, 0, 0, 1, 2, 3}, frame...), closeFrame...), 0))
	if code, ok := a.ConnectionClose(); !ok || code != 0x0a {
		t.Fatalf("close = %x, %v", code, ok)
	}
	if a.ClientHelloMessage() == nil {
		t.Fatal("no hello")
	}

	// An unknown frame type stops the walk without error: later frames
	// are not used.
	var b dissect.QUICAssembler
	addAll(t, &b, s.seal(dcid, nil, nil, 0, 4, append([]byte{0x1e}, frame...), 0))
	if len(b.Crypto()) != 0 || b.Packets() != 1 {
		t.Fatalf("crypto after unknown frame: %d", len(b.Crypto()))
	}

	// Malformed frames.
	for name, payload := range map[string][]byte{
		"crypto length past end": {0x06, 0x00, 0x44, 0x00, 1, 2, 3},
		"crypto truncated":       {0x01, 0x06, 0x40},
		"ack huge range count":   {0x02, 0x01, 0x00, 0xbf, 0xff, 0xff, 0xff, 0x00, 0x01},
		"close reason too long":  {0x1c, 0x01, 0x00, 0x45, 0x00, 'x'},
	} {
		var c dissect.QUICAssembler
		pkt := s.seal(dcid, nil, nil, 0, 4, payload, 0)
		if err := c.AddDatagram(pkt); !errors.Is(err, dissect.ErrQUICFrame) {
			t.Errorf("%s: err = %v, want ErrQUICFrame", name, err)
		}
	}
}

func TestQUICLimits(t *testing.T) {
	dcid := mustHex("0000000000000001")
	s := newTestSealer(t, dissect.QUICVersion1, dcid)
	var a dissect.QUICAssembler
	for pn := uint64(0); pn < 40; pn++ {
		addAll(t, &a, s.seal(dcid, nil, nil, pn, 2, []byte{0x01}, 100))
	}
	if a.Packets() != 32 {
		t.Fatalf("packets %d, want the cap of 32", a.Packets())
	}

	// Offsets at or beyond 64 KiB are ignored; a frame crossing the limit
	// is cut there.
	var b dissect.QUICAssembler
	addAll(t, &b,
		s.seal(dcid, nil, nil, 0, 4, cryptoFrame(1<<16, []byte("past")), 0),
		s.seal(dcid, nil, nil, 1, 4, cryptoFrameAt(1<<40, []byte("far")), 0),
		s.seal(dcid, nil, nil, 2, 4, cryptoFrame(0, []byte{2, 0, 0, 1}), 0),
	)
	if len(b.Crypto()) != 4 || b.ClientHelloMessage() != nil {
		t.Fatalf("crypto %x", b.Crypto())
	}
	var c dissect.QUICAssembler
	big := bytes.Repeat([]byte{7}, 1000)
	for off := 0; off < 70000; off += len(big) {
		addAll(t, &c, s.seal(dcid, nil, nil, uint64(off/1000), 4, cryptoFrame(off, big), 0))
		if c.Packets() == 32 {
			break
		}
	}
	if len(c.Crypto()) != 32000 {
		t.Fatalf("crypto %d bytes", len(c.Crypto()))
	}

	// Connection IDs longer than 20 bytes are refused.
	long := append([]byte{0xc3, 0, 0, 0, 1, 21}, make([]byte, 60)...)
	if err := a.AddDatagram(long); !errors.Is(err, dissect.ErrQUICConnIDLen) {
		t.Fatalf("long CID: %v", err)
	}
}

func TestQUICMalformed(t *testing.T) {
	pkt := mustHex(rfc9001ClientInitial)
	tampered := bytes.Clone(pkt)
	tampered[len(tampered)-1] ^= 1
	for _, tc := range []struct {
		name string
		d    []byte
		want error
	}{
		{"empty", nil, nil},
		{"short header", mustHex("4102030405060708090a0b0c0d0e0f1011121314"), nil},
		{"zeros", make([]byte, 64), dissect.ErrQUICNotLongHeader},
		{"version negotiation", mustHex("c0000000000401020304040a0b0c0d00000001"), nil},
		{"unknown version", mustHex("c0faceb0020401020304040a0b0c0d"), dissect.ErrQUICVersion},
		{"four bytes", pkt[:4], dissect.ErrQUICTruncated},
		{"header only", pkt[:7], dissect.ErrQUICTruncated},
		{"dcid cut", pkt[:10], dissect.ErrQUICTruncated},
		{"no length", pkt[:16], dissect.ErrQUICTruncated},
		{"length past end", pkt[:len(pkt)-1], dissect.ErrQUICTruncated},
		{"no sample", mustHex("c000000001088394c8f03e51570800000401020304"), dissect.ErrQUICTruncated},
		{"token past end", mustHex("c000000001088394c8f03e515708004401"), dissect.ErrQUICTruncated},
		{"tampered", tampered, dissect.ErrQUICDecrypt},
		{"garbage after initial", append(bytes.Clone(pkt), 0xc0, 0, 0), dissect.ErrQUICTruncated},
	} {
		var a dissect.QUICAssembler
		err := a.AddDatagram(tc.d)
		if !errors.Is(err, tc.want) || (err == nil) != (tc.want == nil) {
			t.Errorf("%s: err = %v, want %v", tc.name, err, tc.want)
			continue
		}
		if err != nil && !strings.HasPrefix(err.Error(), "quic: ") {
			t.Errorf("%s: message %q", tc.name, err)
		}
	}
	// Every prefix of a real packet is handled without panic.
	for n := range pkt {
		var a dissect.QUICAssembler
		_ = a.AddDatagram(pkt[:n])
	}
}

// udpDatagram is one UDP payload from a capture.
type udpDatagram struct {
	src, dst string // address:port
	payload  []byte
}

// testCapture is one captured frame and its link type.
type testCapture = frame

// readCaptureFile reads the frames of a pcap or pcapng file.
func readCaptureFile(t testing.TB, path string) []testCapture {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out, err := readFrames(path, b)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return out
}

// readUDP returns the UDP payloads of a pcap or pcapng file in order.
func readUDP(t testing.TB, path string) []udpDatagram {
	t.Helper()
	var out []udpDatagram
	for _, c := range readCaptureFile(t, path) {
		p := gopacket.NewPacket(c.data, c.link, gopacket.DecodeOptions{Lazy: true, NoCopy: true})
		udp, _ := p.Layer(layers.LayerTypeUDP).(*layers.UDP)
		nl := p.NetworkLayer()
		if udp == nil || nl == nil {
			continue
		}
		fl := nl.NetworkFlow()
		out = append(out, udpDatagram{
			src:     fl.Src().String() + ":" + strconv.Itoa(int(udp.SrcPort)),
			dst:     fl.Dst().String() + ":" + strconv.Itoa(int(udp.DstPort)),
			payload: udp.Payload,
		})
	}
	return out
}

// testIsInitial reports whether d starts with an Initial packet of a
// version the dissector supports.
func testIsInitial(d []byte) bool {
	if !dissect.IsQUICLongHeader(d) {
		return false
	}
	v, _ := dissect.QUICVersion(d)
	switch v {
	case dissect.QUICVersion1, dissect.QUICVersionDraft29:
		return d[0]&0x30 == 0x00
	case dissect.QUICVersion2:
		return d[0]&0x30 == 0x10
	}
	return false
}

// quicFlow is what one assembler made of one client's datagrams.
type quicFlow struct {
	client, server string
	asm            dissect.QUICAssembler
	datagrams      int
	errs           []error
}

// quicFlows groups a capture's UDP datagrams by flow, takes the sender of
// the first Initial as the client, and feeds the client's datagrams to one
// assembler per flow.
func quicFlows(t testing.TB, path string) []*quicFlow {
	t.Helper()
	byKey := map[string]*quicFlow{}
	var order []*quicFlow
	for _, d := range readUDP(t, path) {
		key := d.src + "|" + d.dst
		if d.dst < d.src {
			key = d.dst + "|" + d.src
		}
		fl := byKey[key]
		if fl == nil {
			if !testIsInitial(d.payload) {
				continue
			}
			fl = &quicFlow{client: d.src, server: d.dst}
			byKey[key] = fl
			order = append(order, fl)
		}
		if d.src != fl.client {
			continue
		}
		fl.datagrams++
		if err := fl.asm.AddDatagram(d.payload); err != nil {
			fl.errs = append(fl.errs, err)
		}
	}
	return order
}

// ourSNIs returns the sorted, distinct SNIs of the complete ClientHellos
// ("" for a ClientHello without one) and how many ClientHellos there were.
func ourSNIs(t testing.TB, flows []*quicFlow) ([]string, int) {
	t.Helper()
	var out []string
	n := 0
	for _, fl := range flows {
		ch := fl.asm.ClientHelloMessage()
		if ch == nil {
			continue
		}
		n++
		sni, ok := testSNI(ch)
		if !ok {
			t.Errorf("%s: malformed ClientHello", fl.client)
		}
		out = append(out, sni)
	}
	slices.Sort(out)
	return slices.Compact(out), n
}

func TestQUICCaptures(t *testing.T) {
	for _, tc := range []struct {
		file     string
		version  uint32
		snis     []string
		hellos   int
		minPkts  int // Initial packets decrypted in the first flow
		helloLen int // length of the first flow's ClientHello, 0 to skip
	}{
		{"sv-ja4_quic.pcap", dissect.QUICVersion1, []string{"1.bp.blogspot.com", "2.bp.blogspot.com",
			"4.bp.blogspot.com", "apis.google.com", "fonts.gstatic.com", "socpuppet.blogspot.com",
			"www.blogger.com", "www.google.com", "www.gstatic.com"}, 11, 1, 0},
		{"ndpi-quic_frags_ch_multi_pkt.pcapng", dissect.QUICVersion1, []string{""}, 1, 2, 1578},
		{"zeek-quic-chromium115.pcap", dissect.QUICVersion1, []string{"api.cirrus-ci.com"}, 1, 1, 0},
		{"zeek-quic-v2_http3.pcap", dissect.QUICVersion2, []string{""}, 1, 2, 0},
		{"ndpi-quic_v2-sll-ipv6.pcapng", dissect.QUICVersion2, []string{"test"}, 1, 1, 0},
		{"ndpi-quic_29.pcap", dissect.QUICVersionDraft29, []string{"localhost"}, 1, 1, 0},
		{"sv-quic_ack3-apple_tether_sni.pcap", dissect.QUICVersion1, []string{"tether.edge.apple"}, 1, 1, 0},
		{"ndpi-sites-guzzoni_quic.pcapng", dissect.QUICVersion1, []string{"classroom.google.com",
			"hangouts.google.com", "plus.google.com", "www.threads.net"}, 4, 1, 0},
	} {
		t.Run(tc.file, func(t *testing.T) {
			flows := quicFlows(t, sharedtest.Path(t, "pcaps/"+tc.file))
			if len(flows) == 0 {
				t.Fatal("no QUIC flow found")
			}
			snis, hellos := ourSNIs(t, flows)
			if !slices.Equal(snis, tc.snis) || hellos != tc.hellos {
				t.Errorf("SNIs %q (%d ClientHellos), want %q (%d)", snis, hellos, tc.snis, tc.hellos)
			}
			fl := flows[0]
			if fl.asm.Version() != tc.version {
				t.Errorf("version %s, want %s", dissect.QUICVersionString(fl.asm.Version()), dissect.QUICVersionString(tc.version))
			}
			if fl.asm.Packets() < tc.minPkts {
				t.Errorf("decrypted %d Initial packets, want at least %d", fl.asm.Packets(), tc.minPkts)
			}
			if tc.helloLen != 0 && len(fl.asm.ClientHelloMessage()) != tc.helloLen {
				t.Errorf("ClientHello %d bytes, want %d", len(fl.asm.ClientHelloMessage()), tc.helloLen)
			}
			for _, fl := range flows {
				if len(fl.asm.DCID()) == 0 && fl.asm.Packets() > 0 {
					t.Errorf("%s: no DCID", fl.client)
				}
				t.Logf("%s -> %s: %s, %d datagrams, %d Initials decrypted, dcid %x, crypto %d bytes, errors %v",
					fl.client, fl.server, dissect.QUICVersionString(fl.asm.Version()), fl.datagrams,
					fl.asm.Packets(), fl.asm.DCID(), len(fl.asm.Crypto()), fl.errs)
			}
		})
	}
}

// tsharkSNIs returns the sorted, distinct SNIs tshark finds in QUIC
// ClientHellos, and how many ClientHellos it printed.
func tsharkSNIs(t *testing.T, path string) ([]string, int) {
	t.Helper()
	out, err := exec.Command("tshark", "-r", path, "-Y", "quic && tls.handshake.type==1",
		"-T", "fields", "-e", "tls.handshake.extensions_server_name").Output()
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	var snis []string
	n := 0
	for line := range strings.Lines(string(out)) {
		n++
		snis = append(snis, strings.TrimRight(line, "\r\n"))
	}
	slices.Sort(snis)
	return slices.Compact(snis), n
}

// TestQUICMatchesTshark checks, for every shared capture, that the set of
// QUIC ClientHello SNIs equals what tshark (which decrypts Initials
// itself) reports.
func TestQUICMatchesTshark(t *testing.T) {
	if _, err := exec.LookPath("tshark"); err != nil {
		t.Skip("tshark not installed")
	}
	if testing.Short() {
		t.Skip("runs tshark over every capture")
	}
	for _, path := range sharedtest.Pcaps(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			got, gotN := ourSNIs(t, quicFlows(t, path))
			// A QUIC ClientHello travels in a long-header packet, which
			// leads its datagram: without such a datagram tshark cannot
			// find one either, so spare the run.
			if !slices.ContainsFunc(readUDP(t, path), func(d udpDatagram) bool {
				return len(d.payload) > 0 && d.payload[0]&0x80 != 0
			}) {
				if gotN != 0 {
					t.Errorf("%d ClientHellos without any long-header datagram", gotN)
				}
				return
			}
			want, wantN := tsharkSNIs(t, path)
			if !slices.Equal(got, want) {
				t.Errorf("SNIs %q, tshark %q", got, want)
			}
			if gotN != wantN {
				t.Logf("%d ClientHellos, tshark printed %d", gotN, wantN)
			}
		})
	}
}

// checkAssembler checks the invariants that hold whatever was fed.
func checkAssembler(t *testing.T, a *dissect.QUICAssembler, errs ...error) {
	t.Helper()
	for _, err := range errs {
		var qe *dissect.QUICError
		if err != nil && !errors.As(err, &qe) {
			t.Fatalf("error %v is not a *QUICError", err)
		}
	}
	if a.Packets() > 32 {
		t.Fatalf("%d packets decrypted", a.Packets())
	}
	if len(a.Crypto()) > 64<<10 {
		t.Fatalf("%d crypto bytes", len(a.Crypto()))
	}
	if len(a.DCID()) > 20 || (a.Packets() == 0) != (a.Version() == 0) {
		t.Fatalf("dcid %x version %x packets %d", a.DCID(), a.Version(), a.Packets())
	}
	if ch := a.ClientHelloMessage(); ch != nil {
		n := int(ch[1])<<16 | int(ch[2])<<8 | int(ch[3])
		if ch[0] != 1 || len(ch) != 4+n || !bytes.HasPrefix(a.Crypto(), ch) {
			t.Fatalf("bad ClientHelloMessage %x", ch[:4])
		}
	}
}

// FuzzQUICAssembler feeds one or two raw datagrams.
func FuzzQUICAssembler(f *testing.F) {
	v1 := mustHex(rfc9001ClientInitial)
	dcid := mustHex("0011223344556677")
	s := newTestSealer(f, dissect.QUICVersion1, dcid)
	ch := testClientHello("mask.icloud.com", 1250)
	f.Add(v1, []byte{})
	f.Add(mustHex(rfc9369ClientInitial), mustHex(rfc9001ServerInitial))
	f.Add(s.seal(dcid, nil, nil, 0, 4, cryptoFrame(0, ch[:1100]), 1162),
		s.seal(mustHex("a1a2a3a4"), nil, nil, 1, 2, cryptoFrame(1100, ch[1100:]), 1162))
	f.Add(append(bytes.Clone(v1[:100]), v1...), v1[:30])
	f.Add(mustHex("c0000000000401020304040a0b0c0d00000001"), mustHex("4102030405"))
	f.Fuzz(func(t *testing.T, d1, d2 []byte) {
		var a dissect.QUICAssembler
		dissect.IsQUICLongHeader(d1)
		dissect.QUICVersion(d1)
		e1 := a.AddDatagram(d1)
		e2 := a.AddDatagram(d2)
		checkAssembler(t, &a, e1, e2)
	})
}

// FuzzQUICFrames seals fuzzed plaintext into valid Initial packets, to
// reach the frame walker and the CRYPTO reassembly behind the AEAD.
func FuzzQUICFrames(f *testing.F) {
	frame := mustHex(rfcCryptoFrame)
	ch := testClientHello("gateway.icloud.com", 600)
	f.Add(frame, []byte{})
	f.Add(cryptoFrame(300, ch[300:]), append(cryptoFrame(0, ch[:310]), 0x01, 0x00))
	f.Add([]byte{0x02, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00, 0x01, 0x01}, []byte{0x1c, 0x0a, 0x06, 0x03, 'b', 'y', 'e'})
	f.Add([]byte{0x03, 5, 0, 0, 0, 1, 2, 3, 0x06, 0x00, 0x04, 1, 0, 0, 0}, []byte{0x1e, 0x06})
	dcid := mustHex("8394c8f03e515708")
	s := newTestSealer(f, dissect.QUICVersion1, dcid)
	f.Fuzz(func(t *testing.T, p1, p2 []byte) {
		if len(p1) > 4000 || len(p2) > 4000 {
			return
		}
		var a dissect.QUICAssembler
		e1 := a.AddDatagram(s.seal(dcid, nil, nil, 0, 4, bytes.Clone(p1), 0))
		e2 := a.AddDatagram(s.seal(mustHex("0102"), nil, nil, 1, 2, bytes.Clone(p2), 0))
		checkAssembler(t, &a, e1, e2)
		if a.Packets() != 2 {
			t.Fatalf("decrypted %d of 2 packets (%v, %v)", a.Packets(), e1, e2)
		}
	})
}

// firstClientInitial returns the first client datagram of a capture.
func firstClientInitial(b *testing.B, file string) []byte {
	b.Helper()
	for _, d := range readUDP(b, sharedtest.Path(b, "pcaps/"+file)) {
		if testIsInitial(d.payload) {
			return d.payload
		}
	}
	b.Fatalf("%s: no Initial", file)
	return nil
}

// BenchmarkQUICAddDatagram measures a fresh assembler taking a real client
// Initial datagram: key derivation, header protection, decryption, frames.
func BenchmarkQUICAddDatagram(b *testing.B) {
	for _, file := range []string{"zeek-quic-chromium115.pcap", "sv-quic_ack3-apple_tether_sni.pcap", "zeek-quic-v2_http3.pcap"} {
		b.Run(file, func(b *testing.B) {
			d := firstClientInitial(b, file)
			b.ReportAllocs()
			b.SetBytes(int64(len(d)))
			for b.Loop() {
				var a dissect.QUICAssembler
				if err := a.AddDatagram(d); err != nil || a.ClientHelloMessage() == nil {
					b.Fatalf("err %v, hello %v", err, a.ClientHelloMessage() != nil)
				}
			}
		})
	}
}

// BenchmarkQUICSplitClientHello measures a ClientHello split over two
// Initial packets (the post-quantum case), including key derivation.
func BenchmarkQUICSplitClientHello(b *testing.B) {
	d := readUDP(b, sharedtest.Path(b, "pcaps/ndpi-quic_frags_ch_multi_pkt.pcapng"))
	b.ReportAllocs()
	for b.Loop() {
		var a dissect.QUICAssembler
		_ = a.AddDatagram(d[0].payload)
		_ = a.AddDatagram(d[1].payload)
		if a.ClientHelloMessage() == nil {
			b.Fatal("no hello")
		}
	}
}

func TestQUICCompatibleVersionNegotiation(t *testing.T) {
	orig := mustHex("4444444444444444")
	serverCID := mustHex("55555555")
	ch := testClientHello("mask.icloud.com", 1300)
	s1 := newTestSealer(t, dissect.QUICVersion1, orig)
	s2 := newTestSealer(t, dissect.QUICVersion2, orig)
	var a dissect.QUICAssembler
	addAll(t, &a,
		s1.seal(orig, nil, nil, 0, 4, cryptoFrame(0, ch[:1000]), 1162),
		// Having learnt that the server chose version 2, the client sends
		// version 2 Initials to the server's connection ID, with version 2
		// keys from its original connection ID.
		s2.seal(serverCID, nil, nil, 1, 4, cryptoFrame(1000, ch[1000:]), 1162),
	)
	if a.Packets() != 2 || a.Version() != dissect.QUICVersion1 || !bytes.Equal(a.DCID(), orig) || !bytes.Equal(a.ClientHelloMessage(), ch) {
		t.Fatalf("packets %d version %x dcid %x", a.Packets(), a.Version(), a.DCID())
	}
}
