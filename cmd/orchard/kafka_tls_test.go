package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
)

// testCA makes a CA and a broker certificate for 127.0.0.1, and writes
// the CA's PEM to a file.
func testCA(t *testing.T) (*tls.Config, string) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "orchard test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leaf := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "broker"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, leaf, caCert, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o644); err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}, path
}

// TestKafkaTLS produces over TLS to a broker whose CA is given, and
// fails (counted) when the CA is not trusted.
func TestKafkaTLS(t *testing.T) {
	srv, caFile := testCA(t)
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "orchard"), kfake.TLS(srv))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	brokers := strings.Join(c.ListenAddrs(), ",")
	tests := []struct {
		name string
		args []string
		ok   bool
	}{
		{"trusted CA", []string{"--kafka-tls-ca", caFile}, true},
		{"unknown CA", []string{"--kafka-tls"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"-q", "--format", "json", "--kafka-brokers", brokers, "--kafka-flush-timeout", "2s", "--kafka-reports-topic", "-"}, tc.args...)
			js, stderr, code := runCLI(t, nil, append(args, demoPcap)...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			o := reportOf(t, js).Capture.Outputs[0]
			if ok := o.Sent > 0 && o.Delivered == o.Sent; ok != tc.ok {
				t.Errorf("counters %+v", o)
			}
		})
	}
}

// TestKafkaECS: with --kafka-format ecs the records are the documents of
// --format ecs, naming the sensor.
func TestKafkaECS(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(2, "orchard"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	want, stderr, code := runCLI(t, nil, "-q", "--format", "ecs", "--sensor", "school-7", demoPcap)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if _, stderr, code := runCLI(t, nil, "-q", "--kafka-brokers", strings.Join(c.ListenAddrs(), ","), "--kafka-format", "ecs",
		"--sensor", "school-7", "--kafka-reports-topic", "-", demoPcap); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(want), "\n")
	recs := consumeAll(t, c.ListenAddrs(), "orchard", len(lines))
	if len(recs) != len(lines) {
		t.Fatalf("%d records, --format ecs wrote %d documents", len(recs), len(lines))
	}
	got := map[string]bool{}
	for _, r := range recs {
		got[string(r.Value)] = true
		var d struct {
			Observer struct{ Name, Type string }
		}
		if err := json.Unmarshal(r.Value, &d); err != nil || d.Observer.Name != "school-7" || d.Observer.Type != "sensor" {
			t.Fatalf("record %s: %v", r.Value, err)
		}
	}
	for _, l := range lines {
		if !got[l] {
			t.Errorf("document not produced: %s", l)
		}
	}
}

// TestEventsFormatECS: --events in ECS beside the table holds the same
// documents as --format ecs (findings as first decided, so counts of one).
func TestEventsFormatECS(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.ndjson")
	if _, stderr, code := runCLI(t, nil, "-q", "--events", path, "--events-format", "ecs", "--sensor", "s1", demoPcap); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want, _, _ := runCLI(t, nil, "-q", "--format", "ecs", "--sensor", "s1", demoPcap)
	got := strings.Split(strings.TrimSpace(string(b)), "\n")
	if n := len(strings.Split(strings.TrimSpace(want), "\n")); len(got) != n {
		t.Errorf("%d documents in --events, %d from --format ecs", len(got), n)
	}
	kinds := map[string]int{}
	for _, l := range got {
		var d struct {
			Event struct{ Kind string }
		}
		if err := json.Unmarshal([]byte(l), &d); err != nil {
			t.Fatalf("%s: %v", l, err)
		}
		kinds[d.Event.Kind]++
	}
	if kinds["alert"] != 17 || kinds["metric"] != 1 {
		t.Errorf("kinds %v", kinds)
	}
	_, stderr, code := runCLI(t, nil, "--events-format", "xml", demoPcap)
	if code != exitUsage || !strings.Contains(stderr, "--events-format") {
		t.Errorf("bad --events-format: exit %d, %s", code, stderr)
	}
}
