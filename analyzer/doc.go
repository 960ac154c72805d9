// Package analyzer is orchard's pipeline: it reads captures, hands their
// frames to flow engines (package flow), names each ended flow's host,
// judges it against the catalog and aggregates findings.
//
// One type per role:
//
//   - flow.Engine (package flow): decode, IP reassembly (package defrag),
//     the flow table, TCP state and stream buffers, the feeders and the
//     dissectors; it hands ended flows and DNS answers to a flow.Sink and
//     knows nothing of findings;
//   - judge (judge.go): attribution, the DNS cache, chain verdicts
//     (package trust), server shapes (package shapes), the rules and the
//     tallies; it is the one-worker engine's sink and holds no engine
//     (what it reads beside the flows is judgeEnv);
//   - the report (report.go): findings, hosts, services and devices, built
//     from the judge's tallies into the types of package report, which
//     holds the event and report types below the judge (types.go keeps
//     the analyzer's names for them as aliases);
//   - Engine (wiring.go): the two wirings of those parts, one worker in
//     the caller's goroutine, or N workers and a judging goroutine
//     (Parallel, parallel.go): the analyzer's only goroutines.
//
// It must never import the commands or the outputs that render its events
// (ecs, eventjson, htmlreport, fleet, kafkaout, internal/sensor), nor the
// test tools (internal/capgen, internal/demo, internal/stress,
// internal/lab), and never writes to a terminal itself.
package analyzer
