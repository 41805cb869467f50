package engine

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"
)

// PDFOptions are Puppeteer's page.pdf options, plus Presso's outline and tagged.
type PDFOptions struct {
	Scale               float64 `json:"scale,omitempty" minimum:"0.1" maximum:"2" default:"1" doc:"Scale of the page rendering." example:"1"`
	DisplayHeaderFooter bool    `json:"displayHeaderFooter,omitempty" doc:"Print headerTemplate and footerTemplate on every page." example:"true"`
	HeaderTemplate      string  `json:"headerTemplate,omitempty" doc:"Base64-encoded HTML of the page header. Elements with the classes pageNumber, totalPages, date, title and url receive those values." example:"PGRpdiBzdHlsZT0iZm9udC1zaXplOjEwcHgiPkludm9pY2U8L2Rpdj4="`
	FooterTemplate      string  `json:"footerTemplate,omitempty" doc:"Base64-encoded HTML of the page footer, with the same classes as headerTemplate." example:"PGRpdiBzdHlsZT0iZm9udC1zaXplOjEwcHgiPjxzcGFuIGNsYXNzPSJwYWdlTnVtYmVyIj48L3NwYW4+PC9kaXY+"`
	PrintBackground     bool    `json:"printBackground,omitempty" doc:"Print background colours and images." example:"true"`
	Landscape           bool    `json:"landscape,omitempty" doc:"Print in landscape orientation." example:"false"`
	PageRanges          string  `json:"pageRanges,omitempty" maxLength:"256" pattern:"^\\s*\\d+(\\s*-\\s*\\d*)?(\\s*,\\s*\\d+(\\s*-\\s*\\d*)?)*\\s*$" doc:"Pages to print, such as 1-5, 8, 11-13. Default: all pages." example:"1-2"`
	Format              string  `json:"format,omitempty" pattern:"(?i)^(letter|legal|tabloid|ledger|a0|a1|a2|a3|a4|a5|a6)$" default:"Letter" doc:"Paper format: Letter, Legal, Tabloid, Ledger or A0 to A6, case-insensitive. width and height take precedence." example:"A4"`
	Width               *Length `json:"width,omitempty" doc:"Paper width: a number of CSS pixels (96 per inch) or a length with a unit px, in, cm or mm." example:"\"210mm\""`
	Height              *Length `json:"height,omitempty" doc:"Paper height: a number of CSS pixels (96 per inch) or a length with a unit px, in, cm or mm." example:"\"297mm\""`
	PreferCSSPageSize   bool    `json:"preferCSSPageSize,omitempty" doc:"Use the page size given by CSS @page rules over format, width and height." example:"false"`
	OmitBackground      bool    `json:"omitBackground,omitempty" doc:"Print a transparent background where the page has the default white one." example:"false"`
	Margin              *Margin `json:"margin,omitempty" doc:"Paper margins. Default: none."`
	Outline             bool    `json:"outline,omitempty" doc:"Presso extension: add PDF bookmarks built from the document's headings." example:"true"`
	Tagged              bool    `json:"tagged,omitempty" doc:"Presso extension: produce an accessible tagged PDF." example:"true"`
}

// Margin is the paper margin on each side.
type Margin struct {
	Top    *Length `json:"top,omitempty" doc:"Top margin: CSS pixels or a length with a unit." example:"\"20mm\""`
	Right  *Length `json:"right,omitempty" doc:"Right margin: CSS pixels or a length with a unit." example:"\"15mm\""`
	Bottom *Length `json:"bottom,omitempty" doc:"Bottom margin: CSS pixels or a length with a unit." example:"\"20mm\""`
	Left   *Length `json:"left,omitempty" doc:"Left margin: CSS pixels or a length with a unit." example:"\"15mm\""`
}

