// Package catalog holds Apple's published network requirements as data (an
// embedded, human-editable TSV file) and matches host names and addresses
// against it: exact host first, then the longest *.suffix wildcard, then
// CIDR blocks for addresses.
//
// It is one of the pure packages: it must never import anything of
// orchard's own, nor any packet library.
package catalog
