package analyzer

import (
	"bytes"

	"orchard/dissect"
)

// httpHeadLimit is the most of an HTTP head the feeder reads: as much as
// dissect's parser searches for the blank line.
const httpHeadLimit = 16 << 10

// httpFeeder reads an HTTP/1 request head from the client and the
// response head from the server: a plain request, or a CONNECT whose
// tunnel then carries TLS from the end of the heads (appHalf.tlsStart).
type httpFeeder struct{ e *flowEngine }

func (x httpFeeder) feed(f *Flow, dir int, b []byte, _ int64) bool {
	a := f.app
	h := &a.half[dir]
	if dir == dirClient {
		looks := dissect.LooksLikeHTTPRequest(b)
		if !h.httpTried && h.tlsStart == 0 && looks {
			r, err := dissect.ParseHTTPRequest(b)
			if err == nil {
				a.req = &r
				if r.Complete {
					h.httpTried = true
					if r.Method == "CONNECT" {
						h.tlsStart = r.HeaderLen
					}
				}
			} else {
				h.httpTried = true
				x.e.stats.Malformed++
			}
		}
		// A request method is at most 9 letters and a space.
		return h.httpTried || h.tlsStart != 0 || len(b) >= 16 && !looks
	}
	if a.req != nil && !h.httpTried && h.tlsStart == 0 && bytes.HasPrefix(b, []byte("HTTP/")) {
		r, err := dissect.ParseHTTPResponse(b)
		if err == nil {
			a.resp = &r
			if r.Complete {
				h.httpTried = true
				if a.req.Method == "CONNECT" && r.Status/100 == 2 {
					h.tlsStart = r.HeaderLen
				}
			}
		} else {
			h.httpTried = true
			x.e.stats.Malformed++
		}
	}
	return h.httpTried || h.tlsStart != 0 || len(b) >= 5 && string(b[:5]) != "HTTP/"
}

func (httpFeeder) limit(int) int { return httpHeadLimit }
