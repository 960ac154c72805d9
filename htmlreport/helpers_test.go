package htmlreport_test

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"orchard/analyzer"
	"orchard/htmlreport"
)

// analyse runs the analyzer over capture files, as orchard does.
func analyse(t testing.TB, files ...string) *analyzer.Report {
	t.Helper()
	e, err := analyzer.New(analyzer.Config{})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if _, err := e.ReadFile(context.Background(), f, nil); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
	}
	r := e.Finish()
	r.Capture.Files = files
	return r
}

// demoReport is the report of the bundled demo capture.
func demoReport(t testing.TB) *analyzer.Report {
	t.Helper()
	r := analyse(t, filepath.Join("..", "testdata", "demo-ipad.pcap"))
	r.Capture.Files = []string{"testdata/demo-ipad.pcap"}
	return r
}

// render renders r and parses the page.
func render(t testing.TB, r *analyzer.Report) ([]byte, *html.Node) {
	t.Helper()
	var buf bytes.Buffer
	if err := htmlreport.Render(&buf, r, htmlreport.Options{}); err != nil {
		t.Fatal(err)
	}
	doc, err := html.Parse(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatalf("page does not parse: %v", err)
	}
	return buf.Bytes(), doc
}

// all returns the nodes under n (n included) for which ok holds, in
// document order.
func all(n *html.Node, ok func(*html.Node) bool) []*html.Node {
	var out []*html.Node
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if ok(n) {
			out = append(out, n)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return out
}

// elements returns the elements named tag under n.
func elements(n *html.Node, tag string) []*html.Node {
	return all(n, func(n *html.Node) bool { return n.Type == html.ElementNode && n.Data == tag })
}

// byID returns the element with id, or nil.
func byID(doc *html.Node, id string) *html.Node {
	got := all(doc, func(n *html.Node) bool { return n.Type == html.ElementNode && attr(n, "id") == id })
	if len(got) == 0 {
		return nil
	}
	return got[0]
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func hasClass(n *html.Node, class string) bool {
	for _, c := range strings.Fields(attr(n, "class")) {
		if c == class {
			return true
		}
	}
	return false
}

// text is the text content under n, as a browser's textContent.
func text(n *html.Node) string {
	var b strings.Builder
	for _, t := range all(n, func(n *html.Node) bool { return n.Type == html.TextNode }) {
		b.WriteString(t.Data)
	}
	return b.String()
}

// activeContent lists what in the page could run or load anything: script
// and embedding elements, event-handler attributes, javascript: or
// external URLs (other than links to Apple's support articles).
func activeContent(doc *html.Node) []string {
	var bad []string
	for _, n := range all(doc, func(n *html.Node) bool { return n.Type == html.ElementNode }) {
		switch strings.ToLower(n.Data) {
		case "script", "img", "iframe", "object", "embed", "link", "base", "form", "frame", "frameset", "video", "audio", "source", "image", "use", "foreignobject", "animate", "set":
			bad = append(bad, "<"+n.Data+">")
		}
		for _, a := range n.Attr {
			k := strings.ToLower(a.Key)
			if strings.HasPrefix(k, "on") {
				bad = append(bad, "<"+n.Data+" "+a.Key+">")
			}
			switch k {
			case "href", "src", "xlink:href", "action", "formaction", "srcset", "poster", "data", "background", "ping":
				if !allowedURL(a.Val) {
					bad = append(bad, "<"+n.Data+" "+a.Key+"="+a.Val+">")
				}
			case "style":
				bad = append(bad, "<"+n.Data+" style>")
			}
		}
		if n.Data == "style" && strings.Contains(text(n), "url(") {
			bad = append(bad, "url( in the style sheet")
		}
	}
	return bad
}

// allowedURL: a link within the page, or to an Apple support article.
func allowedURL(u string) bool {
	return strings.HasPrefix(u, "#") || strings.HasPrefix(u, "https://support.apple.com/")
}

// danglingLinks lists the in-page links whose target is missing.
func danglingLinks(doc *html.Node) []string {
	ids := map[string]bool{}
	for _, n := range all(doc, func(n *html.Node) bool { return n.Type == html.ElementNode && attr(n, "id") != "" }) {
		ids[attr(n, "id")] = true
	}
	var bad []string
	for _, a := range elements(doc, "a") {
		if h := attr(a, "href"); strings.HasPrefix(h, "#") && !ids[h[1:]] {
			bad = append(bad, h)
		}
	}
	return bad
}
