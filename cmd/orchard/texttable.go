package main

import (
	"io"
	"strings"
	"unicode/utf8"

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
		n = max(n, strWidth(l))
	}
	return n
}

// breakWords splits every word of s wider than width columns into pieces
// of width columns on lines of their own. tablewriter wraps a cell at
// spaces and cuts what is left of a longer word at the column's edge;
// broken first, a long name from the capture is shown whole.
func breakWords(s string, width int) string {
	if width <= 0 || strWidth(s) <= width {
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
			for strWidth(word) > width {
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

// strWidth is the width of s in columns, as runewidth.StringWidth counts
// it, with its grapheme walk only over what is not printable ASCII (a
// report of 65,536 findings measures its evidence and names millions of
// times). No grapheme cluster holds two printable ASCII characters in a
// row (UAX #29), and the width is the sum of the clusters' widths, so s
// is cut between any two such characters: runs of them count a column a
// byte, and each piece holding anything else, with the printable
// characters on either side of it, goes to runewidth. Invalid UTF-8 goes
// to it whole: its grapheme walk takes a bad lead byte and the bytes after
// it, ASCII or not, as one cluster.
func strWidth(s string) int {
	n := 0
	start := -1 // where the piece runewidth measures begins, or -1
	checked := false
	for i := 0; i < len(s); i++ {
		if !printableASCII(s[i]) {
			if !checked && s[i] >= utf8.RuneSelf {
				if !utf8.ValidString(s[i:]) {
					return runewidth.StringWidth(s)
				}
				checked = true
			}
			if start < 0 {
				start = 0
				if i > 0 {
					start = i - 1 // a cluster's base may come before
					n--
				}
			}
			continue
		}
		if start >= 0 {
			if !printableASCII(s[i-1]) {
				continue // it may end the cluster before it
			}
			n += runewidth.StringWidth(s[start:i])
			start = -1
		}
		n++
	}
	if start >= 0 {
		n += runewidth.StringWidth(s[start:])
	}
	return n
}

// printableASCII reports whether c is a printable ASCII character.
func printableASCII(c byte) bool { return c >= 0x20 && c <= 0x7e }
