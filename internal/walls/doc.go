// Package walls holds no code: its test checks the import walls between
// orchard's packages, so a shortcut that would tangle them fails CI. Data
// flows one way: the pure packages (capture, decode, dissect, catalog,
// trust, communityid, kafkaout and a few helpers) import nothing of
// orchard's, shapes only dissect, defrag only decode, flow only decode, defrag,
// dissect and shapes; the event types (report) only flow for its counters;
// the analyzer builds on them and imports no output; the
// outputs (ecs, eventjson, htmlreport, fleet, kafkaout, internal/sensor)
// are siblings that do not import each other (ecs builds on eventjson),
// and eventjson and fleet render report's types without the analyzer;
// only the commands import tablewriter and pflag; nothing imports a
// command; and no shipped package imports a test tool (internal/capgen,
// internal/demo, internal/stress, internal/lab and the test helpers).
//
// It must never be imported.
package walls
