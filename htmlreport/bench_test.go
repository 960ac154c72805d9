package htmlreport_test

import (
	"bytes"
	"testing"

	"orchard/htmlreport"
)

// BenchmarkRenderDemo times the demo's page, catalog lookups included.
func BenchmarkRenderDemo(b *testing.B) {
	r := demoReport(b)
	for b.Loop() {
		var buf bytes.Buffer
		if err := htmlreport.Render(&buf, r, htmlreport.Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
