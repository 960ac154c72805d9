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

// keptOnly is fd when the judge keeps it, else nil.
func keptOnly(fd *Finding, kept bool) *Finding {
	if kept {
		return fd
	}
	return nil
}
