package analyzer

import (
	"crypto/tls"
	"net"
	"testing"

	"orchard/dissect"
)

// tlsHello returns the records of the first ClientHello crypto/tls sends
// for sni: a real, current (post-quantum) ClientHello.
func tlsHello(t testing.TB, sni string) []byte {
	t.Helper()
	c1, c2 := net.Pipe()
	go func() {
		_ = tls.Client(c1, &tls.Config{ServerName: sni, InsecureSkipVerify: true}).Handshake()
		c1.Close()
	}()
	defer c2.Close()
	var buf []byte
	tmp := make([]byte, 4096)
	for {
		n, err := c2.Read(tmp)
		buf = append(buf, tmp[:n]...)
		if s, _ := dissect.ParseTLSStream(buf); s.ClientHello != nil {
			return buf
		}
		if err != nil {
			t.Fatalf("no ClientHello: %v", err)
		}
	}
}
