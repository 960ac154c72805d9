package analyzer

// containsFold reports whether s contains substr, ignoring ASCII case,
// without building a lower-cased copy of s (the judge asks it of catalog
// descriptions for every flow). substr must be lower-case ASCII.
func containsFold(s, substr string) bool {
	n := len(substr)
	for i := 0; i+n <= len(s); i++ {
		j := 0
		for ; j < n; j++ {
			c := s[i+j]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			if c != substr[j] {
				break
			}
		}
		if j == n {
			return true
		}
	}
	return false
}

// hasPort reports whether list holds proto+"/"+p (a HostSummary port),
// without building that string.
func hasPort(list []string, proto string, p uint16) bool {
	var digits [5]byte
	i := len(digits)
	for {
		i--
		digits[i] = byte('0' + p%10)
		if p /= 10; p == 0 {
			break
		}
	}
	d := digits[i:]
	for _, s := range list {
		if len(s) == len(proto)+1+len(d) && s[:len(proto)] == proto && s[len(proto)] == '/' && s[len(proto)+1:] == string(d) {
			return true
		}
	}
	return false
}

// keptOnly is fd when the judge keeps it, else nil.
func keptOnly(fd *Finding, kept bool) *Finding {
	if kept {
		return fd
	}
	return nil
}
