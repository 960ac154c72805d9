package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/olekukonko/tablewriter"
	"github.com/spf13/pflag"

	"orchard/catalog"
)

const catalogUsage = `Usage: orchard catalog [flags] [HOST|IP|PATTERN ...]

List Apple's published network requirements (hosts, ports, protocols), or
look up which catalog rows a host name or address matches.

Without arguments the whole catalog is printed, grouped by section. With
arguments, each is matched like the analyzer does: an exact host row first,
else the longest *.suffix wildcard; an IP address against the CIDR rows, most
specific first. A pattern written as in the catalog (*.push.apple.com,
17.0.0.0/8) shows that row.

Flags:
%s
Exit status: 0 when every argument matched, 1 when one matched nothing,
2 on a usage error or an unusable --catalog file.

Examples:
  orchard catalog
  orchard catalog --section "software updates"
  orchard catalog 1-courier.push.apple.com
  orchard catalog 17.249.12.3 2620:149:a44::10
  orchard catalog --format json gs.apple.com
  orchard catalog --catalog mdm.tsv --format csv > catalog.csv
`

// catalogRow is one output row: a catalog entry, and for look-ups the query
// and how it matched.
type catalogRow struct {
	Query       string   `json:"query,omitempty"`
	Match       string   `json:"match,omitempty"`
	Section     string   `json:"section"`
	Host        string   `json:"host"`
	Ports       []uint16 `json:"ports"`
	Protocols   []string `json:"protocols"`
	OS          string   `json:"os"`
	Description string   `json:"description"`
	Proxy       string   `json:"proxy"`
	Editions    []string `json:"editions"`
	Note        string   `json:"note"`
	Source      string   `json:"source"`
	CatchAll    bool     `json:"catch_all"`
}

// runCatalog implements "orchard catalog": it lists the catalog or looks
// hosts up, and returns the exit status.
func runCatalog(args []string, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet("orchard catalog", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	format := fs.String("format", "table", "output format: table, json or csv")
	var extra []string
	fs.StringArrayVar(&extra, "catalog", nil, "extra catalog `FILE` (tab-separated, same columns as the built-in one); a row with the same section and host replaces the built-in row (repeatable)")
	section := fs.String("section", "", "only rows whose section contains `NAME` (case-insensitive)")
	help := fs.BoolP("help", "h", false, "show this help")
	usage := func(w io.Writer) {
		fmt.Fprintf(w, catalogUsage, fs.FlagUsages())
	}
	if err := fs.Parse(args); err != nil {
		fmt.Fprintf(stderr, "orchard catalog: %s (see orchard catalog -h)\n", flagErrorText(err))
		return 2
	}
	if *help {
		usage(stdout)
		return 0
	}
	*format = strings.ToLower(*format)
	switch *format {
	case "table", "json", "csv":
	default:
		fmt.Fprintf(stderr, "orchard catalog: unknown --format %q (want table, json or csv)\n", *format)
		return 2
	}

	cat, err := loadCatalog(extra)
	if err != nil {
		fmt.Fprintf(stderr, "orchard catalog: %v\n", err)
		return 2
	}
	inSection := func(e *catalog.Entry) bool {
		return *section == "" || strings.Contains(strings.ToLower(e.Section), strings.ToLower(*section))
	}

	var rows []catalogRow
	status := 0
	if fs.NArg() == 0 {
		all := cat.Entries()
		for i := range all {
			if inSection(&all[i]) {
				rows = append(rows, toRow(&all[i], "", ""))
			}
		}
		if len(rows) == 0 {
			fmt.Fprintf(stderr, "orchard catalog: no section matches %q\n", *section)
			return 1
		}
	} else {
		for _, q := range fs.Args() {
			matched, how := lookup(cat, q)
			n := 0
			for _, e := range matched {
				if inSection(e) {
					rows = append(rows, toRow(e, q, how(e)))
					n++
				}
			}
			if n == 0 {
				if len(matched) > 0 {
					fmt.Fprintf(stderr, "orchard catalog: %q matches no row in a section containing %q\n", q, *section)
				} else {
					fmt.Fprintf(stderr, "orchard catalog: %q matches no catalog row\n", q)
				}
				status = 1
			}
		}
	}

	switch *format {
	case "json":
		err = writeJSON(stdout, rows)
	case "csv":
		err = writeCSV(stdout, rows, fs.NArg() > 0)
	default:
		if fs.NArg() == 0 {
			err = writeSections(stdout, rows)
		} else {
			err = writeMatches(stdout, rows)
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "orchard catalog: write: %v\n", err)
		return 1
	}
	return status
}

// loadCatalog returns the built-in catalog with the rows of each extra file
// applied in order.
func loadCatalog(files []string) (*catalog.Catalog, error) {
	cat, err := catalog.Default()
	if err != nil {
		return nil, err
	}
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			return nil, fmt.Errorf("--catalog: %w", err)
		}
		rows, err := catalog.Parse(f, name)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("--catalog: %w", err)
		}
		cat = catalog.WithExtra(cat, rows)
	}
	return cat, nil
}