// PaperSizes maps the lower-case paper formats to their width and height in
// inches, with the values Puppeteer uses.
var PaperSizes = map[string][2]float64{
	"letter":  {8.5, 11},
	"legal":   {8.5, 14},
	"tabloid": {11, 17},
	"ledger":  {17, 11},
	"a0":      {33.1102, 46.8110},
	"a1":      {23.3858, 33.1102},
	"a2":      {16.5354, 23.3858},
	"a3":      {11.6929, 16.5354},
	"a4":      {8.2677, 11.6929},
	"a5":      {5.8268, 8.2677},
	"a6":      {4.1339, 5.8268},
}

// ScreenshotOptions are Puppeteer's page.screenshot options.
type ScreenshotOptions struct {
	Type                  string `json:"type,omitempty" enum:"png,jpeg,jpg,webp" default:"png" doc:"Image format." example:"webp"`
	Quality               *int   `json:"quality,omitempty" minimum:"0" maximum:"100" doc:"Compression quality, for jpeg and webp only. Default: the browser's (about 80)." example:"80"`
	FullPage              bool   `json:"fullPage,omitempty" doc:"Capture the whole scrollable page instead of the viewport." example:"true"`
	Clip                  *Clip  `json:"clip,omitempty" doc:"Capture only this rectangle of the page, in CSS pixels."`
	OmitBackground        bool   `json:"omitBackground,omitempty" doc:"Capture a transparent background where the page has the default white one (png and webp)." example:"false"`
	CaptureBeyondViewport *bool  `json:"captureBeyondViewport,omitempty" default:"true" doc:"Capture content outside the viewport, as in fullPage or a clip below the fold." example:"true"`
}

// Clip is a rectangle of the page in CSS pixels.
type Clip struct {
	X      float64 `json:"x" minimum:"0" doc:"Left edge." example:"0"`
	Y      float64 `json:"y" minimum:"0" doc:"Top edge." example:"0"`
	Width  float64 `json:"width" exclusiveMinimum:"0" doc:"Width." example:"400"`
	Height float64 `json:"height" exclusiveMinimum:"0" doc:"Height." example:"300"`
}

// ImageType is a screenshot format.
type ImageType string

// ScreenshotType returns the requested image type, with "jpg" read as jpeg
// and png as the default.
func (r *RenderRequest) ScreenshotType() ImageType {
	if r.Page.Screenshot == nil {
		return "png"
	}
	switch strings.ToLower(r.Page.Screenshot.Type) {
	case "jpeg", "jpg":
		return "jpeg"
	case "webp":
		return "webp"
	default:
		return "png"
	}
}

// Extension returns the file extension of the image type.
func (t ImageType) Extension() string {
	if t == "jpeg" {
		return "jpg"
	}
	return string(t)
}

// ContentType returns the media type of the image type.
func (t ImageType) ContentType() string {
	return "image/" + string(t)
}

// Credentials are the user name and password of HTTP authentication.
type Credentials struct {
	Username string `json:"username" doc:"User name. It must not contain a colon, which Basic authentication cannot carry (RFC 7617)." example:"reports"`
	Password string `json:"password" doc:"Password." example:"s3cret"`
}

// Cookie is a cookie to store before the content loads, with the fields of
// Puppeteer's CookieParam.
type Cookie struct {
	Name     string         `json:"name" minLength:"1" doc:"Cookie name: visible ASCII characters except separators such as ; = and space." example:"session"`
	Value    string         `json:"value" doc:"Cookie value, without ; or control characters. Name and value together may have at most 4096 bytes." example:"4f9a2c"`
	Domain   string         `json:"domain,omitempty" maxLength:"254" doc:"Host the cookie is sent to, with its subdomains, as the Domain attribute of Set-Cookie. Required unless url is set." example:"app.example.com"`
	URL      string         `json:"url,omitempty" maxLength:"8192" doc:"An http or https URL that sets the cookie's host, path and secure flag where these are not given. Required unless domain is set." example:"https://app.example.com/reports"`
	Path     string         `json:"path,omitempty" maxLength:"1024" doc:"Path the cookie is sent for; it starts with /. Default: /, or derived from url when url is set." example:"/"`
	Secure   bool           `json:"secure,omitempty" doc:"Send the cookie over https only. Required for sameSite None." example:"true"`
	HTTPOnly bool           `json:"httpOnly,omitempty" doc:"Hide the cookie from the page's scripts." example:"true"`
	SameSite string         `json:"sameSite,omitempty" enum:"Strict,Lax,None" doc:"SameSite attribute. Default: none, which Chromium treats as Lax." example:"Lax"`
	Expires  *CookieExpires `json:"expires,omitempty" doc:"Expiry in seconds since the Unix epoch, as a number or a numeric string. Default, and for 0 or a negative value: a session cookie, which lives as long as the render." example:"1767225600"`
}

