package analyzer

import "orchard/report"

// The event and report types live in package report, below the judge, so
// that the outputs can render them without importing the analyzer; these
// aliases keep the analyzer's names.
type (
	// FlowEvent is report.FlowEvent.
	FlowEvent = report.FlowEvent
	// Cert is report.Cert.
	Cert = report.Cert
	// DNSEvent is report.DNSEvent.
	DNSEvent = report.DNSEvent
	// DNSAnswer is report.DNSAnswer.
	DNSAnswer = report.DNSAnswer
	// Severity is report.Severity.
	Severity = report.Severity
	// Finding is report.Finding.
	Finding = report.Finding
	// FindingDef is report.FindingDef.
	FindingDef = report.FindingDef
	// OutputStats is report.OutputStats.
	OutputStats = report.OutputStats
	// Report is report.Report.
	Report = report.Report
	// CaptureInfo is report.CaptureInfo.
	CaptureInfo = report.CaptureInfo
	// LiveStats is report.LiveStats.
	LiveStats = report.LiveStats
	// SocketStats is report.SocketStats.
	SocketStats = report.SocketStats
	// ServiceSummary is report.ServiceSummary.
	ServiceSummary = report.ServiceSummary
	// HostSummary is report.HostSummary.
	HostSummary = report.HostSummary
	// DeviceSummary is report.DeviceSummary.
	DeviceSummary = report.DeviceSummary
	// Visibility is report.Visibility.
	Visibility = report.Visibility
)

// Severities of findings.
const (
	SevInfo  = report.SevInfo
	SevWarn  = report.SevWarn
	SevError = report.SevError
)

// ParseSeverity reads "info", "warn"/"warning" or "error".
func ParseSeverity(s string) (Severity, bool) { return report.ParseSeverity(s) }
