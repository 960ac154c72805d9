package analyzer

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

// raise makes a verdict of the finding d with its rule's severity.
func raise(d *FindingDef, evidence string) verdict {
	return verdict{def: d, sev: d.Severity, evidence: evidence}
}

// advice says what to do about the finding d for the host of at.
func advice(d *FindingDef, at *attribution) string {
	if d.ProxyAdvice && at.best != nil && at.best.Proxy == "no" {
		return d.Advice + " Apple says this host does not work through a proxy."
	}
	return d.Advice
}
