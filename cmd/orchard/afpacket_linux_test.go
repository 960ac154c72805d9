package main

import (
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"orchard/decode"
	"orchard/internal/afring"
)

// TestFanoutSymmetric checks, on the loopback interface, that the kernel's
// fanout hash puts both directions of every TCP connection on the same
// socket of a two-socket group: the property the lanes rely on.
func TestFanoutSymmetric(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (CAP_NET_RAW) for AF_PACKET sockets")
	}
	if testing.Short() {
		t.Skip("-short")
	}
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := uint16(ln.Addr().(*net.TCPAddr).Port)
	o := &options{iface: "lo", snaplen: 2048, bufferMiB: 4, sensorOptions: sensorOptions{blockKiB: 64}}
	g, err := openAFPacket(o, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer g.close()

	// seen[client port][socket][direction]
	type dirs [2][2]int
	var mu sync.Mutex
	seen := map[uint16]*dirs{}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i, s := range g.socks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dec := decode.NewDecoder()
			var p decode.Packet
			var fr afring.Packet
			for {
				select {
				case <-stop:
					return
				default:
				}
				w, err := s.sock.Next(time.Now().Add(50 * time.Millisecond))
				if errors.Is(err, afring.ErrTimeout) {
					continue
				}
				if err != nil {
					t.Error(err)
					return
				}
				for w.Next(&fr) {
					if dec.Decode(g.link, fr.Data, &p) != nil || p.Proto != decode.ProtoTCP {
						continue
					}
					var cport uint16
					dir := 0
					switch port {
					case p.DstPort:
						cport = p.SrcPort
					case p.SrcPort:
						cport, dir = p.DstPort, 1
					default:
						continue
					}
					mu.Lock()
					d := seen[cport]
					if d == nil {
						d = &dirs{}
						seen[cport] = d
					}
					d[i][dir]++
					mu.Unlock()
				}
			}
		}()
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				b := make([]byte, 4)
				if _, err := io.ReadFull(c, b); err == nil {
					_, _ = c.Write(b)
				}
			}()
		}
	}()
	const conns = 64
	for i := 0; i < conns; i++ {
		c, err := net.Dial("tcp4", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		_, _ = c.Write([]byte("ping"))
		_, _ = io.ReadFull(c, make([]byte, 4))
		c.Close()
	}
	time.Sleep(300 * time.Millisecond) // the ring blocks retire
	close(stop)
	wg.Wait()

	mu.Lock()
	defer mu.Unlock()
	if len(seen) < conns {
		t.Fatalf("saw %d of %d connections", len(seen), conns)
	}
	var per [2]int
	for cport, d := range seen {
		both := 0
		for s := range d {
			if d[s][0]+d[s][1] > 0 {
				both++
				per[s]++
			}
		}
		if both != 1 {
			t.Errorf("connection from port %d split over the sockets: %v", cport, *d)
			continue
		}
		for s := range d {
			if d[s][0]+d[s][1] > 0 && (d[s][0] == 0 || d[s][1] == 0) {
				t.Errorf("connection from port %d: one direction missing on its socket: %v", cport, *d)
			}
		}
	}
	if per[0] == 0 || per[1] == 0 {
		t.Errorf("all connections on one socket (%v): the group does not spread flows", per)
	}
	t.Logf("%d connections, %d on socket 0 and %d on socket 1, each wholly on one", len(seen), per[0], per[1])
}
