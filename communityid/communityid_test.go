package communityid_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"orchard/capture"
	"orchard/communityid"
	"orchard/decode"
	"orchard/internal/sharedtest"
)

// The specification's README table, default seed.
func TestSpecTable(t *testing.T) {
	a4, b4 := netip.MustParseAddr("1.2.3.4"), netip.MustParseAddr("5.6.7.8")
	a6, b6 := netip.MustParseAddr("fe80:0001:0203:0405:0607:0809:0A0B:0C0D"), netip.MustParseAddr("fe80:1011:1213:1415:1617:1819:1A1B:1C1D")
	tests := []struct {
		name string
		t    communityid.Tuple
		want string
	}{
		{"tcp out", communityid.Tuple{Src: a4, Dst: b4, SrcPort: 1122, DstPort: 3344, Proto: 6}, "1:wCb3OG7yAFWelaUydu0D+125CLM="},
		{"tcp back", communityid.Tuple{Src: b4, Dst: a4, SrcPort: 3344, DstPort: 1122, Proto: 6}, "1:wCb3OG7yAFWelaUydu0D+125CLM="},
		{"udp", communityid.Tuple{Src: a4, Dst: b4, SrcPort: 1122, DstPort: 3344, Proto: 17}, "1:0Mu9InQx6z4ZiCZM/7HXi2WMhOg="},
		{"sctp", communityid.Tuple{Src: b4, Dst: a4, SrcPort: 3344, DstPort: 1122, Proto: 132}, "1:EKt4MsxuyaE6mL+hmrEkQ9csDD8="},
		{"echo request", communityid.ICMP(a4, b4, 1, 8, 0), "1:crodRHL2FEsHjbv3UkRrfbs4bZ0="},
		{"echo reply", communityid.ICMP(b4, a4, 1, 0, 0), "1:crodRHL2FEsHjbv3UkRrfbs4bZ0="},
		{"time exceeded", communityid.ICMP(a4, b4, 1, 11, 0), "1:f/YiSyWqczrTgfUCZlBUnvHRcPk="},
		{"icmp6 echo request", communityid.ICMP(a6, b6, 58, 128, 0), "1:0bf7hyMJUwt3fMED7z8LIfRpBeo="},
		{"icmp6 echo reply", communityid.ICMP(b6, a6, 58, 129, 0), "1:0bf7hyMJUwt3fMED7z8LIfRpBeo="},
		{"icmp6 one way", communityid.ICMP(a6, b6, 58, 146, 0), "1:fYC8+pz24E+EhANP1EZhpX0Dw10="},
		{"rsvp", communityid.Tuple{Src: a4, Dst: b4, Proto: 46, SrcPort: 9, DstPort: 7}, "1:ikv3kmf89luf73WPz1jOs49S768="},
		{"rsvp back", communityid.Tuple{Src: b4, Dst: a4, Proto: 46}, "1:ikv3kmf89luf73WPz1jOs49S768="},
		{"rsvp v6", communityid.Tuple{Src: b6, Dst: a6, Proto: 46}, "1:wQ/2mwrnXP4lmJcHdGL5ePjR+e0="},
		{"v4-mapped", communityid.Tuple{Src: netip.AddrFrom16(a4.As16()), Dst: b4, SrcPort: 1122, DstPort: 3344, Proto: 6}, "1:wCb3OG7yAFWelaUydu0D+125CLM="},
		{"mixed families", communityid.Tuple{Src: a4, Dst: b6, Proto: 6}, ""},
		{"invalid", communityid.Tuple{Dst: b4, Proto: 6}, ""},
	}
	for _, tc := range tests {
		if got := communityid.String(tc.t); got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
}

type vector struct {
	Proto       uint8   `json:"proto"`
	Saddr       string  `json:"saddr"`
	Daddr       string  `json:"daddr"`
	Sport       *uint16 `json:"sport"`
	Dport       *uint16 `json:"dport"`
	CommunityID string  `json:"communityid"`
}

func (v *vector) tuple(t *testing.T) communityid.Tuple {
	tu := communityid.Tuple{Src: netip.MustParseAddr(v.Saddr), Dst: netip.MustParseAddr(v.Daddr), Proto: v.Proto}
	if v.Sport != nil {
		tu.SrcPort = *v.Sport
	}
	if v.Dport != nil {
		tu.DstPort = *v.Dport
	}
	if v.Proto == communityid.ProtoICMP || v.Proto == communityid.ProtoICMPv6 {
		// The baseline lists ICMP ports already mapped: a type without a
		// counterpart is one way, with its code as the second port.
		m := communityid.ICMP(tu.Src, tu.Dst, v.Proto, uint8(tu.SrcPort), uint8(tu.DstPort))
		tu.OneWay = m.OneWay
	}
	return tu
}

func loadVectors(t *testing.T, name string) []vector {
	t.Helper()
	b, err := os.ReadFile(sharedtest.Path(t, filepath.Join("reference", "community-id", "baseline", name)))
	if err != nil {
		t.Fatal(err)
	}
	var vs []vector
	if err := json.Unmarshal(b, &vs); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if len(vs) == 0 {
		t.Fatalf("%s: no vectors", name)
	}
	return vs
}

// TestBaseline checks every tuple of the specification's baseline JSON:
// seed 0, seed 1, and the hexadecimal form.
func TestBaseline(t *testing.T) {
	tests := []struct {
		file   string
		seed   uint16
		encode func([]byte, uint16, communityid.Tuple) []byte
	}{
		{"baseline_deflt.json", 0, communityid.Append},
		{"baseline_seed1.json", 1, communityid.Append},
		{"baseline_nob64.json", 0, communityid.AppendHex},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			for i, v := range loadVectors(t, tc.file) {
				if got := string(tc.encode(nil, tc.seed, v.tuple(t))); got != v.CommunityID {
					t.Errorf("vector %d %+v: got %s, want %s", i, v, got, v.CommunityID)
				}
			}
		})
	}
}

