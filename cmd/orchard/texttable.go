package main

import (
	"io"
	"strings"

	"github.com/mattn/go-runewidth"
	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/tw"
)

// cellPad is the padding tablewriter puts on each side of a cell.
const cellPad = 1

// newReportTable is a terminal table in the style every orchard table
// shares: box borders, headings as written, cells wrapped at spaces within
// their column. opts add the widths: a maximum per cell, or the exact
// column widths of fitColumns.
func newReportTable(w io.Writer, opts ...tablewriter.Option) *tablewriter.Table {
	return tablewriter.NewTable(w, append([]tablewriter.Option{
		tablewriter.WithHeaderAutoFormat(tw.Off),
		tablewriter.WithRowAutoWrap(tw.WrapNormal),
	}, opts...)...)
}

// rowLines draws a line between rows, for tables whose rows take several
// lines.
var rowLines = tablewriter.WithRendition(tw.Rendition{
	Settings: tw.Settings{Separators: tw.Separators{BetweenRows: tw.On}},
})

// tableWidth is how wide a box-bordered table with columns of the given
// content widths is: the content, each cell's padding, and a border
// before, between and after the columns.
func tableWidth(content []int) int {
	n := 1
	for _, c := range content {
		n += c + 2*cellPad + 1
	}
	return n
}

// fitColumns gives every column but the last its content width and the
// last what remains of width, at most its own content width. It returns
// the content widths and false when the last column would get fewer than
// minLast columns.
func fitColumns(natural []int, width, minLast int) ([]int, bool) {
	out := append([]int(nil), natural...)
	last := len(out) - 1
	out[last] = 0
	rest := width - tableWidth(out)
	if rest < minLast {
		return out, false
	}
	out[last] = min(natural[last], rest)
	return out, true
}

// columnOptions fixes the table's columns at the content widths given,
// so tablewriter wraps each cell within its column and the table is
// exactly tableWidth(content) wide.
func columnOptions(content []int) tablewriter.Option {
	m := tw.NewMapper[int, int]()
	for i, c := range content {
		m.Set(i, c+2*cellPad)
	}
	return tablewriter.WithColumnWidths(m)
}

// textWidth is the widest line of a cell's text.
func textWidth(lines ...string) int {
	n := 0
	for _, l := range lines {
		n = max(n, runewidth.StringWidth(l))
	}
	return n
}

// breakWords splits every word of s wider than width columns into pieces
// of width columns on lines of their own. tablewriter wraps a cell at
// spaces and cuts what is left of a longer word at the column's edge;
// broken first, a long name from the capture is shown whole.
func breakWords(s string, width int) string {
	if width <= 0 || runewidth.StringWidth(s) <= width {
		return s
	}
	var b strings.Builder
	for i, line := range strings.Split(s, "\n") {
		if i > 0 {
			b.WriteByte('\n')
		}
		for j, word := range strings.Split(line, " ") {
			if j > 0 {
				b.WriteByte(' ')
			}
			for runewidth.StringWidth(word) > width {
				head := runewidth.Truncate(word, width, "")
				if head == "" { // a character wider than the column
					break
				}
				b.WriteString(head)
				b.WriteByte('\n')
				word = word[len(head):]
			}
			b.WriteString(word)
		}
	}
	return b.String()
}
