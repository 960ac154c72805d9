package stress

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"sync"
	"time"

	"orchard/internal/capgen"
)

// flight is what each side of a real TLS 1.3 handshake wrote, in order.
type flight struct {
	hello  []byte // the client's first flight (ClientHello)
	server []byte // the server's flight
	finish []byte // the client's second flight (ChangeCipherSpec, Finished)
}

// recConn records what is written through a net.Conn.
type recConn struct {
	net.Conn
	mu  *sync.Mutex
	out *[][]byte
	tag byte
}

func (c recConn) Write(b []byte) (int, error) {
	c.mu.Lock()
	*c.out = append(*c.out, append([]byte{c.tag}, b...))
	c.mu.Unlock()
	return c.Conn.Write(b)
}

// tlsFlight runs a TLS 1.3 handshake for sni over a pipe and returns the
// bytes each side sent.
func tlsFlight(sni string, cert tls.Certificate) (flight, error) {
	cc, sc := net.Pipe()
	var mu sync.Mutex
	var out [][]byte
	srv := tls.Server(recConn{sc, &mu, &out, 's'}, &tls.Config{Certificates: []tls.Certificate{cert}})
	done := make(chan error, 1)
	go func() { done <- srv.Handshake() }()
	cl := tls.Client(recConn{cc, &mu, &out, 'c'}, &tls.Config{ServerName: sni, InsecureSkipVerify: true, MinVersion: tls.VersionTLS13})
	err := cl.Handshake()
	if serr := <-done; err == nil {
		err = serr
	}
	cc.Close()
	sc.Close()
	var f flight
	if err != nil {
		return f, err
	}
	for _, w := range out {
		switch {
		case w[0] == 'c' && f.server == nil:
			f.hello = append(f.hello, w[1:]...)
		case w[0] == 's':
			f.server = append(f.server, w[1:]...)
		default:
			f.finish = append(f.finish, w[1:]...)
		}
	}
	return f, nil
}

func selfSigned(host string) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: host},
		DNSNames: []string{host}, NotBefore: Start.Add(-time.Hour), NotAfter: Start.Add(365 * 24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

// appData is a TLS application-data record of n bytes in all.
func appData(n int, fill byte) []byte {
	b := make([]byte, n)
	b[0], b[1], b[2] = 23, 3, 3
	b[3], b[4] = byte((n-5)>>8), byte(n-5)
	for i := 5; i < n; i++ {
		b[i] = fill ^ byte(i*131)
	}
	return b
}

const (
	mss        = 1448
	clientData = 200 // bytes of each client record in the data rounds
	serverData = mss // bytes of each server record
)

// writeLong opens s.N TLS 1.3 connections (real handshakes, replayed on
// every flow of the same name), then sends rounds of data on every flow,
// a client record and a server record each, until the file holds s.Bytes
// (at least one round). Packets are 2 µs apart, so every flow stays
// established for the whole capture at any size under about 15 GB.
func writeLong(w *bufio.Writer, s Spec) error {
	cert, err := selfSigned("stress.apple.com")
	if err != nil {
		return err
	}
	flights := make([]flight, 4)
	for i := range flights {
		if flights[i], err = tlsFlight(appleHosts[i], cert); err != nil {
			return err
		}
	}
	p := newPcap(w)
	const clients = 1 << 14
	const gap = 2 * time.Microsecond
	seg := func(i int) (c capgen.TCP, isn, sisn uint32) {
		c = capgen.TCP{Src: clientAddr(i % clients), Dst: appleAddr(i / 5),
			SrcPort: uint16(1024 + i/clients), DstPort: 443, TTL: 64}
		return c, uint32(i) * 2654435761, uint32(i) * 40503
	}
	rev := func(c capgen.TCP) capgen.TCP {
		c.Src, c.Dst, c.SrcPort, c.DstPort = c.Dst, c.Src, c.DstPort, c.SrcPort
		c.TTL = 52
		return c
	}
	// send writes data from one side in MSS-sized segments.
	send := func(c capgen.TCP, fromClient bool, seq, ack uint32, data []byte) (uint32, error) {
		for len(data) > 0 {
			n := min(len(data), mss)
			c.Flags, c.Seq, c.Ack, c.Payload = capgen.ACK|capgen.PSH, seq, ack, data[:n]
			if err := p.tcp(c, fromClient, gap); err != nil {
				return seq, err
			}
			seq += uint32(n)
			data = data[n:]
		}
		return seq, nil
	}
	for i := 0; i < s.N; i++ {
		c, cs, ss := seg(i)
		sv := rev(c)
		f := &flights[i%len(flights)]
		c.Flags, c.Seq = capgen.SYN, cs
		if err := p.tcp(c, true, gap); err != nil {
			return err
		}
		sv.Flags, sv.Seq, sv.Ack = capgen.SYN|capgen.ACK, ss, cs+1
		if err := p.tcp(sv, false, gap); err != nil {
			return err
		}
		c.Flags, c.Seq, c.Ack = capgen.ACK, cs+1, ss+1
		if err := p.tcp(c, true, gap); err != nil {
			return err
		}
		cseq, err := send(c, true, cs+1, ss+1, f.hello)
		if err != nil {
			return err
		}
		sseq, err := send(sv, false, ss+1, cseq, f.server)
		if err != nil {
			return err
		}
		if _, err := send(c, true, cseq, sseq, f.finish); err != nil {
			return err
		}
	}
	cdata, sdata := appData(clientData, 0x5a), appData(serverData, 0xa5)
	for round := 0; round == 0 || p.cw.n < s.Bytes; round++ {
		for i := 0; i < s.N && (round == 0 || p.cw.n < s.Bytes); i++ {
			c, cs, ss := seg(i)
			f := &flights[i%len(flights)]
			cseq := cs + 1 + uint32(len(f.hello)+len(f.finish)+round*clientData)
			sseq := ss + 1 + uint32(len(f.server)+round*serverData)
			if _, err := send(c, true, cseq, sseq, cdata); err != nil {
				return err
			}
			if _, err := send(rev(c), false, sseq, cseq+clientData, sdata); err != nil {
				return err
			}
		}
	}
	return p.w.Err()
}
