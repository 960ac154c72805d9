package eventjson

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"

	"orchard/report"
)

// reportChunk is how much WriteReport gathers before it writes.
const reportChunk = 64 << 10

// WriteReport writes r to w as the document of --format json: byte for
// byte what an encoding/json Encoder with SetEscapeHTML(false) and
// SetIndent("", "  ") writes for it, final newline included. It writes it
// element by element through one buffer of about 64 KiB, so its memory
// stays bounded whatever the report's size: the findings, services, hosts
// and devices are written without reflection, the capture's counters (one
// object) by encoding/json. It returns the first error: a write error as
// w returned it (the caller names the output), or an encoding error of the
// capture's counters, after which nothing more is written.
func WriteReport(w io.Writer, r *report.Report) error {
	rw := reportWriter{w: w, buf: make([]byte, 0, reportChunk+4<<10)}
	var cb bytes.Buffer
	enc := json.NewEncoder(&cb)
	enc.SetEscapeHTML(false)
	enc.SetIndent("  ", "  ")
	if err := enc.Encode(&r.Capture); err != nil {
		return fmt.Errorf("encode the report's capture: %w", err)
	}
	rw.buf = append(rw.buf, "{\n  \"capture\": "...)
	rw.buf = append(rw.buf, bytes.TrimSuffix(cb.Bytes(), []byte{'\n'})...)
	writeArray(&rw, "findings", r.Findings, func(b []byte, f *report.Finding) []byte {
		if f == nil {
			return append(b, "null"...)
		}
		return appendFinding(NewIndented(b, 2), f)
	})
	writeArray(&rw, "services", r.Services, func(b []byte, s report.ServiceSummary) []byte {
		return appendService(NewIndented(b, 2), &s)
	})
	writeArray(&rw, "hosts", r.Hosts, func(b []byte, h *report.HostSummary) []byte {
		if h == nil {
			return append(b, "null"...)
		}
		return appendHost(NewIndented(b, 2), h)
	})
	writeArray(&rw, "devices", r.Devices, func(b []byte, d *report.DeviceSummary) []byte {
		if d == nil {
			return append(b, "null"...)
		}
		return appendDevice(NewIndented(b, 2), d)
	})
	rw.buf = append(rw.buf, "\n}\n"...)
	rw.write()
	return rw.err
}

// reportWriter gathers a report's bytes and writes them in chunks.
type reportWriter struct {
	w   io.Writer
	buf []byte
	err error
}

// write writes what was gathered, unless an earlier write failed.
func (rw *reportWriter) write() {
	if rw.err == nil && len(rw.buf) > 0 {
		_, rw.err = rw.w.Write(rw.buf)
	}
	rw.buf = rw.buf[:0]
}

// writeArray writes the top-level field k holding s, each element
// appended by elem at nesting level 2, writing whenever a chunk is full.
func writeArray[T any](rw *reportWriter, k string, s []T, elem func([]byte, T) []byte) {
	rw.buf = append(rw.buf, ",\n  \""...)
	rw.buf = append(rw.buf, k...)
	rw.buf = append(rw.buf, "\": "...)
	switch {
	case s == nil:
		rw.buf = append(rw.buf, "null"...)
		return
	case len(s) == 0:
		rw.buf = append(rw.buf, "[]"...)
		return
	}
	rw.buf = append(rw.buf, '[')
	for i := range s {
		if rw.err != nil {
			return
		}
		if i > 0 {
			rw.buf = append(rw.buf, ',')
		}
		rw.buf = append(rw.buf, "\n    "...)
		rw.buf = elem(rw.buf, s[i])
		if len(rw.buf) >= reportChunk {
			rw.write()
		}
	}
	rw.buf = append(rw.buf, "\n  ]"...)
}

// appendService writes a service's fields into o and closes it.
func appendService(o Object, s *report.ServiceSummary) []byte {
	o.Str("section", s.Section)
	o.Strs("hosts", s.Hosts)
	o.Int("flows", int64(s.Flows))
	o.Int("ok", int64(s.OK))
	o.Int("failed", int64(s.Failed))
	o.IntOmit("undecided", int64(s.Undecided))
	o.Str("verdict", s.Verdict)
	return o.Close()
}

// appendHost writes a host's fields into o and closes it.
func appendHost(o Object, h *report.HostSummary) []byte {
	o.Str("host", h.Host)
	o.Str("name_source", h.NameSource)
	o.StrOmit("service", h.Service)
	o.StrOmit("section", h.Section)
	o.Strs("ports", h.Ports)
	o.Strs("servers", h.Servers)
	o.Int("flows", int64(h.Flows))
	o.Int("ok", int64(h.OK))
	o.Int("failed", int64(h.Failed))
	o.IntOmit("undecided", int64(h.Undecided))
	o.StrsOmit("findings", h.Findings)
	return o.Close()
}

// appendDevice writes a device's fields into o and closes it.
func appendDevice(o Object, d *report.DeviceSummary) []byte {
	o.Str("address", d.Address)
	o.StrOmit("mac", d.MAC)
	o.StrsOmit("processes", d.Processes)
	o.Int("flows", int64(d.Flows))
	o.Int("apple_flows", int64(d.AppleFlows))
	o.Int("failed", int64(d.Failed))
	o.Int("findings", int64(d.Findings))
	return o.Close()
}
