package main

import (
	"io"

	"orchard/analyzer"
	"orchard/catalog"
	"orchard/htmlreport"
)

// writeReportHTML renders --format html: one self-contained page.
func writeReportHTML(w io.Writer, r *analyzer.Report, cat *catalog.Catalog) error {
	return htmlreport.Render(w, r, htmlreport.Options{Catalog: cat})
}
