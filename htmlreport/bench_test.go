package htmlreport_test

import (
	"bytes"
	"io"
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

// BenchmarkBuildLarge times the page model of a report at the tracking
// cap (65536 findings), the copy of the report included.
func BenchmarkBuildLarge(b *testing.B) {
	r := largeReport()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := htmlreport.Build(r, htmlreport.Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRenderLarge times the whole page of that report.
func BenchmarkRenderLarge(b *testing.B) {
	r := largeReport()
	b.ReportAllocs()
	for b.Loop() {
		if err := htmlreport.Render(io.Discard, r, htmlreport.Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
