package report

// FindingDef defines one finding, once: its stable name, the severities
// its rule gives it, what to do about it, and how it rolls up into its
// section's verdict and into the outputs. Each is declared beside the rule
// that raises it (as Zeek declares its notices in the script that raises
// them); the report, the service roll-up, the push fallback, the event
// stream's alert types and the README's findings table all read it.
type FindingDef struct {
	// Name is stable, like Zeek's notices: alerts are built on it.
	Name string
	// Severity is what the rule gives it; Also, when set, the other
	// severity some occurrences get (a reset that is not injected is a
	// warning, iCloud Private Relay's blocked names are information).
	// A finding the capture cannot decide is information whatever these say.
	Severity Severity
	Also     Severity
	// Advice says in one line what an admin can do about it. ProxyAdvice
	// adds Apple's warning when the catalog says the host does not work
	// through a proxy.
	Advice      string
	ProxyAdvice bool
	// Intercepts: a warning or error of it makes its section INTERCEPTED.
	Intercepts bool
	// PerMessage: judged per DNS message, not per flow, so its count adds
	// to its section's failures (a flow's finding is in its host's tally).
	PerMessage bool
	// Unit is what its count counts, in the evidence beside a count.
	Unit string
	// Absent: it may rest only on an answer that never came, and is then
	// undecided when the capture could not have seen the answer.
	Absent bool
	// ConnFailure: the connection did not get through (push over 5223
	// that did counts toward apns.fallback once the device reached 443).
	ConnFailure bool
	// Denies: the network refused the service (an ECS "denied" alert).
	Denies bool
}
