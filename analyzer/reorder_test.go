package analyzer

import (
	"fmt"
	"testing"
)

// TestReorderedClientHello: a ClientHello cut into many small segments
// that arrive in any order keeps its SNI (once lost past 16 segments).
func TestReorderedClientHello(t *testing.T) {
	hello := tlsHello(t, "gateway.icloud.com")
	for _, n := range []int{2, 17, 24, 40} {
		for _, order := range []string{"reversed", "interleaved"} {
			t.Run(fmt.Sprintf("%d segments %s", n, order), func(t *testing.T) {
				size := (len(hello) + n - 1) / n
				var parts []pkt
				for off := 0; off < len(hello); off += size {
					end := min(off+size, len(hello))
					parts = append(parts, pkt{0.2, false, fA | fP, 101 + uint32(off), 501, string(hello[off:end]), 0})
				}
				switch order {
				case "reversed":
					for i, j := 0, len(parts)-1; i < j; i, j = i+1, j-1 {
						parts[i], parts[j] = parts[j], parts[i]
					}
				case "interleaved": // odd segments first, then even
					var odd, even []pkt
					for i, p := range parts {
						if i%2 == 1 {
							odd = append(odd, p)
						} else {
							even = append(even, p)
						}
					}
					parts = append(odd, even...)
				}
				script := []pkt{{0, false, fS, 100, 0, "", 0}, {0.05, true, fS | fA, 500, 101, "", 0}, {0.1, false, fA, 101, 501, "", 0}}
				e, s := newTestEngine(t, Config{})
				feedTCP(e, 50000, 443, append(script, parts...))
				e.Finish()
				if len(s.flows) != 1 || s.flows[0].SNI != "gateway.icloud.com" {
					t.Fatalf("SNI lost: %+v", s.flows)
				}
			})
		}
	}
}
