package htmlreport_test

import (
	"bytes"
	"context"
	"flag"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"orchard/analyzer"
	"orchard/htmlreport"
)

var updateScreenshot = flag.Bool("update-screenshot", false, "rewrite docs/report.png from the browser test's screenshot of the demo")

// screenshotSize is the browser window of the README's screenshot: the
// page's head, what was analysed and every section's verdict.
const screenshotW, screenshotH = 1280, 2060

// findBrowser returns a headless-capable Chromium, or skips the test.
func findBrowser(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("ORCHARD_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("no chromium installed (apt-get install chromium)")
	return ""
}

// browse runs the browser headless on url with extra flags and returns its
// standard output and its log (console messages included).
func browse(t *testing.T, bin, url string, extra ...string) (stdout, log []byte) {
	t.Helper()
	profile, err := os.MkdirTemp("", "orchard-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	// The browser's helpers may still be writing as it exits.
	defer os.RemoveAll(profile)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	args := append([]string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-extensions", "--hide-scrollbars", "--user-data-dir=" + profile,
		"--enable-logging=stderr", "--v=0",
	}, extra...)
	args = append(args, url)
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.WaitDelay = 2 * time.Second
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s", bin, strings.Join(extra, " "), err, errb.Bytes())
	}
	return out.Bytes(), errb.Bytes()
}

// consoleRE matches the browser's log lines for console messages, which
// include CSP violations, failed loads and script errors.
var consoleRE = regexp.MustCompile(`(?m)^.*:CONSOLE[:(].*$`)

func consoleLines(log []byte) []string {
	var out []string
	for _, m := range consoleRE.FindAll(log, -1) {
		out = append(out, string(m))
	}
	return out
}

// TestHTMLInBrowser opens the demo's page in a real headless Chromium: the
// DOM it builds holds every finding, every section and the SVG timeline,
// the console stays silent (the page loads nothing and runs nothing, and
// its policy lets its style sheet apply), it prints, and a screenshot is
// taken (written to docs/report.png with -update-screenshot).
func TestHTMLInBrowser(t *testing.T) {
	bin := findBrowser(t)
	dir := t.TempDir()
	r := demoReport(t)
	page := filepath.Join(dir, "report.html")
	var buf bytes.Buffer
	if err := htmlreport.Render(&buf, r, htmlreport.Options{}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(page, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	url := "file://" + page

	// The four runs are independent: run them side by side, since a
	// browser start takes seconds on a loaded machine.
	t.Run("console-check-works", func(t *testing.T) {
		t.Parallel()
		// The console check must be able to fail: a page that breaks its
		// own policy is caught.
		probe := filepath.Join(dir, "probe.html")
		if err := os.WriteFile(probe, []byte(`<!DOCTYPE html><html><head><meta http-equiv="Content-Security-Policy" content="default-src 'none'"><title>probe</title><style>p{color:red}</style></head><body><p>probe</p><script>console.error("orchard-probe")</script></body></html>`), 0o644); err != nil {
			t.Fatal(err)
		}
		_, log := browse(t, bin, "file://"+probe, "--dump-dom")
		if got := strings.Join(consoleLines(log), "\n"); !strings.Contains(got, "Content Security Policy") {
			t.Fatalf("the browser log shows no console message for a page that breaks its policy; cannot check for console errors:\n%s", log)
		}
	})
	t.Run("dom", func(t *testing.T) {
		t.Parallel()
		dom, log := browse(t, bin, url, "--dump-dom")
		if lines := consoleLines(log); len(lines) > 0 {
			t.Errorf("console messages:\n%s", strings.Join(lines, "\n"))
		}
		checkBrowserDOM(t, dom, r)
	})
	t.Run("print", func(t *testing.T) {
		t.Parallel()
		pdf := filepath.Join(dir, "report.pdf")
		_, log := browse(t, bin, url, "--no-pdf-header-footer", "--print-to-pdf="+pdf)
		if b, err := os.ReadFile(pdf); err != nil || !bytes.HasPrefix(b, []byte("%PDF")) {
			t.Errorf("printing gave no PDF: %v", err)
		}
		if lines := consoleLines(log); len(lines) > 0 {
			t.Errorf("console messages while printing:\n%s", strings.Join(lines, "\n"))
		}
	})
	t.Run("screenshot", func(t *testing.T) {
		t.Parallel()
		shot := filepath.Join(dir, "report.png")
		browse(t, bin, url, "--window-size="+strconv.Itoa(screenshotW)+","+strconv.Itoa(screenshotH), "--screenshot="+shot)
		b, err := os.ReadFile(shot)
		if err != nil {
			t.Fatal(err)
		}
		checkScreenshot(t, b)
		if *updateScreenshot {
			out := filepath.Join("..", "docs", "report.png")
			if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(out, b, 0o644); err != nil {
				t.Fatal(err)
			}
			t.Logf("wrote %s", out)
		}
	})
}

// checkBrowserDOM: the DOM the browser built holds every finding, every
// section and the SVG timeline with a mark per finding.
func checkBrowserDOM(t *testing.T, dom []byte, r *analyzer.Report) {
	t.Helper()
	doc, err := html.Parse(bytes.NewReader(dom))
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range r.Findings {
		card := byID(doc, "f"+strconv.Itoa(i+1))
		if card == nil || !strings.Contains(text(card), f.Finding) || !strings.Contains(text(card), f.Host) || !strings.Contains(text(card), f.Evidence) {
			t.Errorf("browser DOM lacks finding %d (%s %s)", i+1, f.Finding, f.Host)
		}
	}
	services := ""
	for _, n := range elements(doc, "table") {
		if hasClass(n, "services") {
			services = text(n)
		}
	}
	for _, s := range r.Services {
		if !strings.Contains(services, s.Section) {
			t.Errorf("browser DOM lacks section %q", s.Section)
		}
	}
	svgs := elements(doc, "svg")
	if len(svgs) == 0 || len(elements(svgs[0], "title")) == 0 || len(all(svgs[0], func(n *html.Node) bool { return hasClass(n, "mark") })) != len(r.Findings) {
		t.Errorf("browser DOM lacks the SVG timeline with a mark per finding")
	}
}

// checkScreenshot: the PNG has the window's size and shows a page (many
// colours in both halves), not a blank or half-painted window.
func checkScreenshot(t *testing.T, b []byte) {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if sz := img.Bounds().Size(); sz.X != screenshotW || sz.Y != screenshotH {
		t.Errorf("screenshot is %v, want %dx%d", sz, screenshotW, screenshotH)
	}
	for half := range 2 {
		h := img.Bounds().Dy() / 2
		colours := map[[3]uint32]bool{}
		for y := half * h; y < (half+1)*h; y += 3 {
			for x := 0; x < img.Bounds().Dx(); x += 3 {
				r, g, b, _ := img.At(x, y).RGBA()
				colours[[3]uint32{r >> 8, g >> 8, b >> 8}] = true
			}
		}
		if len(colours) < 40 {
			t.Errorf("screenshot half %d has %d colours: nothing drawn", half, len(colours))
		}
	}
}
