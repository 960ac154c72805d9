// Command gen writes removed.pem: the public roots that older snapshots of
// Mozilla's root store held and the store orchard embeds no longer does,
// each with the last snapshot that had it and the first that did not.
//
//	go run ./trust/anchors/gen DATE=DIR... > trust/anchors/removed.pem
//
// Each DIR is a module holding one snapshot of Mozilla's store, as the Go
// module proxy serves them: golang.org/x/crypto/x509roots/fallback (PEM in
// bundle.go, or DER in bundle/bundle.der) or github.com/certifi/gocertifi
// (PEM in certifi.go); DATE (YYYY-MM-DD) is when the snapshot was taken.
//
// It must never import anything of orchard's own. Nothing may import it.
package main