// CookieExpires is a cookie's expiry in seconds since the Unix epoch. The
// request may give it as a JSON number or as a numeric string, because
// clients of the Doppio API send both.
type CookieExpires struct {
	// Seconds is the expiry in seconds since the Unix epoch. 0 or less
	// makes a session cookie.
	Seconds float64
	// Text is the value as the request gave it, kept so that the job
	// survives a JSON round trip unchanged. Empty when built in code.
	Text string
	// quoted records that the request gave a string.
	quoted bool
	// invalid records a string that is not a number. UnmarshalJSON keeps
	// it so that Validate reports it together with the request's other
	// violations instead of failing the whole decoding.
	invalid bool
}

// Valid reports whether the expiry is a number.
func (e *CookieExpires) Valid() bool { return !e.invalid }

var numericPattern = regexp.MustCompile(`^\s*-?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?\s*$`)

// UnmarshalJSON accepts a number or a string. A string that is not a
// number decodes without error but is not Valid.
func (e *CookieExpires) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	if len(data) > 0 && data[0] == '"' {
		var s string
		if err := json.Unmarshal(data, &s); err != nil {
			return err
		}
		seconds, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		valid := err == nil && numericPattern.MatchString(s)
		*e = CookieExpires{Seconds: seconds, Text: s, quoted: true, invalid: !valid}
		return nil
	}
	var seconds float64
	if err := json.Unmarshal(data, &seconds); err != nil {
		return fmt.Errorf("invalid cookie expiry %s: use seconds since the Unix epoch, as a number or a numeric string", data)
	}
	*e = CookieExpires{Seconds: seconds, Text: string(data)}
	return nil
}

// MarshalJSON writes the expiry as the request gave it.
func (e CookieExpires) MarshalJSON() ([]byte, error) {
	switch {
	case e.Text == "":
		return []byte(strconv.FormatFloat(e.Seconds, 'f', -1, 64)), nil
	case e.quoted:
		return json.Marshal(e.Text)
	}
	return []byte(e.Text), nil
}

// Schema describes the expiry in the OpenAPI document as a number or a
// numeric string.
func (e CookieExpires) Schema(r huma.Registry) *huma.Schema {
	return &huma.Schema{
		OneOf: []*huma.Schema{
			{Type: huma.TypeNumber, Description: "Seconds since the Unix epoch."},
			{Type: huma.TypeString, Pattern: numericPattern.String(), Description: "Seconds since the Unix epoch, as a decimal string."},
		},
		Examples: []any{1767225600},
	}
}

// LocalStorageItem is one localStorage entry.
type LocalStorageItem struct {
	Key   string `json:"key" doc:"Entry key." example:"locale"`
	Value string `json:"value" doc:"Entry value." example:"de-DE"`
}

// DefaultWaitTimeout is the time limit of waitForSelector and
// waitForFunction when the request gives none, as in Puppeteer.
const DefaultWaitTimeout = 30 * time.Second

// XPathPrefix marks a waitForSelector selector as an XPath expression, as
// in Puppeteer.
const XPathPrefix = "xpath/"

// WaitForSelector waits for an element, as Puppeteer's page.waitForSelector.
type WaitForSelector struct {
	Selector string                  `json:"selector" minLength:"1" maxLength:"4096" doc:"CSS selector, or an XPath expression after the prefix xpath/." example:"#report-ready"`
	Options  *WaitForSelectorOptions `json:"options,omitempty" doc:"What counts as found, and the time limit."`
}

