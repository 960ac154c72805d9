// Package eventjson appends orchard's flow, DNS and finding events as JSON,
// byte for byte what encoding/json writes for them (with HTML escaping off,
// as the NDJSON stream has it), without reflection and without allocating:
// the Kafka output encodes hundreds of thousands of events a second. It
// also writes the whole report of --format json (WriteReport), element by
// element through one bounded buffer, indented as encoding/json indents it.
//
// Its tests compare it with encoding/json on every event of the demo and
// the shared captures, on fuzzed events, and check that it names every
// field of the event types, so a field added to them cannot be missed.
//
// It renders the event types of package report and must never import the
// analyzer, the other outputs (ecs, htmlreport, fleet, kafkaout,
// internal/sensor) or the commands.
package eventjson
