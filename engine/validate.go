package engine

import (
	"encoding/base64"
	"fmt"
	"maps"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// FieldError is one invalid field of a request, with the dotted path of the
// field in the request body ("page.goto.url").
type FieldError struct {
	Path    string
	Message string
}

func (e FieldError) Error() string { return e.Message }

// MaxWebhookURLLength bounds doppio.webhook.url; longer URLs are rejected
// before they reach a queue.
const MaxWebhookURLLength = 2048

// ReservedWebhookHeaders are the headers that Presso sets on a webhook call
// and that doppio.webhook.headers therefore may not contain.
var ReservedWebhookHeaders = []string{
	"content-type", "content-length", "host", "transfer-encoding", "connection",
	"x-doppio-request-id", "x-doppio-payload-signature", "x-doppio-render-status",
	"webhook-id", "webhook-timestamp", "webhook-signature",
}

// Validate checks what the JSON schema of the request cannot express: one
// content source, base64 fields, URLs, header names, cookies, option
// combinations, and a webhook on async routes. It also repeats the
// schema's limits on the page set-up and wait options, so that a request
// built without the HTTP API is held to them too. It returns every
// violation, each with its field path, so that a caller fixes them all in
// one round.
func (r *RenderRequest) Validate(kind Kind, mode Mode) []FieldError {
	errs := r.ValidatePage(kind)
	add := func(path, format string, args ...any) {
		errs = append(errs, FieldError{Path: path, Message: fmt.Sprintf(format, args...)})
	}

	if presigned := r.PresignedURL(); presigned != "" && !isWebURL(presigned) {
		add("doppio.presignedUrl", "doppio.presignedUrl must be an absolute http or https presigned PUT URL with a port from 1 to 65535 if any, and no user:password@")
	}

	webhook := r.Webhook()
	if mode == ModeAsync && webhook == nil {
		add("doppio.webhook", "doppio.webhook is required on async routes: give {\"url\": \"https://…\", \"method\": \"POST\"}")
	}
	if webhook != nil {
		errs = append(errs, validateWebhook(webhook)...)
	}
	return errs
}

// ValidatePage checks the page part of a request for a render of kind: the
// checks of Validate without those of delivery. The renderer runs it too,
// for jobs that did not come through the HTTP API.
func (r *RenderRequest) ValidatePage(kind Kind) []FieldError {
	var errs []FieldError
	add := func(path, format string, args ...any) {
		errs = append(errs, FieldError{Path: path, Message: fmt.Sprintf(format, args...)})
	}

	page := r.Page
	switch {
	case page.Goto != nil && page.SetContent != nil:
		add("page", "page must contain exactly one of goto and setContent, not both")
	case page.Goto == nil && page.SetContent == nil:
		add("page", "page must contain exactly one of goto (a URL) and setContent (base64 HTML)")
	}
	if page.Goto != nil && !isWebURL(page.Goto.URL) {
		add("page.goto.url", "page.goto.url must be an absolute http or https URL with a host, a port from 1 to 65535 if any, and no user:password@")
	}
	if page.SetContent != nil {
		if page.SetContent.HTML == "" {
			add("page.setContent.html", "page.setContent.html must not be empty: give the page's HTML, base64 encoded")
		} else if _, err := DecodeBase64(page.SetContent.HTML); err != nil {
			add("page.setContent.html", "page.setContent.html must be base64 encoded")
		}
	}

	if kind == KindPDF && page.PDF != nil {
		if _, err := DecodeBase64(page.PDF.HeaderTemplate); page.PDF.HeaderTemplate != "" && err != nil {
			add("page.pdf.headerTemplate", "page.pdf.headerTemplate must be base64 encoded")
		}
		if _, err := DecodeBase64(page.PDF.FooterTemplate); page.PDF.FooterTemplate != "" && err != nil {
			add("page.pdf.footerTemplate", "page.pdf.footerTemplate must be base64 encoded")
		}
		errs = append(errs, validatePaper(page.PDF)...)
	}
	if kind == KindScreenshot && page.Screenshot != nil {
		if page.Screenshot.Quality != nil && r.ScreenshotType() == "png" {
			add("page.screenshot.quality", "page.screenshot.quality applies to jpeg and webp only: remove it or set page.screenshot.type")
		}
		errs = append(errs, validateClip(page.Screenshot)...)
	}
	errs = append(errs, validatePageSetup(&page)...)
	errs = append(errs, validateWaits(&page)...)
	return errs
}

// validateHeaders checks the names and values of the headers at section,
// which net/http would refuse to send.
func validateHeaders(section string, headers map[string]string) []FieldError {
	var errs []FieldError
	for _, name := range slices.Sorted(maps.Keys(headers)) {
		path := section + "." + name
		if !isToken(name) {
			errs = append(errs, FieldError{path, fmt.Sprintf("%s is not a valid header name: use letters, digits and !#$%%&'*+-.^_`|~ only", path)})
		}
		if hasControl(headers[name], true) {
			errs = append(errs, FieldError{path, fmt.Sprintf("%s must not contain line breaks or other control characters", path)})
		}
	}
	return errs
}

func validateWebhook(w *Webhook) []FieldError {
	var errs []FieldError
	switch w.Method {
	case "", "GET", "POST", "PUT", "PATCH", "DELETE":
	default:
		errs = append(errs, FieldError{"doppio.webhook.method", fmt.Sprintf("doppio.webhook.method must be GET, POST, PUT, PATCH or DELETE, got %q", w.Method)})
	}
	errs = append(errs, validateHeaders("doppio.webhook.headers", w.Headers)...)
	switch {
	case len(w.URL) > MaxWebhookURLLength:
		errs = append(errs, FieldError{"doppio.webhook.url", fmt.Sprintf("doppio.webhook.url must be at most %d characters", MaxWebhookURLLength)})
	case !isWebURL(w.URL):
		errs = append(errs, FieldError{"doppio.webhook.url", "doppio.webhook.url must be an absolute http or https URL with a host, a port from 1 to 65535 if any, and no user:password@"})
	}
	for name := range w.Headers {
		lower := strings.ToLower(name)
		for _, reserved := range ReservedWebhookHeaders {
			if lower == reserved {
				errs = append(errs, FieldError{"doppio.webhook.headers." + name, fmt.Sprintf("doppio.webhook.headers.%s must not be set: Presso sets %s on every call", name, name)})
			}
		}
	}
	return errs
}

func isWebURL(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil {
		return false
	}
	if port := u.Port(); port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return false
		}
	}
	return (u.Scheme == "http" || u.Scheme == "https") && u.Hostname() != "" && u.User == nil
}

