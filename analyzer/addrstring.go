package analyzer

import "net/netip"

// addrString renders an address for reports: "" when unset, IPv4-mapped
// addresses as IPv4.
func addrString(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	return a.Unmap().String()
}
