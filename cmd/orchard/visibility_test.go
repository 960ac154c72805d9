package main

import (
	"encoding/json"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"orchard/capture"
	"orchard/decode"
	"orchard/internal/capgen"
)

// TestOneWayCaptureSaysSo: the demo as a one-way mirror would have
// captured it (only the iPad's packets) says so in the table header and in
// JSON, and withholds the findings that rest on a missing answer.
func TestOneWayCaptureSaysSo(t *testing.T) {
	in, err := capture.Open(demoPcap)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	name := filepath.Join(t.TempDir(), "ipad-only.pcap")
	f, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	var w *capgen.Writer
	ipad := netip.MustParseAddr("10.20.30.41")
	d := decode.NewDecoder()
	var p capture.Packet
	var pk decode.Packet
	for {
		if err := in.Next(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		if w == nil {
			w = capgen.NewPcap(f, p.LinkType)
		}
		if d.Decode(p.LinkType, p.Data, &pk) == nil && pk.Src == ipad {
			if err := w.Write(p.Timestamp, p.Data, 0); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	out, _, _ := runCLI(t, nil, "--no-color", name)
	if !strings.Contains(out, "visibility: only packets from the devices are seen") {
		t.Errorf("table header lacks the visibility line:\n%s", out)
	}
	js, _, _ := runCLI(t, nil, "--format", "json", name)
	var r struct {
		Capture struct {
			Visibility struct{ Missing, Statement string }
		}
		Findings []struct{ Finding, Severity, Undecided string }
	}
	if err := json.Unmarshal([]byte(js), &r); err != nil {
		t.Fatal(err)
	}
	if r.Capture.Visibility.Missing != "servers" || r.Capture.Visibility.Statement == "" {
		t.Errorf("capture.visibility = %+v", r.Capture.Visibility)
	}
	for _, fd := range r.Findings {
		switch fd.Finding {
		case "tcp.syn_unanswered", "dns.unanswered", "ntp.unanswered", "udp.unanswered", "tls.hello_unanswered":
			if fd.Severity != "info" || fd.Undecided == "" {
				t.Errorf("%s not withheld: %+v", fd.Finding, fd)
			}
		}
	}
}
