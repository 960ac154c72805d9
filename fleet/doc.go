// Package fleet joins the reports of many orchard sensors into one view:
// each sensor's verdict for each of Apple's service sections, the findings
// that hit the most sensors and devices, and each sensor's capture health.
//
// It reads reports (the types of package report) and must never import
// the analyzer, the other outputs (ecs, eventjson, htmlreport, kafkaout,
// internal/sensor) or the commands.
package fleet
