package htmlreport

import (
	"encoding/json"
	"fmt"
	"strconv"

	"orchard/analyzer"
)

// statLabels name the capture counters in words; counters the page does
// not know yet are shown by their JSON name.
var statLabels = map[string]string{
	"packets":           "packets read",
	"bytes":             "bytes read",
	"tcp":               "TCP packets",
	"udp":               "UDP packets",
	"icmp":              "ICMP packets",
	"non_ip":            "frames that are not IP",
	"fragments":         "IP fragments",
	"fragments_dropped": "fragmented datagrams never completed",
	"undecodable":       "frames that could not be decoded",
	"unsupported_link":  "frames of an unsupported link type",
	"flows":             "flows (connections and UDP exchanges)",
	"flows_evicted":     "flows evicted early (flow table full)",
	"peak_flows":        "most flows open at once",
	"dns_responses":     "DNS responses",
	"malformed":         "malformed DNS, TLS, NTP or HTTP messages",
	"buffer_denied":     "streams not buffered (memory budget spent)",
}

// buildHealth says in plain words how complete the capture and its
// analysis are, and lists every counter.
func buildHealth(c analyzer.CaptureInfo) ([]Note, []Field, error) {
	var notes []Note
	for _, e := range c.Errors {
		notes = append(notes, Note{Level: "error", Text: "Could not be read to the end: " + e})
	}
	if l := c.Live; l != nil {
		n := Note{Level: "ok", Text: fmt.Sprintf("Captured live on %s: %s packets received, none dropped.", l.Interface, thousands(l.Received))}
		if lost := l.DroppedKernel + l.DroppedIface; lost > 0 {
			n.Level = "warn"
			n.Text = fmt.Sprintf("Captured live on %s: %s packets received; the kernel dropped %s and the interface %s%s, so findings may be incomplete.",
				l.Interface, thousands(l.Received), thousands(l.DroppedKernel), thousands(l.DroppedIface), share(lost, l.Received+l.DroppedKernel))
		}
		notes = append(notes, n)
	}
	for _, w := range c.Warnings {
		notes = append(notes, Note{Level: "warn", Text: w})
	}
	st := c.Stats
	if bad := st.Undecodable + st.Unsupported; bad > 0 {
		notes = append(notes, Note{Level: "warn", Text: fmt.Sprintf("%s of %s frames could not be decoded (%s of an unsupported link type): what they carried is not judged.",
			thousands(bad), thousands(st.Packets), thousands(st.Unsupported))})
	}
	if st.FragDropped > 0 {
		notes = append(notes, Note{Level: "warn", Text: thousands(st.FragDropped) + " fragmented IP datagrams could not be put back together and were left out."})
	}
	if st.BufferDenied > 0 {
		notes = append(notes, Note{Level: "warn", Text: thousands(st.BufferDenied) + " connections were not buffered because the memory budget was spent: their TLS or HTTP details may be missing."})
	}
	if st.Malformed > 0 {
		notes = append(notes, Note{Level: "info", Text: thousands(st.Malformed) + " DNS, TLS, NTP or HTTP messages were malformed and skipped."})
	}
	extra, err := captureNotes(c)
	if err != nil {
		return nil, nil, err
	}
	notes = append(notes, extra...)
	clean := true
	for _, n := range notes {
		clean = clean && n.Level != "warn" && n.Level != "error"
	}
	if clean {
		ok := Note{Level: "ok", Text: "Every packet was read and decoded; nothing was dropped or left out by the analysis."}
		notes = append([]Note{ok}, notes...)
	}
	ms, err := objectMembers(st)
	if err != nil {
		return nil, nil, fmt.Errorf("htmlreport: capture counters: %w", err)
	}
	counters := make([]Field, 0, len(ms))
	for _, m := range ms {
		name := statLabels[m.key]
		if name == "" {
			name = humanKey(m.key)
		}
		counters = append(counters, Field{Name: name, Value: counterText(m.val)})
	}
	return notes, counters, nil
}

