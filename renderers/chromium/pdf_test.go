package chromium

import (
	"bytes"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/presso-dev/presso/engine"
)

// threePages is a document of three pages whose bodies read "Body one" to
// "Body three".
const threePages = `<html><head><title>Quarterly Report</title>
<style>body { margin: 0; font: 16px sans-serif } section { break-after: page }</style></head>
<body><section>Body one</section><section>Body two</section><section>Body three</section></body></html>`

func pdfRequest(html string, opts *engine.PDFOptions) engine.RenderRequest {
	req := htmlRequest(html)
	req.Page.PDF = opts
	return req
}

func TestPDFContainsText(t *testing.T) {
	pdf := mustRender(t, engine.KindPDF, htmlRequest(`<h1>Hello Presso</h1><p>Second line</p>`))

	if !bytes.HasPrefix(pdf, []byte("%PDF-")) {
		t.Fatalf("output starts with %q, want %%PDF-", pdf[:min(len(pdf), 8)])
	}
	text := pdfText(t, pdf, 0, 0)
	for _, want := range []string{"Hello Presso", "Second line"} {
		if !strings.Contains(text, want) {
			t.Errorf("PDF text %q does not contain %q", text, want)
		}
	}
	if pages := pdfPages(t, pdf); pages != 1 {
		t.Errorf("pages = %d, want 1", pages)
	}
}

func TestPDFPaperSize(t *testing.T) {
	cases := []struct {
		name          string
		opts          *engine.PDFOptions
		width, height float64
	}{
		{"default is Letter", nil, 612, 792},
		{"A4", &engine.PDFOptions{Format: "A4"}, 595, 842},
		{"format is case-insensitive", &engine.PDFOptions{Format: "a4"}, 595, 842},
		{"landscape swaps A4", &engine.PDFOptions{Format: "A4", Landscape: true}, 842, 595},
		{"Legal", &engine.PDFOptions{Format: "legal"}, 612, 1008},
		{"width and height", &engine.PDFOptions{Width: length(t, "210mm"), Height: length(t, "297mm")}, 595, 842},
		{"width overrides format", &engine.PDFOptions{Format: "A4", Width: length(t, "8.5in")}, 612, 842},
		{"width in CSS pixels", &engine.PDFOptions{Width: length(t, "816"), Height: length(t, "96px")}, 612, 72},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			pdf := mustRender(t, engine.KindPDF, pdfRequest(`<p>size</p>`, tc.opts))
			requirePageSize(t, pdf, tc.width, tc.height)
		})
	}
}

func TestPDFPreferCSSPageSize(t *testing.T) {
	html := `<style>@page { size: 4in 5in }</style><p>css size</p>`

	pdf := mustRender(t, engine.KindPDF, pdfRequest(html, &engine.PDFOptions{PreferCSSPageSize: true}))
	requirePageSize(t, pdf, 288, 360)

	pdf = mustRender(t, engine.KindPDF, pdfRequest(html, &engine.PDFOptions{}))
	requirePageSize(t, pdf, 612, 792)
}

func TestPDFMarginMovesText(t *testing.T) {
	html := `<body style="margin:0"><p style="margin:0">Marker</p></body>`

	flush := mustRender(t, engine.KindPDF, pdfRequest(html, &engine.PDFOptions{}))
	indented := mustRender(t, engine.KindPDF, pdfRequest(html, &engine.PDFOptions{
		Margin: &engine.Margin{Left: length(t, "1in"), Top: length(t, "0.5in")},
	}))

	flushX, flushY, _, _ := wordBox(t, flush, "Marker")
	indentedX, indentedY, _, _ := wordBox(t, indented, "Marker")
	if shift := indentedX - flushX; shift < 70 || shift > 74 {
		t.Errorf("left margin of 1in moved the text by %.1f pts, want 72", shift)
	}
	if shift := indentedY - flushY; shift < 34 || shift > 38 {
		t.Errorf("top margin of 0.5in moved the text by %.1f pts, want 36", shift)
	}
}

func TestPDFScaleEnlargesText(t *testing.T) {
	html := `<p style="font-size:20px">Scaled</p>`

	normal := mustRender(t, engine.KindPDF, pdfRequest(html, &engine.PDFOptions{}))
	double := mustRender(t, engine.KindPDF, pdfRequest(html, &engine.PDFOptions{Scale: 2}))

	x0, _, x1, _ := wordBox(t, normal, "Scaled")
	x2, _, x3, _ := wordBox(t, double, "Scaled")
	if ratio := (x3 - x2) / (x1 - x0); ratio < 1.9 || ratio > 2.1 {
		t.Errorf("scale 2 made the word %.2f times as wide, want 2", ratio)
	}
}

func TestPDFHeaderFooterPageNumbers(t *testing.T) {
	pdf := mustRender(t, engine.KindPDF, pdfRequest(threePages, &engine.PDFOptions{
		DisplayHeaderFooter: true,
		HeaderTemplate:      b64(`<div style="font-size:10px">Header <span class="title"></span></div>`),
		FooterTemplate:      b64(`<div style="font-size:10px">Page <span class="pageNumber"></span> of <span class="totalPages"></span></div>`),
		Margin:              &engine.Margin{Top: length(t, "1in"), Bottom: length(t, "1in")},
	}))

	if pages := pdfPages(t, pdf); pages != 3 {
		t.Fatalf("pages = %d, want 3", pages)
	}
	for page, footer := range []string{"Page 1 of 3", "Page 2 of 3", "Page 3 of 3"} {
		text := pdfText(t, pdf, page+1, page+1)
		if !strings.Contains(text, footer) {
			t.Errorf("page %d text %q does not contain the footer %q", page+1, text, footer)
		}
		if !strings.Contains(text, "Header Quarterly Report") {
			t.Errorf("page %d text %q does not contain the header with the title", page+1, text)
		}
	}
}

