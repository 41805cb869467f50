package engine

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"image"
	_ "image/jpeg" // registers the decoder of JPEG headers for image.DecodeConfig
	_ "image/png"  // registers the decoder of PNG headers for image.DecodeConfig
	"io"
	"math"
	"regexp"
	"strconv"

	_ "golang.org/x/image/webp" // registers the decoder of WebP headers for image.DecodeConfig
)

// Limits bound what one request may ask for and what one render may
// produce. A zero field means no bound.
type Limits struct {
	// MaxHTMLBytes bounds the decoded page.setContent.html. Default 5 MiB.
	MaxHTMLBytes int `koanf:"max_html_bytes"`
	// MaxHeaders and MaxHeaderBytes bound page.setExtraHTTPHeaders and
	// doppio.webhook.headers: their count, and the length of each name and
	// value together. Defaults 50 and 8 KiB.
	MaxHeaders     int `koanf:"max_headers"`
	MaxHeaderBytes int `koanf:"max_header_bytes"`
	// MaxCookies and MaxCookieBytes bound page.setCookies: their count, and
	// the length of each name and value together. Defaults 50 and 4 KiB.
	MaxCookies     int `koanf:"max_cookies"`
	MaxCookieBytes int `koanf:"max_cookie_bytes"`
	// MaxOutputBytes bounds the size of one document. Default 100 MiB.
	MaxOutputBytes int64 `koanf:"max_output_bytes"`
	// MaxPDFPages bounds the pages of one PDF. Default 2000.
	MaxPDFPages int `koanf:"max_pdf_pages"`
	// MaxScreenshotPixels bounds width × height of one screenshot, in
	// device pixels. Default 40,000,000 (for example 2,000 × 20,000).
	MaxScreenshotPixels int64 `koanf:"max_screenshot_pixels"`
}

// DefaultLimits returns the bounds used where the configuration sets none.
func DefaultLimits() Limits {
	return Limits{
		MaxHTMLBytes:        5 << 20,
		MaxHeaders:          50,
		MaxHeaderBytes:      8 << 10,
		MaxCookies:          50,
		MaxCookieBytes:      4 << 10,
		MaxOutputBytes:      100 << 20,
		MaxPDFPages:         2000,
		MaxScreenshotPixels: 40_000_000,
	}
}

// CheckRequest returns the request's violations of the limits, each with
// its field path and the configuration key that sets the bound.
func (l Limits) CheckRequest(r *RenderRequest) []FieldError {
	var errs []FieldError
	add := func(path, format string, args ...any) {
		errs = append(errs, FieldError{Path: path, Message: fmt.Sprintf(format, args...)})
	}
	if l.MaxHTMLBytes > 0 && r.Page.SetContent != nil {
		// Decoding is skipped when the value is too long even as base64.
		if len(r.Page.SetContent.HTML) > l.MaxHTMLBytes*4/3+4 {
			add("page.setContent.html", "page.setContent.html is over %d bytes once decoded (limits.max_html_bytes): send a smaller page or load it with page.goto", l.MaxHTMLBytes)
		} else if html, err := DecodeBase64(r.Page.SetContent.HTML); err == nil && len(html) > l.MaxHTMLBytes {
			add("page.setContent.html", "page.setContent.html is %d bytes once decoded, over %d (limits.max_html_bytes): send a smaller page or load it with page.goto", len(html), l.MaxHTMLBytes)
		}
	}
	errs = append(errs, l.checkHeaders("page.setExtraHTTPHeaders", r.Page.SetExtraHTTPHeaders)...)
	if w := r.Webhook(); w != nil {
		errs = append(errs, l.checkHeaders("doppio.webhook.headers", w.Headers)...)
	}
	if l.MaxCookies > 0 && len(r.Page.SetCookies) > l.MaxCookies {
		add("page.setCookies", "page.setCookies has %d cookies, over %d (limits.max_cookies)", len(r.Page.SetCookies), l.MaxCookies)
	}
	for i, c := range r.Page.SetCookies {
		if l.MaxCookieBytes > 0 && len(c.Name)+len(c.Value) > l.MaxCookieBytes {
			add(fmt.Sprintf("page.setCookies[%d]", i), "page.setCookies[%d] is %d bytes (name and value), over %d (limits.max_cookie_bytes)", i, len(c.Name)+len(c.Value), l.MaxCookieBytes)
		}
	}
	if v := r.Viewport(); v != nil && l.MaxScreenshotPixels > 0 {
		width, height, scale := v.Size()
		// Chromium rounds device pixels up.
		if pixels := int64(math.Ceil(float64(width)*scale)) * int64(math.Ceil(float64(height)*scale)); pixels > l.MaxScreenshotPixels {
			add("launch.defaultViewport", "launch.defaultViewport is %d device pixels (width × height × deviceScaleFactor²), over %d (limits.max_screenshot_pixels)", pixels, l.MaxScreenshotPixels)
		}
	}
	if s := r.Page.Screenshot; s != nil && s.Clip != nil && l.MaxScreenshotPixels > 0 {
		_, _, scale := r.Viewport().Size()
		// Float arithmetic, because the product of absurd sizes overflows int64.
		if pixels := s.Clip.Width * scale * s.Clip.Height * scale; pixels > float64(l.MaxScreenshotPixels) {
			add("page.screenshot.clip", "page.screenshot.clip is %.0f device pixels (width × height × deviceScaleFactor²), over %d (limits.max_screenshot_pixels): clip a smaller area", pixels, l.MaxScreenshotPixels)
		}
	}
	return errs
}