// lookup matches one query and returns the rows and a function naming how
// each matched.
func lookup(cat *catalog.Catalog, q string) ([]*catalog.Entry, func(*catalog.Entry) string) {
	if strings.ContainsAny(q, "*/") {
		if rows := cat.Lookup(q); rows != nil {
			return rows, func(*catalog.Entry) string { return "pattern" }
		}
	}
	return cat.Match(q), func(e *catalog.Entry) string {
		how := e.Kind().String()
		if e.IsCatchAll() {
			how += " (catch-all)"
		}
		return how
	}
}

func toRow(e *catalog.Entry, query, match string) catalogRow {
	r := catalogRow{
		Query: query, Match: match,
		Section: e.Section, Host: e.Host,
		Ports: e.Ports, Protocols: e.Protocols,
		OS: e.OS, Description: e.Description, Proxy: e.Proxy,
		Editions: e.Editions, Note: e.Note, Source: e.Source,
		CatchAll: e.IsCatchAll(),
	}
	if r.Ports == nil {
		r.Ports = []uint16{}
	}
	if r.Protocols == nil {
		r.Protocols = []string{}
	}
	if r.Editions == nil {
		r.Editions = []string{}
	}
	return r
}

func writeJSON(w io.Writer, rows []catalogRow) error {
	if rows == nil {
		rows = []catalogRow{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rows)
}

func writeCSV(w io.Writer, rows []catalogRow, withQuery bool) error {
	cw := csv.NewWriter(w)
	head := []string{"section", "host", "ports", "protocols", "os", "description", "proxy", "editions", "note", "source"}
	if withQuery {
		head = append([]string{"query", "match"}, head...)
	}
	if err := cw.Write(head); err != nil {
		return err
	}
	for _, r := range rows {
		rec := []string{r.Section, r.Host, joinPorts(r.Ports, ","), strings.Join(r.Protocols, ","), r.OS, r.Description,
			r.Proxy, strings.Join(r.Editions, ","), r.Note, r.Source}
		if withQuery {
			rec = append([]string{r.Query, r.Match}, rec...)
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// writeSections prints one table per section, in catalog order.
func writeSections(w io.Writer, rows []catalogRow) error {
	var order []string
	bySection := map[string][]catalogRow{}
	for _, r := range rows {
		if _, ok := bySection[r.Section]; !ok {
			order = append(order, r.Section)
		}
		bySection[r.Section] = append(bySection[r.Section], r)
	}
	for i, s := range order {
		if i > 0 {
			if _, err := io.WriteString(w, "\n"); err != nil {
				return err
			}
		}
		if _, err := fmt.Fprintf(w, "%s (%d)\n", s, len(bySection[s])); err != nil {
			return err
		}
		t := newTable(w)
		t.Header("Host", "Ports", "Protocols", "OS", "Description", "Proxy", "Editions")
		for _, r := range bySection[s] {
			if err := t.Append([]string{r.Host, portsText(r.Ports), protocolsText(r.Protocols), r.OS, r.Description, proxyText(r.Proxy), strings.Join(r.Editions, ", ")}); err != nil {
				return err
			}
		}
		if err := t.Render(); err != nil {
			return err
		}
	}
	return nil
}

// writeMatches prints the rows matched by look-ups in one table.
func writeMatches(w io.Writer, rows []catalogRow) error {
	if len(rows) == 0 {
		return nil
	}
	t := newTable(w)
	t.Header("Query", "Match", "Section", "Host", "Ports", "Protocols", "Description", "Proxy", "Note")
	for _, r := range rows {
		if err := t.Append([]string{r.Query, r.Match, r.Section, r.Host, portsText(r.Ports), protocolsText(r.Protocols), r.Description, proxyText(r.Proxy), r.Note}); err != nil {
			return err
		}
	}
	return t.Render()
}

// newTable is a catalog table: cells wrap at 36 columns.
func newTable(w io.Writer) *tablewriter.Table {
	return newReportTable(w, tablewriter.WithRowMaxWidth(36))
}

func joinPorts(ports []uint16, sep string) string {
	var b strings.Builder
	for i, p := range ports {
		if i > 0 {
			b.WriteString(sep)
		}
		b.WriteString(strconv.Itoa(int(p)))
	}
	return b.String()
}

func portsText(ports []uint16) string {
	if len(ports) == 0 {
		return "any"
	}
	return joinPorts(ports, ", ")
}

func protocolsText(p []string) string {
	if len(p) == 0 {
		return "any"
	}
	return strings.Join(p, ", ")
}

func proxyText(p string) string {
	if p == "" {
		return "not stated"
	}
	return p
}
