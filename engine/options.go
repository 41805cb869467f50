package engine

import "strings"

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