// DecodeBase64 decodes a base64 field of a request. It accepts standard
// base64 with or without padding and ignores line breaks, because clients
// often wrap long values the way the base64 tool does.
func DecodeBase64(s string) ([]byte, error) {
	s = strings.NewReplacer("\n", "", "\r", "").Replace(s)
	if decoded, err := base64.StdEncoding.DecodeString(s); err == nil {
		return decoded, nil
	}
	return base64.RawStdEncoding.DecodeString(s)
}

// Limits of the page set-up and wait options, also stated in the schema.
const (
	MaxUserAgentLength    = 1024
	MaxSelectorLength     = 4096
	MaxPageFunctionLength = 64 << 10
	// MaxCookieSize bounds a cookie's name and value together, in bytes:
	// the limit of RFC 6265bis that Chromium enforces.
	MaxCookieSize = 4096
)

// forbiddenPageHeaders are the headers that page.setExtraHTTPHeaders may
// not set. The hop-by-hop headers, such as Connection and Transfer-Encoding
// (RFC 9110 section 7.6.1), and the proxy headers belong to one connection
// or proxy. Chromium derives Host and Content-Length from each request's
// URL and body.
var forbiddenPageHeaders = []string{
	"connection", "keep-alive", "proxy-connection", "proxy-authenticate", "proxy-authorization",
	"te", "trailer", "transfer-encoding", "upgrade", "host", "content-length",
}

