// Package filltest sets every exported field of a value for tests that
// compare an encoder with encoding/json, so a field the encoder does not
// know shows as a difference.
//
// It is a test tool: it must never import anything of orchard's own, and
// no shipped package may import it.
package filltest
