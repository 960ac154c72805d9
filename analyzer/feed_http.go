package analyzer

import (
	"bytes"

	"orchard/dissect"
	"orchard/flow"
)

// httpHeadLimit is the most of an HTTP head the feeder reads: as much as
// dissect's parser searches for the blank line.
const httpHeadLimit = 16 << 10

// httpFeeder reads an HTTP/1 request head from the client and the
// response head from the server: a plain request, or a CONNECT whose
// tunnel then carries TLS from the end of the heads (appHalf.tlsStart).
type httpFeeder struct{ e *flowEngine }

func (x httpFeeder) feed(f *flow.Flow, dir int, b []byte, _ int64) bool {
	a := f.App
	h := &a.Half[dir]
	if dir == flow.DirClient {
		looks := dissect.LooksLikeHTTPRequest(b)
		if !h.HTTPTried && h.TLSStart == 0 && looks {
			r, err := dissect.ParseHTTPRequest(b)
			if err == nil {
				a.Request = &r
				if r.Complete {
					h.HTTPTried = true
					if r.Method == "CONNECT" {
						h.TLSStart = r.HeaderLen
					}
				}
			} else {
				h.HTTPTried = true
				x.e.stats.Malformed++
			}
		}
		// A request method is at most 9 letters and a space.
		return h.HTTPTried || h.TLSStart != 0 || len(b) >= 16 && !looks
	}
	if a.Request != nil && !h.HTTPTried && h.TLSStart == 0 && bytes.HasPrefix(b, []byte("HTTP/")) {
		r, err := dissect.ParseHTTPResponse(b)
		if err == nil {
			a.Response = &r
			if r.Complete {
				h.HTTPTried = true
				if a.Request.Method == "CONNECT" && r.Status/100 == 2 {
					h.TLSStart = r.HeaderLen
				}
			}
		} else {
			h.HTTPTried = true
			x.e.stats.Malformed++
		}
	}
	return h.HTTPTried || h.TLSStart != 0 || len(b) >= 5 && string(b[:5]) != "HTTP/"
}

func (httpFeeder) limit(int) int { return httpHeadLimit }