// tupleOf is the Community ID tuple of a decoded packet: TCP and UDP by
// their ports, ICMP by type and code; false for what orchard does not
// decode ports of (SCTP and other protocols) and for later fragments.
func tupleOf(p *decode.Packet) (communityid.Tuple, bool) {
	switch p.Proto {
	case decode.ProtoTCP, decode.ProtoUDP:
		if p.Fragment && p.SrcPort == 0 && p.DstPort == 0 {
			return communityid.Tuple{}, false
		}
		return communityid.Tuple{Src: p.Src, Dst: p.Dst, SrcPort: p.SrcPort, DstPort: p.DstPort, Proto: p.Proto}, true
	case decode.ProtoICMP, decode.ProtoICMPv6:
		if p.Fragment {
			return communityid.Tuple{}, false
		}
		return communityid.ICMP(p.Src, p.Dst, p.Proto, p.ICMPType, p.ICMPCode), true
	}
	return communityid.Tuple{}, false
}

// eachPacket decodes every frame of a capture with orchard's reader and
// decoder and calls fn with its 1-based number.
func eachPacket(t *testing.T, path string, fn func(n int, p *decode.Packet)) {
	t.Helper()
	f, err := capture.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	d := decode.NewDecoder()
	var cp capture.Packet
	for n := 1; ; n++ {
		err := f.Next(&cp)
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Logf("%s: %v", path, err)
			return
		}
		var p decode.Packet
		if d.Decode(cp.LinkType, cp.Data, &p) != nil || p.IPVersion == 0 {
			continue
		}
		fn(n, &p)
	}
}

// TestBaselinePcaps decodes the specification's captures and checks each
// packet's ID against the baseline entry for its tuple.
func TestBaselinePcaps(t *testing.T) {
	want := map[string]string{}
	for _, v := range loadVectors(t, "baseline_deflt.json") {
		if v.Sport == nil {
			continue
		}
		want[v.Saddr+" "+v.Daddr+" "+strconv.Itoa(int(v.Proto))+" "+strconv.Itoa(int(*v.Sport))+" "+strconv.Itoa(int(*v.Dport))] = v.CommunityID
	}
	pcaps, _ := filepath.Glob(filepath.Join(sharedtest.Dir(t), "reference", "community-id", "pcaps", "*.pcap"))
	checked := 0
	for _, path := range pcaps {
		eachPacket(t, path, func(n int, p *decode.Packet) {
			tu, ok := tupleOf(p)
			if !ok {
				return
			}
			k := tu.Src.String() + " " + tu.Dst.String() + " " + strconv.Itoa(int(tu.Proto)) + " " + strconv.Itoa(int(tu.SrcPort)) + " " + strconv.Itoa(int(tu.DstPort))
			w, ok := want[k]
			if !ok {
				t.Errorf("%s frame %d: tuple %s not in the baseline", filepath.Base(path), n, k)
				return
			}
			if got := communityid.String(tu); got != w {
				t.Errorf("%s frame %d (%s): got %s, want %s", filepath.Base(path), n, k, got, w)
			}
			checked++
		})
	}
	if checked < 20 {
		t.Fatalf("only %d packets checked", checked)
	}
	t.Logf("%d packets of %d captures match the baseline", checked, len(pcaps))
}

// tsharkIDs returns tshark's Community ID of each frame ("" when it has
// none), or skips when tshark lacks the dissector.
func tsharkIDs(t *testing.T, path string) map[int]string {
	t.Helper()
	out, err := exec.Command("tshark", "-n", "-r", path, "--enable-protocol", "communityid",
		"-T", "fields", "-E", "occurrence=l", "-e", "frame.number", "-e", "communityid").Output()
	if err != nil {
		t.Skipf("tshark --enable-protocol communityid: %v", err)
	}
	ids := map[int]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		num, id, _ := strings.Cut(line, "\t")
		n, err := strconv.Atoi(num)
		if err != nil {
			continue
		}
		ids[n] = id
	}
	return ids
}

