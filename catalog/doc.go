// Package catalog holds Apple's published network requirements as data (an
// embedded, human-editable TSV file) and matches host names and addresses
// against it: exact host first, then the longest *.suffix wildcard, then
// CIDR blocks for addresses.
//
// It must never import the analyzer or any packet library.
package catalog
