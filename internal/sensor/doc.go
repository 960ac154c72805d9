// Package sensor holds what running orchard as a long-lived sensor needs
// beside the analysis: Prometheus metrics and a health check, suppression
// of repeated findings in the event stream, and an event file that
// rotates.
//
// It must never import the other outputs (ecs, eventjson, htmlreport,
// fleet, kafkaout) or the commands.
package sensor