func (l Limits) checkHeaders(path string, headers map[string]string) []FieldError {
	var errs []FieldError
	if l.MaxHeaders > 0 && len(headers) > l.MaxHeaders {
		errs = append(errs, FieldError{path, fmt.Sprintf("%s has %d headers, over %d (limits.max_headers)", path, len(headers), l.MaxHeaders)})
	}
	for name, value := range headers {
		if l.MaxHeaderBytes > 0 && len(name)+len(value) > l.MaxHeaderBytes {
			errs = append(errs, FieldError{path + "." + name, fmt.Sprintf("%s.%s is %d bytes (name and value), over %d (limits.max_header_bytes)", path, name, len(name)+len(value), l.MaxHeaderBytes)})
		}
	}
	return errs
}

// errOutputTooLarge is returned by limitWriter once the bound is passed.
var errOutputTooLarge = errors.New("document larger than limits.max_output_bytes")

// limitWriter fails a write that would take the document over max bytes,
// which ends the render instead of filling the disk or the memory.
type limitWriter struct {
	w       io.Writer
	max     int64
	written int64
	// exceeded records the refusal, since a renderer may report the
	// write error in words of its own.
	exceeded bool
}

func (lw *limitWriter) Write(p []byte) (int, error) {
	if lw.max > 0 && lw.written+int64(len(p)) > lw.max {
		lw.exceeded = true
		return 0, errOutputTooLarge
	}
	n, err := lw.w.Write(p)
	lw.written += int64(n)
	return n, err
}

// renderError turns a render error caused by the output bound into a job
// error that names the bound.
func (l Limits) renderError(lw *limitWriter, err error) error {
	if lw.exceeded || errors.Is(err, errOutputTooLarge) {
		return Errorf(CodeRenderFailed, "the document is larger than %d bytes (limits.max_output_bytes): render fewer pages or a smaller image", l.MaxOutputBytes)
	}
	return err
}

// pagesCount matches the /Count of a page tree node; the root node has the
// largest count, the number of pages of the document.
var pagesCount = regexp.MustCompile(`/Type\s*/Pages\b[^<>]*?/Count\s+(\d+)|/Count\s+(\d+)[^<>]*?/Type\s*/Pages\b`)

// CountPDFPages reads the page count of a PDF from its page tree. It reads
// the document in chunks, so a long PDF is not held in memory. Chromium
// writes the page tree uncompressed; a PDF whose tree sits in a compressed
// object stream reports 0 pages.
func CountPDFPages(r io.Reader) (int, error) {
	reader := bufio.NewReaderSize(r, 64<<10)
	var carry []byte
	pages := 0
	chunk := make([]byte, 64<<10)
	for {
		n, err := reader.Read(chunk)
		window := append(carry, chunk[:n]...)
		for _, m := range pagesCount.FindAllSubmatch(window, -1) {
			digits := m[1]
			if len(digits) == 0 {
				digits = m[2]
			}
			if count, convErr := strconv.Atoi(string(digits)); convErr == nil && count > pages {
				pages = count
			}
		}
		// A dictionary split between two chunks is found in the next
		// window, which starts with the end of this one.
		keep := min(len(window), 512)
		carry = bytes.Clone(window[len(window)-keep:])
		if err == io.EOF {
			return pages, nil
		}
		if err != nil {
			return pages, err
		}
	}
}

// checkOutput enforces the page and pixel bounds on a finished document.
func (l Limits) checkOutput(job *Job, doc io.ReadSeeker) error {
	defer doc.Seek(0, io.SeekStart)
	if job.Kind == KindPDF {
		if l.MaxPDFPages <= 0 {
			return nil
		}
		pages, err := CountPDFPages(doc)
		if err != nil {
			return fmt.Errorf("count PDF pages: %w", err)
		}
		if pages > l.MaxPDFPages {
			return Errorf(CodeRenderFailed, "the PDF has %d pages, over %d (limits.max_pdf_pages): print fewer pages with page.pdf.pageRanges", pages, l.MaxPDFPages)
		}
		return nil
	}
	if l.MaxScreenshotPixels <= 0 {
		return nil
	}
	config, _, err := image.DecodeConfig(doc)
	if err != nil {
		return fmt.Errorf("read screenshot dimensions: %w", err)
	}
	if pixels := int64(config.Width) * int64(config.Height); pixels > l.MaxScreenshotPixels {
		return Errorf(CodeRenderFailed, "the screenshot is %d × %d pixels, over %d pixels (limits.max_screenshot_pixels): capture a clip or a smaller page", config.Width, config.Height, l.MaxScreenshotPixels)
	}
	return nil
}