// WaitForSelectorOptions are the options of Puppeteer's page.waitForSelector.
type WaitForSelectorOptions struct {
	Hidden  bool     `json:"hidden,omitempty" doc:"Wait until no element matches, or the matching element is hidden: display none, visibility hidden, or an empty box. Exclusive with visible." example:"false"`
	Visible bool     `json:"visible,omitempty" doc:"Wait until the matching element is visible: not visibility hidden and with a box of non-zero size. Exclusive with hidden." example:"true"`
	Timeout *float64 `json:"timeout,omitempty" minimum:"0" default:"30000" doc:"Time limit in milliseconds; 0 waits as long as the render's own time limit allows, which bounds every wait in any case." example:"5000"`
}

// WaitForFunction waits for a JavaScript expression, as Puppeteer's
// page.waitForFunction.
type WaitForFunction struct {
	PageFunction string                  `json:"pageFunction" minLength:"1" maxLength:"65536" doc:"JavaScript expression, evaluated in the page until its value is truthy. When the value is a function, such as () => window.ready, the function is called instead and its result is used; a promise is awaited. An exception ends the render with an error." example:"window.chartsRendered === true"`
	Options      *WaitForFunctionOptions `json:"options,omitempty" doc:"How often to evaluate, and the time limit."`
}

// WaitForFunctionOptions are the options of Puppeteer's page.waitForFunction.
type WaitForFunctionOptions struct {
	Polling *Polling `json:"polling,omitempty" doc:"When to evaluate pageFunction again: raf (before every animation frame, the default), mutation (after every DOM change) or a number of milliseconds." example:"100"`
	Timeout *float64 `json:"timeout,omitempty" minimum:"0" default:"30000" doc:"Time limit in milliseconds; 0 waits as long as the render's own time limit allows, which bounds every wait in any case." example:"5000"`
}

// WaitTimeout returns the time limit that timeout (milliseconds) sets:
// DefaultWaitTimeout when it is nil, and 0, for no limit of its own, when
// it is 0.
func WaitTimeout(timeout *float64) time.Duration {
	if timeout == nil {
		return DefaultWaitTimeout
	}
	// A value past the range of time.Duration, about 292 years, would
	// overflow the conversion.
	if *timeout >= float64(math.MaxInt64/int64(time.Millisecond)) {
		return math.MaxInt64
	}
	return time.Duration(*timeout * float64(time.Millisecond))
}

// The polling modes of waitForFunction.
const (
	PollingRAF      = "raf"
	PollingMutation = "mutation"
)

// Polling is how often waitForFunction evaluates its function: Mode
// "raf" or "mutation", or an Interval in milliseconds with Mode empty.
type Polling struct {
	Mode     string
	Interval float64
}

// UnmarshalJSON accepts a string or a number. It leaves the check of the
// mode and the interval to Validate, so that they are reported together
// with the request's other violations.
func (p *Polling) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	if len(data) > 0 && data[0] == '"' {
		var mode string
		if err := json.Unmarshal(data, &mode); err != nil {
			return err
		}
		*p = Polling{Mode: mode}
		return nil
	}
	var interval float64
	if err := json.Unmarshal(data, &interval); err != nil {
		return fmt.Errorf("invalid polling %s: use raf, mutation or a number of milliseconds", data)
	}
	*p = Polling{Interval: interval}
	return nil
}

// MarshalJSON writes the mode as a string and an interval as a number.
func (p Polling) MarshalJSON() ([]byte, error) {
	if p.Mode != "" {
		return json.Marshal(p.Mode)
	}
	return json.Marshal(p.Interval)
}

// Schema describes polling in the OpenAPI document as raf, mutation or a
// number.
func (p Polling) Schema(r huma.Registry) *huma.Schema {
	zero := 0.0
	return &huma.Schema{
		OneOf: []*huma.Schema{
			{Type: huma.TypeString, Enum: []any{PollingRAF, PollingMutation}, Description: "raf: before every animation frame; mutation: after every DOM change."},
			{Type: huma.TypeNumber, ExclusiveMinimum: &zero, Description: "Interval in milliseconds."},
		},
		Examples: []any{PollingRAF},
	}
}
