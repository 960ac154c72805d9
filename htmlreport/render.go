package htmlreport

import (
	"bufio"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"io"
	"strings"
	"sync"

	"orchard/analyzer"
)

//go:embed page.html.tmpl
var pageSource string

//go:embed page.css
var pageCSS string

// pageTemplate is parsed once, when a page is first written (not at
// start-up: every run of orchard would pay for it); executing it is safe
// for concurrent use.
var pageTemplate = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("page").Funcs(template.FuncMap{
		"levelLabel": levelLabel,
		"inc":        func(i int) int { return i + 1 },
		"trimF":      func(id string) string { return strings.TrimPrefix(id, "f") },
	}).Parse(pageSource))
})

// csp is the page's Content-Security-Policy: nothing may be loaded or run,
// only the page's own style sheet (by its hash) applies.
func csp() string {
	sum := sha256.Sum256([]byte(pageCSS))
	return "default-src 'none'; style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'; img-src data:; base-uri 'none'; form-action 'none'"
}

func levelLabel(l string) string {
	switch l {
	case "ok":
		return "ok"
	case "warn":
		return "warning"
	case "error":
		return "error"
	}
	return "note"
}

// view is what the template sees: the page plus its style.
type view struct {
	*Page
	CSS template.CSS
	CSP string
}

// Write renders the page as one self-contained HTML document.
func (p *Page) Write(w io.Writer) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	if err := pageTemplate().Execute(bw, view{Page: p, CSS: template.CSS(pageCSS), CSP: csp()}); err != nil {
		return fmt.Errorf("htmlreport: render: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("htmlreport: write: %w", err)
	}
	return nil
}

// Render builds the page for r and writes it to w.
func Render(w io.Writer, r *analyzer.Report, o Options) error {
	p, err := Build(r, o)
	if err != nil {
		return err
	}
	return p.Write(w)
}