func TestPDFPageRanges(t *testing.T) {
	pdf := mustRender(t, engine.KindPDF, pdfRequest(threePages, &engine.PDFOptions{PageRanges: "2-3"}))

	if pages := pdfPages(t, pdf); pages != 2 {
		t.Fatalf("pages = %d, want 2", pages)
	}
	text := pdfText(t, pdf, 0, 0)
	if strings.Contains(text, "Body one") || !strings.Contains(text, "Body two") || !strings.Contains(text, "Body three") {
		t.Errorf("text of pages 2-3 = %q, want Body two and Body three only", text)
	}
}

func TestPDFPageRangesWithSpaces(t *testing.T) {
	for _, ranges := range []string{"2 -", " 2 - 3 ", "3 , 2 -"} {
		pdf := mustRender(t, engine.KindPDF, pdfRequest(threePages, &engine.PDFOptions{PageRanges: ranges}))
		if pages := pdfPages(t, pdf); pages != 2 {
			t.Errorf("pageRanges %q: pages = %d, want 2", ranges, pages)
		}
	}
}

func TestPDFPageRangesPastLastPage(t *testing.T) {
	_, err := renderJob(t, sharedRenderer(t), engine.KindPDF, pdfRequest(threePages, &engine.PDFOptions{PageRanges: "5-6"}), defaultTestTimeout)

	jobErr := requireJobError(t, err, engine.CodeRenderFailed)
	if !strings.Contains(jobErr.Message, "printing the page failed") {
		t.Errorf("message = %q, want it to say that printing failed", jobErr.Message)
	}
}

func TestPDFTaggedAndOutline(t *testing.T) {
	html := `<h1>Chapter One</h1><p>text</p><h1>Chapter Two</h1><p>text</p>`

	plain := mustRender(t, engine.KindPDF, pdfRequest(html, &engine.PDFOptions{}))
	rich := mustRender(t, engine.KindPDF, pdfRequest(html, &engine.PDFOptions{Tagged: true, Outline: true}))

	if tagged := pdfInfo(t, plain)["Tagged"]; tagged != "no" {
		t.Errorf("without tagged: pdfinfo Tagged = %q, want no", tagged)
	}
	if tagged := pdfInfo(t, rich)["Tagged"]; tagged != "yes" {
		t.Errorf("with tagged: pdfinfo Tagged = %q, want yes", tagged)
	}
	if bytes.Contains(plain, []byte("/Outlines")) {
		t.Error("without outline: the PDF has an /Outlines entry")
	}
	if !bytes.Contains(rich, []byte("/Outlines")) {
		t.Error("with outline: the PDF has no /Outlines entry")
	}
}

func TestPDFPrintBackground(t *testing.T) {
	html := `<html style="background:#ff0000"><body><p>red</p></body></html>`

	with := mustRender(t, engine.KindPDF, pdfRequest(html, &engine.PDFOptions{PrintBackground: true}))
	without := mustRender(t, engine.KindPDF, pdfRequest(html, &engine.PDFOptions{}))

	if r, g, b := pdfCornerColor(t, with); r < 200 || g > 50 || b > 50 {
		t.Errorf("with printBackground: corner colour = %d,%d,%d, want red", r, g, b)
	}
	if r, g, b := pdfCornerColor(t, without); r < 200 || g < 200 || b < 200 {
		t.Errorf("without printBackground: corner colour = %d,%d,%d, want white", r, g, b)
	}
}

// pdfCornerColor rasterises the first page with pdftoppm and returns the
// 8-bit colour of a pixel near its bottom-right corner, away from the text.
func pdfCornerColor(t *testing.T, pdf []byte) (r, g, b uint32) {
	t.Helper()
	if _, err := exec.LookPath("pdftoppm"); err != nil {
		t.Fatalf("pdftoppm is missing; install poppler-utils (make prepare): %v", err)
	}
	prefix := filepath.Join(t.TempDir(), "page")
	poppler(t, "pdftoppm", "-png", "-r", "20", "-f", "1", "-l", "1", "-singlefile", writeTemp(t, "doc.pdf", pdf), prefix)
	file, err := os.Open(prefix + ".png")
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	img, err := png.Decode(file)
	if err != nil {
		t.Fatalf("decoding the pdftoppm output: %v", err)
	}
	bounds := img.Bounds()
	return rgb8(img, bounds.Max.X-5, bounds.Max.Y-5)
}

func rgb8(img image.Image, x, y int) (r, g, b uint32) {
	r, g, b, _ = img.At(x, y).RGBA()
	return r >> 8, g >> 8, b >> 8
}

// BenchmarkRenderPDF measures a warm one-page render from setContent HTML
// to the last byte of the PDF, one render at a time.
func BenchmarkRenderPDF(b *testing.B) {
	r := sharedRenderer(b)
	req := htmlRequest(`<h1>Invoice 42</h1><p>One page of text.</p>`)
	if _, err := renderJob(b, r, engine.KindPDF, req, defaultTestTimeout); err != nil {
		b.Fatalf("warm-up render: %v", err)
	}
	for b.Loop() {
		if _, err := renderJob(b, r, engine.KindPDF, req, defaultTestTimeout); err != nil {
			b.Fatal(err)
		}
	}
}
