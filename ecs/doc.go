// Package ecs renders orchard's events as Elastic Common Schema documents,
// one JSON object a line, for Elasticsearch, OpenSearch and anything else
// that reads ECS (Filebeat, Logstash, Vector, a Kafka connector).
//
// Flows are network connection events, DNS responses protocol events with
// dns.*, findings alerts with rule.* naming the finding and Apple's
// article; orchard's own facts (JA4, findings, catalog section, how the
// name was learned) are under orchard.*. Every field is checked against
// ECS's flat schema by this package's tests.
//
// It renders the analyzer's events and must never import the other
// outputs (htmlreport, fleet, kafkaout, internal/sensor) or the commands;
// eventjson is the one it builds on.
package ecs