// TestTshark compares every TCP, UDP and ICMP packet of the shared
// captures, and of the specification's, with tshark's communityid
// dissector. The captures are merged into one file (mergecap) so tshark
// starts once.
func TestTshark(t *testing.T) {
	for _, tool := range []string{"tshark", "mergecap"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skip(tool + " not installed")
		}
	}
	paths := sharedtest.Pcaps(t)
	ref, _ := filepath.Glob(filepath.Join(sharedtest.Dir(t), "reference", "community-id", "pcaps", "*.pcap"))
	paths = append(paths, ref...)
	all := filepath.Join(t.TempDir(), "all.pcapng")
	if out, err := exec.Command("mergecap", append([]string{"-a", "-F", "pcapng", "-w", all}, paths...)...).CombinedOutput(); err != nil {
		t.Fatalf("mergecap: %v\n%s", err, out)
	}
	ids := tsharkIDs(t, all)
	checked, skipped := 0, 0
	eachPacket(t, all, func(n int, p *decode.Packet) {
		tu, ok := tupleOf(p)
		want := ids[n]
		if !ok || want == "" || p.Fragment || p.Inner.Valid {
			// tshark hashes a fragmented datagram at its last fragment,
			// and an ICMP error by the packet it quotes.
			skipped++
			return
		}
		if got := communityid.String(tu); got != want {
			t.Errorf("frame %d (%v:%d → %v:%d proto %d): got %s, tshark %s", n, p.Src, p.SrcPort, p.Dst, p.DstPort, p.Proto, got, want)
			return
		}
		checked++
	})
	if checked < 1000 {
		t.Fatalf("only %d packets checked", checked)
	}
	t.Logf("%d packets of %d captures agree with tshark (%d without a comparable ID)", checked, len(paths), skipped)
}

func TestAppendAllocs(t *testing.T) {
	tu := communityid.Tuple{Src: netip.MustParseAddr("2001:db8::1"), Dst: netip.MustParseAddr("2001:db8::2"), SrcPort: 51000, DstPort: 443, Proto: 6}
	buf := make([]byte, 0, communityid.HexLen)
	if n := testing.AllocsPerRun(100, func() { buf = communityid.Append(buf[:0], 0, tu) }); n != 0 {
		t.Errorf("Append allocates %.1f times", n)
	}
	if len(buf) != communityid.Len {
		t.Errorf("len %d, want %d", len(buf), communityid.Len)
	}
}

func BenchmarkAppend(b *testing.B) {
	tu := communityid.Tuple{Src: netip.MustParseAddr("10.20.30.41"), Dst: netip.MustParseAddr("17.57.144.84"), SrcPort: 51000, DstPort: 5223, Proto: 6}
	buf := make([]byte, 0, communityid.Len)
	b.ReportAllocs()
	for b.Loop() {
		buf = communityid.Append(buf[:0], 0, tu)
	}
}

// FuzzAppend checks, on any tuple, that the ID is the same both ways
// (unless one way), well formed, and agrees with the hexadecimal form.
func FuzzAppend(f *testing.F) {
	f.Add([]byte{1, 2, 3, 4}, []byte{5, 6, 7, 8}, uint16(1122), uint16(3344), uint8(6), uint16(0), false)
	f.Add(bytes.Repeat([]byte{0xfe}, 16), bytes.Repeat([]byte{1}, 16), uint16(0), uint16(0), uint8(58), uint16(7), true)
	f.Add([]byte{1, 2, 3, 4}, bytes.Repeat([]byte{1}, 16), uint16(1), uint16(2), uint8(17), uint16(1), false)
	f.Add([]byte{}, []byte{9}, uint16(1), uint16(2), uint8(46), uint16(1), false)
	f.Fuzz(func(t *testing.T, a, b []byte, sp, dp uint16, proto uint8, seed uint16, oneWay bool) {
		src, _ := netip.AddrFromSlice(a)
		dst, _ := netip.AddrFromSlice(b)
		tu := communityid.Tuple{Src: src, Dst: dst, SrcPort: sp, DstPort: dp, Proto: proto, OneWay: oneWay}
		id := communityid.Append(nil, seed, tu)
		hex := communityid.AppendHex(nil, seed, tu)
		if len(id) == 0 {
			if len(hex) != 0 {
				t.Fatalf("hex %q for an unhashable tuple", hex)
			}
			return
		}
		if len(id) != communityid.Len || len(hex) != communityid.HexLen || string(id[:2]) != "1:" {
			t.Fatalf("malformed %q / %q", id, hex)
		}
		d, err := base64.StdEncoding.DecodeString(string(id[2:]))
		if err != nil || len(d) != 20 {
			t.Fatalf("%q: %v", id, err)
		}
		sum, _ := communityid.Sum(seed, tu)
		if !bytes.Equal(d, sum[:]) {
			t.Fatalf("Append and Sum disagree")
		}
		if !oneWay {
			back := tu
			back.Src, back.Dst, back.SrcPort, back.DstPort = tu.Dst, tu.Src, tu.DstPort, tu.SrcPort
			if got := communityid.Append(nil, seed, back); !bytes.Equal(got, id) {
				t.Fatalf("%q one way, %q back", id, got)
			}
		}
	})
}