// validateClip checks page.screenshot.clip, which Chromium would otherwise
// reject only once the page has loaded.
func validateClip(s *ScreenshotOptions) []FieldError {
	c := s.Clip
	if c == nil {
		return nil
	}
	var errs []FieldError
	if s.FullPage {
		errs = append(errs, FieldError{"page.screenshot.clip", "page.screenshot.clip and page.screenshot.fullPage are exclusive: remove one"})
	}
	if c.Width <= 0 {
		errs = append(errs, FieldError{"page.screenshot.clip.width", fmt.Sprintf("page.screenshot.clip.width must be greater than 0, got %g", c.Width)})
	}
	if c.Height <= 0 {
		errs = append(errs, FieldError{"page.screenshot.clip.height", fmt.Sprintf("page.screenshot.clip.height must be greater than 0, got %g", c.Height)})
	}
	if c.X < 0 {
		errs = append(errs, FieldError{"page.screenshot.clip.x", fmt.Sprintf("page.screenshot.clip.x must be at least 0, got %g", c.X)})
	}
	if c.Y < 0 {
		errs = append(errs, FieldError{"page.screenshot.clip.y", fmt.Sprintf("page.screenshot.clip.y must be at least 0, got %g", c.Y)})
	}
	return errs
}

// Bounds of a paper dimension, in inches. Chromium fails without saying
// why on a paper far larger than any printer's, and prints hundreds of
// empty pages on one smaller than a stamp.
const (
	minPaperInches = 0.1
	maxPaperInches = 200.0
)

// pageRangePattern matches one item of page.pdf.pageRanges: a page, a
// range, or an open range.
var pageRangePattern = regexp.MustCompile(`^\s*(\d+)\s*(?:(-)\s*(\d*))?\s*$`)

// validatePaper checks the paper of a PDF: scale, format, size, margins
// that leave room for content, and page ranges.
func validatePaper(o *PDFOptions) []FieldError {
	var errs []FieldError
	add := func(path, format string, args ...any) {
		errs = append(errs, FieldError{Path: path, Message: fmt.Sprintf(format, args...)})
	}
	if o.Scale != 0 && (o.Scale < 0.1 || o.Scale > 2) {
		add("page.pdf.scale", "page.pdf.scale must be from 0.1 to 2, got %g", o.Scale)
	}

	size, known := PaperSizes[strings.ToLower(o.Format)]
	switch {
	case o.Format == "":
		size = PaperSizes["letter"]
	case !known:
		add("page.pdf.format", "page.pdf.format %q is unknown: use Letter, Legal, Tabloid, Ledger or A0 to A6, or give width and height", o.Format)
		size = PaperSizes["letter"]
	}
	width, height := size[0], size[1]
	for _, side := range []struct {
		path   string
		length *Length
		inches *float64
	}{{"page.pdf.width", o.Width, &width}, {"page.pdf.height", o.Height, &height}} {
		if side.length == nil {
			continue
		}
		*side.inches = side.length.Inches
		if side.length.Inches < minPaperInches || side.length.Inches > maxPaperInches {
			add(side.path, "%s must be from %gin to %gin (%gmm to %gmm), got %s", side.path, minPaperInches, maxPaperInches, minPaperInches*25.4, maxPaperInches*25.4, side.length.Text)
		}
	}
	if o.Landscape {
		width, height = height, width
	}
	if m := o.Margin; m != nil {
		if inchesOf(m.Top)+inchesOf(m.Bottom) >= height {
			add("page.pdf.margin", "page.pdf.margin.top and page.pdf.margin.bottom leave no room on a page %.4gin high: keep their sum under the page height", height)
		}
		if inchesOf(m.Left)+inchesOf(m.Right) >= width {
			add("page.pdf.margin", "page.pdf.margin.left and page.pdf.margin.right leave no room on a page %.4gin wide: keep their sum under the page width", width)
		}
	}

	if ranges := strings.TrimSpace(o.PageRanges); ranges != "" {
		for _, item := range strings.Split(ranges, ",") {
			m := pageRangePattern.FindStringSubmatch(item)
			if m == nil {
				add("page.pdf.pageRanges", "page.pdf.pageRanges %q is invalid: give pages and ranges separated by commas, such as 1-5, 8, 11-13", o.PageRanges)
				break
			}
			first, _ := strconv.Atoi(m[1])
			last, _ := strconv.Atoi(m[3])
			if first < 1 || (m[3] != "" && last < first) {
				add("page.pdf.pageRanges", "page.pdf.pageRanges has %q: pages count from 1, and a range goes from its lower page to its higher one", strings.TrimSpace(item))
				break
			}
		}
	}
	return errs
}

