package catalog

import (
	"bytes"
	_ "embed"
	"fmt"
)

//go:embed apple.tsv
var appleTSV []byte

// BuiltinName is the file name used in errors about the embedded catalog.
const BuiltinName = "apple.tsv"

// Default parses and indexes the embedded catalog. Each call builds a new
// catalog; callers keep the result.
func Default() (*Catalog, error) {
	rows, err := Builtin()
	if err != nil {
		return nil, err
	}
	return New(rows), nil
}

// Builtin returns the rows of the embedded catalog, with Source "builtin".
func Builtin() ([]Entry, error) {
	rows, err := Parse(bytes.NewReader(appleTSV), BuiltinName)
	if err != nil {
		return nil, fmt.Errorf("embedded catalog: %w", err)
	}
	for i := range rows {
		rows[i].Source = BuiltinSource
	}
	return rows, nil
}
