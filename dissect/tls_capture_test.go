package dissect_test

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"orchard/dissect"
	"orchard/internal/sharedtest"
)

// capSeg is one TCP segment's payload.
type capSeg struct {
	seq  uint32
	data []byte
}

// capDir is one direction of a TCP connection, as captured.
type capDir struct {
	key     string // "src:sport>dst:dport"
	first   int    // index of the first packet, for a stable order
	haveSyn bool
	synSeq  uint32
	segs    []capSeg
}

// capMaxStream caps how many bytes of a direction the tests reassemble.
const capMaxStream = 1 << 20

// capPacket is one captured frame and its link type.
type capPacket = frame

// readCapture splits a pcap or pcapng file into frames.
func readCapture(raw []byte) ([]capPacket, error) { return readFrames("capture", raw) }

// readTCPDirs reads a pcap or pcapng file and groups the TCP segments by
// direction, in capture order.
func readTCPDirs(t testing.TB, path string) []*capDir {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	pkts, err := readCapture(raw)
	if err != nil {
		t.Fatalf("%s: %v", filepath.Base(path), err)
	}
	dirs := map[string]*capDir{}
	var order []*capDir
	for i, cp := range pkts {
		pkt := gopacket.NewPacket(cp.data, cp.link, gopacket.DecodeOptions{Lazy: true, NoCopy: true})
		nl := pkt.NetworkLayer()
		tl, _ := pkt.Layer(layers.LayerTypeTCP).(*layers.TCP)
		if nl == nil || tl == nil {
			continue
		}
		nf := nl.NetworkFlow()
		key := nf.Src().String() + ":" + strconv.Itoa(int(tl.SrcPort)) + ">" +
			nf.Dst().String() + ":" + strconv.Itoa(int(tl.DstPort))
		d := dirs[key]
		if d == nil {
			d = &capDir{key: key, first: i}
			dirs[key] = d
			order = append(order, d)
		}
		if tl.SYN {
			d.haveSyn, d.synSeq = true, tl.Seq
		}
		if len(tl.Payload) > 0 {
			seq := tl.Seq
			if tl.SYN {
				seq++ // data on a SYN (TCP Fast Open) follows the SYN's own number
			}
			d.segs = append(d.segs, capSeg{seq: seq, data: slices.Clone(tl.Payload)})
		}
	}
	return order
}

// bytes reassembles the direction from its start (the SYN's seq+1, else the
// lowest data sequence number) up to the first gap.
func (d *capDir) bytes() []byte {
	if len(d.segs) == 0 {
		return nil
	}
	base := d.segs[0].seq
	if d.haveSyn {
		base = d.synSeq + 1
	} else {
		for _, s := range d.segs {
			if int32(s.seq-base) < 0 {
				base = s.seq
			}
		}
	}
	segs := slices.Clone(d.segs)
	sort.SliceStable(segs, func(i, j int) bool { return int32(segs[i].seq-base) < int32(segs[j].seq-base) })
	var out []byte
	for _, s := range segs {
		rel := int(int32(s.seq - base))
		if rel < 0 {
			// Before the start (e.g. data on a SYN): keep the part after it.
			if -rel >= len(s.data) {
				continue
			}
			s.data, rel = s.data[-rel:], 0
		}
		if rel > len(out) {
			break
		}
		if end := rel + len(s.data); end > len(out) {
			out = append(out, s.data[len(out)-rel:]...)
		}
		if len(out) >= capMaxStream {
			break
		}
	}
	return out
}

// tlsStart returns the offset of the first handshake record carrying a
// ClientHello or ServerHello (0 for a plain TLS connection; later for
// STARTTLS or after an HTTP CONNECT), or -1.
func tlsStart(b []byte) int {
	for i := 0; i+6 <= len(b) && i < 1<<16; i++ {
		if b[i] == 22 && b[i+1] == 3 && b[i+2] <= 4 && (b[i+5] == 1 || b[i+5] == 2) {
			return i
		}
	}
	return -1
}