func inchesOf(l *Length) float64 {
	if l == nil {
		return 0
	}
	return l.Inches
}

// validatePageSetup checks the options applied before the content loads.
func validatePageSetup(page *PageOptions) []FieldError {
	var errs []FieldError
	add := func(path, format string, args ...any) {
		errs = append(errs, FieldError{Path: path, Message: fmt.Sprintf(format, args...)})
	}

	switch page.EmulateMediaType {
	case "", "screen", "print":
	default:
		add("page.emulateMediaType", "page.emulateMediaType must be screen or print, got %q", page.EmulateMediaType)
	}

	errs = append(errs, validateHeaders("page.setExtraHTTPHeaders", page.SetExtraHTTPHeaders)...)
	for _, name := range slices.Sorted(maps.Keys(page.SetExtraHTTPHeaders)) {
		if slices.Contains(forbiddenPageHeaders, strings.ToLower(name)) {
			path := "page.setExtraHTTPHeaders." + name
			add(path, "%s must not be set: Chromium sets %s for each connection or request", path, name)
		}
	}

	if auth := page.Authenticate; auth != nil && strings.Contains(auth.Username, ":") {
		add("page.authenticate.username", "page.authenticate.username must not contain a colon: Basic authentication puts one between user name and password")
	}

	if n := utf8.RuneCountInString(page.SetUserAgent); n > MaxUserAgentLength {
		add("page.setUserAgent", "page.setUserAgent must be at most %d characters, got %d", MaxUserAgentLength, n)
	}
	if hasControl(page.SetUserAgent, true) {
		add("page.setUserAgent", "page.setUserAgent must not contain line breaks or other control characters")
	}

	for i, cookie := range page.SetCookies {
		errs = append(errs, validateCookie(fmt.Sprintf("page.setCookies[%d]", i), &cookie)...)
	}

	if len(page.SetLocalStorageItems) > 0 && page.Goto == nil && page.SetContent != nil {
		add("page.setLocalStorageItems", "page.setLocalStorageItems needs page.goto: a page loaded with setContent has the opaque origin of about:blank, which has no localStorage")
	}
	return errs
}

// cookieDomainPattern matches a host name or IPv4 address, with the
// optional leading dot of a domain cookie.
var cookieDomainPattern = regexp.MustCompile(`^\.?[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9_])?$`)

func validateCookie(prefix string, c *Cookie) []FieldError {
	var errs []FieldError
	add := func(path, format string, args ...any) {
		errs = append(errs, FieldError{Path: path, Message: fmt.Sprintf(format, args...)})
	}

	switch {
	case c.Name == "":
		add(prefix+".name", "%s.name must not be empty", prefix)
	case strings.ContainsAny(c.Name, ";= \t") || hasControl(c.Name, false):
		add(prefix+".name", "%s.name must not contain ; = spaces or control characters", prefix)
	}
	if strings.Contains(c.Value, ";") || hasControl(c.Value, false) {
		add(prefix+".value", "%s.value must not contain ; or control characters", prefix)
	}
	if size := len(c.Name) + len(c.Value); size > MaxCookieSize {
		add(prefix+".value", "%s.value is too long: name and value together must be at most %d bytes, got %d", prefix, MaxCookieSize, size)
	}
	if c.Expires != nil && !c.Expires.Valid() {
		add(prefix+".expires", "%s.expires must be seconds since the Unix epoch, as a number or a numeric string, got %q", prefix, c.Expires.Text)
	}

	switch {
	case c.Domain == "" && c.URL == "":
		add(prefix+".domain", "%s.domain is required when url is not set", prefix)
	case c.Domain != "" && !cookieDomainPattern.MatchString(c.Domain):
		add(prefix+".domain", "%s.domain must be a host name such as app.example.com or .example.com, got %q", prefix, c.Domain)
	}
	if c.URL != "" && !isWebURL(c.URL) {
		add(prefix+".url", "%s.url must be an absolute http or https URL with a host, a port from 1 to 65535 if any, and no user:password@", prefix)
	}
	if c.Path != "" && !strings.HasPrefix(c.Path, "/") {
		add(prefix+".path", "%s.path must start with /, got %q", prefix, c.Path)
	}

	switch c.SameSite {
	case "", "Strict", "Lax":
	case "None":
		// Chromium drops a SameSite=None cookie that is not Secure. A
		// cookie given with an https url is Secure without the flag.
		if !c.Secure && !strings.HasPrefix(strings.ToLower(c.URL), "https:") {
			add(prefix+".secure", "%s.secure must be true when sameSite is None: Chromium rejects SameSite=None cookies without Secure", prefix)
		}
	default:
		add(prefix+".sameSite", "%s.sameSite must be Strict, Lax or None, got %q", prefix, c.SameSite)
	}
	return errs
}

