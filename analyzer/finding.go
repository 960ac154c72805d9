package analyzer

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

// Units of a finding's count.
const (
	unitConnections = "connections"
	unitAnswers     = "answers"
	unitQueries     = "queries"
	unitExchanges   = "exchanges"
)

// definitions lists every finding the rules raise, in the README's order.
func definitions() []*FindingDef {
	return []*FindingDef{
		&defSYNUnanswered, &defSYNRejected, &defICMPUnreachable, &defReset,
		&defIntercepted, &defCertExpired, &defCertNotYetValid,
		&defHelloUnanswered, &defAborted, &defMiddlebox, &defDowngraded,
		&defDNSFailure, &defDNSSinkhole, &defDNSUnanswered,
		&defNTPUnanswered, &defNTPBad, &defUDPUnanswered,
		&defProxyDenied, &defAPNSFallback, &defPortUnlisted,
	}
}

// Definitions returns every finding's definition, in the order the
// README's findings table lists them.
func Definitions() []FindingDef {
	defs := definitions()
	out := make([]FindingDef, len(defs))
	for i, d := range defs {
		out[i] = *d
	}
	return out
}

// Definition returns the definition of the finding called name.
func Definition(name string) (FindingDef, bool) {
	if d := lookupDef(name); d != nil {
		return *d, true
	}
	return FindingDef{}, false
}

// lookupDef returns the definition called name, or nil.
func lookupDef(name string) *FindingDef {
	for _, d := range definitions() {
		if d.Name == name {
			return d
		}
	}
	return nil
}

// raise makes a verdict of the finding with its rule's severity.
func (d *FindingDef) raise(evidence string) verdict {
	return verdict{def: d, sev: d.Severity, evidence: evidence}
}

// advice says what to do about the finding for the host of at.
func (d *FindingDef) advice(at *attribution) string {
	if d.ProxyAdvice && at.best != nil && at.best.Proxy == "no" {
		return d.Advice + " Apple says this host does not work through a proxy."
	}
	return d.Advice
}