// capStream is one direction's TLS parse.
type capStream struct {
	dir    *capDir
	stream *dissect.TLSStream
	err    error
}

// parseCaptureTLS parses every TCP direction of a capture that carries TLS.
func parseCaptureTLS(t testing.TB, path string) []capStream {
	t.Helper()
	var out []capStream
	for _, d := range readTCPDirs(t, path) {
		b := d.bytes()
		i := tlsStart(b)
		if i < 0 {
			continue
		}
		s, err := dissect.ParseTLSStream(b[i:])
		out = append(out, capStream{dir: d, stream: s, err: err})
	}
	return out
}

// tsharkLines runs tshark and returns its non-empty output lines.
func tsharkLines(t *testing.T, path string, args ...string) []string {
	t.Helper()
	cmd := exec.Command("tshark", append([]string{"-r", path}, args...)...)
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	if err := cmd.Run(); err != nil {
		t.Fatalf("tshark %s: %v", filepath.Base(path), err)
	}
	var lines []string
	sc := bufio.NewScanner(&stdout)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			lines = append(lines, l)
		}
	}
	return lines
}

func needTShark(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("tshark"); err != nil {
		t.Skip("tshark not installed")
	}
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// tsharkMisses lists Certificate messages (as certificate lengths) that
// tshark 4.0 does not report although they are in the capture.
var tsharkMisses = map[string][]string{
	// TCP stream 3: the server's second segment arrives out of order after
	// a later one; tshark gives up on reassembling the Certificate message.
	"ndpi-malware-opendns_blockpage_cert.pcap": {"1258,1306"},
}

// TestCapturesAgainstTShark compares, for every shared capture, the SNIs of
// the TCP ClientHellos and the certificate lengths of each Certificate
// message with what tshark reports.
func TestCapturesAgainstTShark(t *testing.T) {
	needTShark(t)
	if testing.Short() {
		t.Skip("runs tshark over every capture")
	}
	for _, path := range sharedtest.Pcaps(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			streams := parseCaptureTLS(t, path)
			gotSNI, gotCerts := map[string]bool{}, map[string]bool{}
			for _, cs := range streams {
				if cs.err != nil {
					t.Errorf("%s: %v", cs.dir.key, cs.err)
				}
				if ch := cs.stream.ClientHello; ch != nil && ch.SNI != "" {
					gotSNI[ch.SNI] = true
				}
				if len(cs.stream.Certificates) > 0 {
					var l []string
					for _, c := range cs.stream.Certificates {
						l = append(l, strconv.Itoa(len(c)))
					}
					gotCerts[strings.Join(l, ",")] = true
				}
			}
			// One tshark pass: the handshake types of each packet, the SNIs
			// of its ClientHellos and the certificate lengths of its
			// Certificate message.
			wantSNI, wantCerts := map[string]bool{}, map[string]bool{}
			for _, l := range tsharkLines(t, path, "-Y", "tcp && (tls.handshake.type==1 || tls.handshake.type==11)",
				"-T", "fields", "-E", "separator=/t", "-e", "tls.handshake.type",
				"-e", "tls.handshake.extensions_server_name", "-e", "tls.handshake.certificate_length") {
				f := append(strings.Split(l, "\t"), "", "") // tshark's trailing empty fields were trimmed

				types := strings.Split(f[0], ",")
				if slices.Contains(types, "1") && f[1] != "" {
					for _, name := range strings.Split(f[1], ",") {
						wantSNI[strings.ToLower(name)] = true
					}
				}
				if slices.Contains(types, "11") && f[2] != "" {
					wantCerts[f[2]] = true
				}
			}
			for _, extra := range tsharkMisses[filepath.Base(path)] {
				wantCerts[extra] = true
			}
			if g, w := sortedKeys(gotCerts), sortedKeys(wantCerts); !slices.Equal(g, w) {
				t.Errorf("certificate lengths\n got  %q\n want %q", g, w)
			}
		})
	}
}
