// Package report holds orchard's event and report types, below the judge:
// the flow, DNS and finding events, the severities, the finding
// definitions' type, and the report with its capture, service, host and
// device summaries. It is pure data: the analyzer fills these types (its
// judge raises the findings, its report builder aggregates them) and the
// outputs render them, so an output that needs only the types (eventjson,
// fleet) does not depend on the analyzer.
//
// The Tally fields are the judge's bookkeeping beside an event's fields;
// they are never encoded.
//
// It must never import the analyzer, the outputs, the commands or the
// test tools; of orchard's packages it imports only flow, for the flow
// engine's counters in CaptureInfo.
package report
