package dissect_test

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"orchard/dissect"
	"orchard/internal/sharedtest"
)

// ntpPacket builds a 48-byte NTP header.
func ntpPacket(leap, version, mode, stratum uint8, refid string, ref, xmt uint64) []byte {
	b := make([]byte, 48)
	b[0] = leap<<6 | version<<3 | mode
	b[1] = stratum
	b[2] = 6    // poll 64 s
	b[3] = 0xe9 // precision -23
	copy(b[12:16], refid)
	binary.BigEndian.PutUint64(b[16:], ref)
	binary.BigEndian.PutUint64(b[40:], xmt)
	return b
}

func TestParseNTPGenerated(t *testing.T) {
	tests := []struct {
		name     string
		pkt      []byte
		wantErr  error
		mode     string
		stratum  uint8
		refid    string
		kiss     string
		transmit time.Time
	}{
		{name: "kiss DENY", pkt: ntpPacket(3, 4, 4, 0, "DENY", 0, 0), mode: "server", refid: "DENY", kiss: "DENY"},
		{name: "kiss RSTR", pkt: ntpPacket(3, 4, 4, 0, "RSTR", 0, 0), mode: "server", refid: "RSTR", kiss: "RSTR"},
		{name: "kiss RATE", pkt: ntpPacket(3, 4, 4, 0, "RATE", 0, 0), mode: "server", refid: "RATE", kiss: "RATE"},
		{name: "stratum 0 not printable", pkt: ntpPacket(3, 4, 4, 0, "\x01\x02AB", 0, 0), mode: "server"},
		{name: "client zero refid", pkt: ntpPacket(0, 4, 3, 0, "", 0, 0xdbd7_5ba8_77c4_2000), mode: "client",
			transmit: time.Date(2016, 11, 16, 22, 26, 48, 467836380, time.UTC)},
		{name: "stratum 1 PPS padded", pkt: ntpPacket(0, 4, 4, 1, "PPS\x00", 0, 0), mode: "server", stratum: 1, refid: "PPS"},
		{name: "stratum 1 GPS space padded", pkt: ntpPacket(0, 3, 4, 1, "GPS ", 0, 0), mode: "server", stratum: 1, refid: "GPS"},
		{name: "stratum 1 binary refid", pkt: ntpPacket(0, 4, 4, 1, "\x00\xffA\x1b", 0, 0), mode: "server", stratum: 1},
		{name: "stratum 2 address", pkt: ntpPacket(0, 4, 4, 2, "\x11\xfd\x04\xfd", 0, 0), mode: "server", stratum: 2, refid: "17.253.4.253"},
		{name: "stratum 16 unsynchronised", pkt: ntpPacket(3, 4, 4, 16, "\x00\x00\x00\x00", 0, 0), mode: "server", stratum: 16, refid: "0.0.0.0"},
		{name: "symmetric active", pkt: ntpPacket(0, 4, 1, 3, "\x0a\x00\x00\x01", 0, 0), mode: "symmetric active", stratum: 3, refid: "10.0.0.1"},
		{name: "broadcast", pkt: ntpPacket(0, 4, 5, 2, "\x0a\x00\x00\x01", 0, 0), mode: "broadcast", stratum: 2, refid: "10.0.0.1"},
		{name: "control mode short", pkt: []byte{0x16, 0x02, 0x00, 0x01}, mode: "control"},
		{name: "private mode one byte", pkt: []byte{0x17}, mode: "private"},
		{name: "server truncated", pkt: ntpPacket(0, 4, 4, 1, "GPS", 0, 0)[:47], wantErr: dissect.ErrTruncated, mode: "server"},
		{name: "empty", pkt: nil, wantErr: dissect.ErrTruncated, mode: "reserved"},
		{name: "version 0", pkt: ntpPacket(0, 0, 3, 0, "", 0, 0), wantErr: dissect.ErrNTPVersion, mode: "client"},
		{name: "version 7", pkt: ntpPacket(0, 7, 4, 0, "", 0, 0), wantErr: dissect.ErrNTPVersion, mode: "server"},
		{name: "extension fields ignored", pkt: append(ntpPacket(0, 4, 4, 2, "\x01\x02\x03\x04", 0, 0), make([]byte, 20)...),
			mode: "server", stratum: 2, refid: "1.2.3.4"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := dissect.ParseNTP(tt.pkt)
			if tt.wantErr == nil && err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("error = %v, want %v", err, tt.wantErr)
			}
			if got := n.ModeString(); got != tt.mode {
				t.Errorf("mode = %s, want %s", got, tt.mode)
			}
			if err != nil {
				return
			}
			if n.Stratum != tt.stratum {
				t.Errorf("stratum = %d, want %d", n.Stratum, tt.stratum)
			}
			if got := n.RefIDString(); got != tt.refid {
				t.Errorf("refid = %q, want %q", got, tt.refid)
			}
			if got := n.KissCode(); got != tt.kiss {
				t.Errorf("kiss = %q, want %q", got, tt.kiss)
			}
			if !n.Transmit.Equal(tt.transmit) {
				t.Errorf("transmit = %v, want %v", n.Transmit, tt.transmit)
			}
		})
	}
}

