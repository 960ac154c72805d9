// Package kafkaout sends orchard's events to a Kafka topic with franz-go:
// keyed by Community ID (so one flow's events land in one partition),
// through an idempotent producer, asynchronously with a bounded buffer so a
// slow or absent broker never stalls the capture. What could not be
// buffered or delivered is counted, and Close flushes within a deadline.
//
// It moves bytes and must never import anything of orchard's own: the
// command hands it encoded events.
package kafkaout
