package dissect_test

import (
	"bytes"
	"errors"
	"reflect"
	"testing"

	"orchard/dissect"
	"orchard/internal/sharedtest"
)

// checkIncremental feeds b to a TLSStreamParser in growing prefixes (the
// next cut step bytes further, steps cycling), each in a fresh copy whose
// previous copy is then overwritten, and checks every result against
// ParseTLSStream of the same prefix.
func checkIncremental(t *testing.T, b []byte, steps []int) {
	t.Helper()
	var p dissect.TLSStreamParser
	var prev []byte
	var certs [][]byte // a copy of the certificates, taken when they appear
	for i, n := 0, 0; ; i++ {
		step := 1
		if len(steps) > 0 {
			step = max(steps[i%len(steps)], 1)
		}
		n = min(n+step, len(b))
		in := append([]byte(nil), b[:n]...)
		got, gotErr := p.Parse(in)
		want, wantErr := dissect.ParseTLSStream(b[:n])
		if len(got.Certificates) > 0 && certs == nil {
			for _, c := range got.Certificates {
				certs = append(certs, append([]byte(nil), c...))
			}
		}
		g := *got
		g.Certificates = certs
		if !reflect.DeepEqual(&g, want) {
			t.Fatalf("prefix %d of %d:\n got %+v\nwant %+v", n, len(b), &g, want)
		}
		if (gotErr == nil) != (wantErr == nil) || gotErr != nil && gotErr.Error() != wantErr.Error() {
			t.Fatalf("prefix %d of %d: error %v, want %v", n, len(b), gotErr, wantErr)
		}
		// The parser must not read the previous input again.
		for j := range prev {
			prev[j] = 0xee
		}
		prev = in
		if n == len(b) || gotErr != nil {
			return
		}
	}
}

func TestTLSStreamParserIncremental(t *testing.T) {
	var flights [][]byte
	for _, b := range seedFlights(t) {
		flights = append(flights, b, reframe(t, b, 7), reframe(t, b, 300))
	}
	for _, b := range flights {
		for _, steps := range [][]int{{1}, {5}, {3, 17, 64}, {1000}} {
			checkIncremental(t, b, steps)
		}
		// Corrupt one byte past the start: the error is the same too.
		if len(b) > 40 {
			c := bytes.Clone(b)
			c[len(c)/2] ^= 0x5a
			checkIncremental(t, c, []int{9})
		}
	}
}

func TestTLSStreamParserCapture(t *testing.T) {
	for _, cs := range parseCaptureTLS(t, sharedtest.Path(t, "pcaps/ndpi-iphone.pcap")) {
		b := cs.dir.bytes()
		b = b[tlsStart(b):]
		checkIncremental(t, b, []int{7, 130, 1460})
	}
}

func TestTLSStreamParserReset(t *testing.T) {
	b := pqHello(t)
	var p dissect.TLSStreamParser
	if _, err := p.Parse(b); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Parse([]byte("GET / HTTP/1.1\r\n")); !errors.Is(err, dissect.ErrTLSNotTLS) {
		t.Fatalf("shorter input: %v", err)
	}
	p.Reset()
	got, err := p.Parse(b)
	want, wantErr := dissect.ParseTLSStream(b)
	if err != wantErr || !reflect.DeepEqual(got, want) {
		t.Fatalf("after Reset: %+v, %v", got, err)
	}
}

func FuzzTLSStreamParser(f *testing.F) {
	for _, b := range seedFlights(f) {
		f.Add(b, []byte{7})
		f.Add(reframe(f, b, 7), []byte{3, 200})
	}
	f.Add([]byte{22, 3, 1, 0, 0}, []byte{1})
	f.Add([]byte{22, 3, 1, 0, 6, 1, 0, 0, 9, 3, 3, 22, 3, 1, 0, 7, 1, 2, 3, 4, 5, 6, 7, 21, 3, 3, 0, 2, 2, 40}, []byte{2, 3})
	f.Fuzz(func(t *testing.T, b []byte, cuts []byte) {
		steps := make([]int, 0, min(len(cuts), 16))
		for _, c := range cuts[:min(len(cuts), 16)] {
			steps = append(steps, int(c))
		}
		// At most about 64 calls, so that each input stays quick.
		for i := range steps {
			steps[i] = max(steps[i], len(b)/64)
		}
		checkIncremental(t, b, steps)
	})
}