func TestParseNTPFields(t *testing.T) {
	n, err := dissect.ParseNTP(ntpPacket(1, 4, 4, 2, "\x11\xfd\x04\xfd", 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	if n.Leap != 1 || n.Version != 4 || n.Mode != dissect.NTPModeServer || n.Poll != 6 || n.Precision != -23 {
		t.Errorf("fields = %+v", n)
	}
	if !n.Transmit.IsZero() || !n.Reference.IsZero() {
		t.Errorf("zero timestamps decoded as %v / %v", n.Transmit, n.Reference)
	}
}

// TestNTPEras checks the RFC 4330 era rule: top bit set counts from 1900,
// top bit clear from 2036.
func TestNTPEras(t *testing.T) {
	for _, tt := range []struct {
		ts   uint64
		want time.Time
	}{
		{0x80000000 << 32, time.Date(1968, 1, 20, 3, 14, 8, 0, time.UTC)},
		{0xffffffff << 32, time.Date(2036, 2, 7, 6, 28, 15, 0, time.UTC)},
		{1 << 32, time.Date(2036, 2, 7, 6, 28, 17, 0, time.UTC)},
		{0x7fffffff << 32, time.Date(2104, 2, 26, 9, 42, 23, 0, time.UTC)},
		{0x00000000_80000000, time.Date(2036, 2, 7, 6, 28, 16, 500000000, time.UTC)},
		{0xe8000000_40000000, time.Date(2023, 5, 5, 22, 21, 52, 250000000, time.UTC)},
	} {
		n, err := dissect.ParseNTP(ntpPacket(0, 4, 4, 2, "", tt.ts, tt.ts))
		if err != nil {
			t.Fatal(err)
		}
		if !n.Transmit.Equal(tt.want) || !n.Reference.Equal(tt.want) {
			t.Errorf("ts %#x = %v / %v, want %v", tt.ts, n.Transmit, n.Reference, tt.want)
		}
	}
}

func TestParseNTPRealCaptures(t *testing.T) {
	tests := []struct {
		capture  string
		frame    int
		mode     string
		stratum  uint8
		refid    string
		transmit string
	}{
		{"zeek-ntp-apple_servers.pcap", 1, "client", 0, "", "2016-10-15T12:47:36.467834989Z"},
		{"zeek-ntp-apple_servers.pcap", 2, "server", 1, "GPSs", "2016-10-15T12:47:36.50802753Z"},
		{"zeek-ntp-misordered-apple.pcap", 1, "server", 1, "GPSs", "2016-10-15T12:47:36.50802753Z"},
		{"ndpi-tls_certificate_too_long-ntp_time_macos.pcap", 99, "client", 0, "", ""},
		{"ndpi-tls_certificate_too_long-ntp_time_macos.pcap", 102, "server", 1, "SHM", "2021-07-13T09:21:17.832719313Z"},
		{"zeek-ntp-ntp.pcap", 1, "client", 2, "85.199.214.99", "2019-05-30T20:03:34.027420739Z"},
		{"zeek-ntp-ntp.pcap", 32, "server", 3, "185.19.184.35", "2019-05-30T20:03:47.050438289Z"},
	}
	for _, tt := range tests {
		t.Run(tt.capture+"#"+strconv.Itoa(tt.frame), func(t *testing.T) {
			n, err := dissect.ParseNTP(txtFrame(t, tt.capture, tt.frame))
			if err != nil {
				t.Fatal(err)
			}
			if n.ModeString() != tt.mode || n.Stratum != tt.stratum || n.RefIDString() != tt.refid || n.KissCode() != "" {
				t.Errorf("got %s stratum %d refid %q kiss %q", n.ModeString(), n.Stratum, n.RefIDString(), n.KissCode())
			}
			got := ""
			if !n.Transmit.IsZero() {
				got = n.Transmit.Format(time.RFC3339Nano)
			}
			if got != tt.transmit {
				t.Errorf("transmit = %s, want %s", got, tt.transmit)
			}
		})
	}
}

// TestNTPMatchesTshark compares mode, stratum, refid and transmit time of
// every NTP packet in the NTP captures with tshark's reading.
func TestNTPMatchesTshark(t *testing.T) {
	txtNeedTshark(t)
	total := 0
	for _, name := range []string{
		"zeek-ntp-apple_servers.pcap", "zeek-ntp-misordered-apple.pcap", "zeek-ntp-ntp.pcap",
		"ndpi-tls_certificate_too_long-ntp_time_macos.pcap", "ndpi-android-captive_apple.pcap",
	} {
		path := sharedtest.Path(t, "pcaps/"+name)
		t.Run(name, func(t *testing.T) {
			mine := map[string]string{}
			txtEachPacket(t, path, func(p txtPacket) {
				if !p.udp || p.fragmented || (p.srcPort != 123 && p.dstPort != 123) {
					return
				}
				n, err := dissect.ParseNTP(p.payload)
				if err != nil {
					t.Errorf("frame %d: %v", p.frame, err)
					return
				}
				row := []string{strconv.Itoa(int(n.Mode)), strconv.Itoa(int(n.Stratum)), hex.EncodeToString(n.RefID[:]), ""}
				if !n.Transmit.IsZero() {
					row[3] = strconv.FormatInt(n.Transmit.UnixMicro(), 10)
				}
				mine[strconv.Itoa(p.frame)] = strings.Join(row, " ")
			})
			out, err := exec.Command("tshark", "-r", path, "-n", "-Y", "ntp && !icmp && !icmpv6", "-T", "fields",
				"-e", "frame.number", "-e", "ntp.flags.mode", "-e", "ntp.stratum", "-e", "ntp.refid", "-e", "ntp.xmt").Output()
			if err != nil {
				t.Fatalf("tshark: %v", err)
			}
			seen := 0
			for line := range strings.SplitSeq(strings.TrimRight(string(out), "\n"), "\n") {
				f := strings.Split(line, "\t")
				if len(f) != 5 {
					continue
				}
				xmt := ""
				if f[4] != "" && f[4] != "NULL" {
					ts, err := time.Parse("Jan _2, 2006 15:04:05.999999999 MST", f[4])
					if err != nil {
						t.Fatalf("frame %s: tshark time %q: %v", f[0], f[4], err)
					}
					xmt = strconv.FormatInt(ts.UnixMicro(), 10)
				}
				want := strings.Join([]string{f[1], f[2], f[3], xmt}, " ")
				if got := mine[f[0]]; got != want {
					t.Errorf("frame %s: got %q, tshark %q", f[0], got, want)
				}
				seen++
			}
			if seen != len(mine) {
				t.Errorf("tshark shows %d NTP packets, we parsed %d", seen, len(mine))
			}
			total += seen
		})
	}
	t.Logf("compared %d NTP packets with tshark", total)
}

func FuzzParseNTP(f *testing.F) {
	f.Add(ntpPacket(3, 4, 4, 0, "RATE", 0, 0))
	f.Add(ntpPacket(0, 4, 3, 0, "", 0, 0xdbd75ba877c42000))
	f.Add(ntpPacket(0, 4, 4, 2, "\x11\xfd\x04\xfd", 0xdbd75ba877c42000, 0x1234))
	f.Add([]byte{0x16, 0x02, 0x00, 0x01})
	f.Fuzz(func(t *testing.T, b []byte) {
		n, err := dissect.ParseNTP(b)
		if err != nil {
			return
		}
		if n.Mode >= 1 && n.Mode <= 5 && len(b) < 48 {
			t.Fatalf("mode %d accepted with %d bytes", n.Mode, len(b))
		}
		if k := n.KissCode(); k != "" && (n.Stratum != 0 || len(k) > 4 || bytes.ContainsFunc([]byte(k), func(r rune) bool { return r <= ' ' || r > '~' })) {
			t.Fatalf("kiss code %q at stratum %d", k, n.Stratum)
		}
		_ = n.RefIDString()
		_ = n.ModeString()
		if !n.Transmit.IsZero() && (n.Transmit.Year() < 1968 || n.Transmit.Year() > 2104) {
			t.Fatalf("transmit %v outside the era window", n.Transmit)
		}
	})
}

func BenchmarkParseNTP(b *testing.B) {
	pkt := ntpPacket(0, 4, 4, 1, "GPSs", 0xdbd75ba877c42000, 0xdbd75ba877c42000)
	b.ReportAllocs()
	b.SetBytes(int64(len(pkt)))
	for b.Loop() {
		if _, err := dissect.ParseNTP(pkt); err != nil {
			b.Fatal(err)
		}
	}
}