// validateWaits checks waitForSelector and waitForFunction.
func validateWaits(page *PageOptions) []FieldError {
	var errs []FieldError
	add := func(path, format string, args ...any) {
		errs = append(errs, FieldError{Path: path, Message: fmt.Sprintf(format, args...)})
	}

	if w := page.WaitForSelector; w != nil {
		selector := strings.TrimSpace(w.Selector)
		switch n := utf8.RuneCountInString(w.Selector); {
		case selector == "":
			add("page.waitForSelector.selector", "page.waitForSelector.selector must not be empty")
		case n > MaxSelectorLength:
			add("page.waitForSelector.selector", "page.waitForSelector.selector must be at most %d characters, got %d", MaxSelectorLength, n)
		case strings.TrimSpace(strings.TrimPrefix(selector, XPathPrefix)) == "":
			add("page.waitForSelector.selector", "page.waitForSelector.selector needs an XPath expression after %s", XPathPrefix)
		}
		if o := w.Options; o != nil {
			if o.Hidden && o.Visible {
				add("page.waitForSelector.options", "page.waitForSelector.options.hidden and visible are exclusive: set at most one to true")
			}
			if o.Timeout != nil && *o.Timeout < 0 {
				add("page.waitForSelector.options.timeout", "page.waitForSelector.options.timeout must be at least 0 milliseconds, got %g", *o.Timeout)
			}
		}
	}

	if w := page.WaitForFunction; w != nil {
		switch n := utf8.RuneCountInString(w.PageFunction); {
		case strings.TrimSpace(w.PageFunction) == "":
			add("page.waitForFunction.pageFunction", "page.waitForFunction.pageFunction must not be empty")
		case n > MaxPageFunctionLength:
			add("page.waitForFunction.pageFunction", "page.waitForFunction.pageFunction must be at most %d characters, got %d", MaxPageFunctionLength, n)
		}
		if o := w.Options; o != nil {
			if p := o.Polling; p != nil {
				switch {
				case p.Mode == PollingRAF || p.Mode == PollingMutation:
				case p.Mode != "":
					add("page.waitForFunction.options.polling", "page.waitForFunction.options.polling must be raf, mutation or a number of milliseconds, got %q", p.Mode)
				case p.Interval <= 0:
					add("page.waitForFunction.options.polling", "page.waitForFunction.options.polling must be a number of milliseconds greater than 0, got %g", p.Interval)
				}
			}
			if o.Timeout != nil && *o.Timeout < 0 {
				add("page.waitForFunction.options.timeout", "page.waitForFunction.options.timeout must be at least 0 milliseconds, got %g", *o.Timeout)
			}
		}
	}
	return errs
}

// isToken reports whether s is a token of RFC 9110, the syntax of header
// names.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		isAlnum := c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		if !isAlnum && !strings.ContainsRune("!#$%&'*+-.^_`|~", rune(c)) {
			return false
		}
	}
	return true
}

// hasControl reports whether s contains an ASCII control character. A
// horizontal tab counts only when allowTab is false.
func hasControl(s string, allowTab bool) bool {
	for _, c := range []byte(s) {
		if (c < 0x20 && !(allowTab && c == '\t')) || c == 0x7f {
			return true
		}
	}
	return false
}