// captureNotes turns the fields of the capture information c (as JSON) that
// the page does not lay out itself into notes, so a newer report's facts
// are never hidden: the visibility assessment in plain words, any other
// field by its JSON name. An object's "statement", "summary", "message" or
// "warning" text leads its note; the rest are listed.
func captureNotes(c any) ([]Note, error) {
	ms, err := objectMembers(c)
	if err != nil {
		return nil, fmt.Errorf("htmlreport: capture: %w", err)
	}
	var notes []Note
	hasVisibility := false
	for _, m := range ms {
		if captureFields[m.key] {
			continue
		}
		if m.key == "visibility" {
			if n, ok := visibilityNote(m.val); ok {
				hasVisibility = true
				notes = append(notes, n)
				continue
			}
		}
		if n, ok := genericNote(m.key, m.val); ok {
			notes = append(notes, n)
		}
	}
	if !hasVisibility {
		notes = append(notes, Note{Level: "info", Text: "This report does not assess whether both directions of each connection were captured. " +
			"A one-way mirror or asymmetric routing makes answers look missing: check that the capture point sees the devices' traffic both ways."})
	}
	return notes, nil
}

// genericNote shows a capture field the page does not know.
func genericNote(key string, val []byte) (Note, bool) {
	n := Note{Level: "info", Text: humanKey(key)}
	sub, err := members(val)
	if err != nil {
		// A scalar or a list: the value is the note.
		s := valueText(val)
		n.Text += ": " + s
		return n, s != ""
	}
	lead := ""
	for _, f := range sub {
		s := valueText(f.val)
		if s == "" {
			continue
		}
		switch f.key {
		case "statement", "summary", "message", "warning":
			if lead == "" {
				lead = s
				if f.key == "warning" || f.key == "statement" {
					n.Level = "warn"
				}
				continue
			}
		}
		n.Fields = append(n.Fields, Field{Name: humanKey(f.key), Value: s})
	}
	if lead != "" {
		n.Text = humanKey(key) + ": " + lead
	}
	return n, lead != "" || len(n.Fields) > 0
}

// visibilityNote says what the capture could see: the analyzer's
// statement when one direction is missing or loss is high, else that both
// directions were seen, with the counts.
func visibilityNote(val []byte) (Note, bool) {
	sub, err := members(val)
	if err != nil {
		return Note{}, false
	}
	num := map[string]float64{}
	statement := ""
	var fields []Field
	for _, f := range sub {
		if f.key == "statement" {
			_ = json.Unmarshal(f.val, &statement)
			continue
		}
		var v float64
		if json.Unmarshal(f.val, &v) == nil {
			num[f.key] = v
		}
		if s := valueText(f.val); s != "" {
			fields = append(fields, Field{Name: humanKey(f.key), Value: s})
		}
	}
	n := Note{Level: "ok", Fields: fields}
	switch {
	case statement != "":
		n.Level = "warn"
		n.Text = "Visibility: " + statement + "."
	case num["tcp_flows"] > 0:
		n.Text = fmt.Sprintf("Both directions were seen: %s of %s TCP flows have packets from both sides", thousands(uint64(num["both_sides"])), thousands(uint64(num["tcp_flows"])))
		if num["acked_bytes"] > 0 {
			n.Text += fmt.Sprintf(", and the capture missed %s%% of the bytes the endpoints acknowledged", strconv.FormatFloat(100*num["capture_loss"], 'f', 2, 64))
		}
		n.Text += "."
	default:
		// Nothing measured: the counts would all be zero.
		n.Level, n.Fields = "info", nil
		n.Text = "Visibility: not assessed, no TCP connection shows whether both directions were captured."
	}
	if w := num["withheld"]; w > 0 {
		n.Text += fmt.Sprintf(" %s findings that rest on an answer the capture could not show are marked undecided.", thousands(uint64(w)))
	}
	return n, true
}

// share is " (1.25%)" of a out of b.
func share(a, b uint64) string {
	if b == 0 {
		return ""
	}
	pc := 100 * float64(a) / float64(b)
	if pc < 0.01 {
		return " (<0.01%)"
	}
	return " (" + strconv.FormatFloat(pc, 'f', 2, 64) + "%)"
}
