package catalog

import (
	"crypto/sha256"
	"encoding/hex"
)

// Edition names the embedded catalog: the newest article edition its
// rows come from, then "+" and the first 12 hex digits of the SHA-256 of
// apple.tsv, e.g. "2025+3f2a9c1d0b7e". Two builds print the same edition
// exactly when they carry the same catalog. The release build embeds it
// in the binary's version.
func Edition() string {
	sum := sha256.Sum256(appleTSV)
	digest := hex.EncodeToString(sum[:6])
	rows, err := Builtin()
	if err != nil {
		return "unparsable+" + digest
	}
	return NewestEdition(rows) + "+" + digest
}

// NewestEdition returns the latest dated edition (2023-07, 2024-11, 2025,
// ...) any row lists, or "undated" when none does. Dates compare as text,
// which orders year-month and year alike; undated names such as "older"
// are ignored.
func NewestEdition(rows []Entry) string {
	newest := ""
	for _, r := range rows {
		for _, e := range r.Editions {
			if e != "" && e[0] >= '0' && e[0] <= '9' && e > newest {
				newest = e
			}
		}
	}
	if newest == "" {
		return "undated"
	}
	return newest
}
