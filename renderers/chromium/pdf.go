package chromium

import (
	"encoding/base64"
	"fmt"
	"io"
	"strings"

	"github.com/go-rod/rod/lib/proto"

	"github.com/presso-dev/presso/engine"
)

// defaultPaperFormat is the paper format when the request names none, as
// in Puppeteer.
const defaultPaperFormat = "letter"

// streamChunkSize is the most bytes asked for in one IO.read of the PDF.
const streamChunkSize = 1 << 20

// printToPDFParams are the parameters of Page.printToPDF. rod's
// proto.PagePrintToPDF (v0.116.2) has every field, but its omitempty tags
// drop false values, and an absent generateTaggedPDF leaves tagging to
// Chromium. This struct sends every field as the request sets it.
type printToPDFParams struct {
	Landscape               bool                             `json:"landscape"`
	DisplayHeaderFooter     bool                             `json:"displayHeaderFooter"`
	PrintBackground         bool                             `json:"printBackground"`
	Scale                   float64                          `json:"scale"`
	PaperWidth              float64                          `json:"paperWidth"`
	PaperHeight             float64                          `json:"paperHeight"`
	MarginTop               float64                          `json:"marginTop"`
	MarginBottom            float64                          `json:"marginBottom"`
	MarginLeft              float64                          `json:"marginLeft"`
	MarginRight             float64                          `json:"marginRight"`
	PageRanges              string                           `json:"pageRanges"`
	HeaderTemplate          string                           `json:"headerTemplate"`
	FooterTemplate          string                           `json:"footerTemplate"`
	PreferCSSPageSize       bool                             `json:"preferCSSPageSize"`
	TransferMode            proto.PagePrintToPDFTransferMode `json:"transferMode"`
	GenerateTaggedPDF       bool                             `json:"generateTaggedPDF"`
	GenerateDocumentOutline bool                             `json:"generateDocumentOutline"`
}

// printJob is a checked page.pdf request.
type printJob struct {
	params         printToPDFParams
	omitBackground bool
}

// newPrintJob converts page.pdf options, nil for all defaults, into
// printToPDF parameters. Lengths are in inches, the unit of printToPDF.
func newPrintJob(opts *engine.PDFOptions) (printJob, error) {
	if opts == nil {
		opts = &engine.PDFOptions{}
	}
	params := printToPDFParams{
		Landscape:           opts.Landscape,
		DisplayHeaderFooter: opts.DisplayHeaderFooter,
		PrintBackground:     opts.PrintBackground,
		Scale:               1,
		// Chromium rejects some spaces that the request format allows,
		// such as the one in "1 -".
		PageRanges:              strings.Join(strings.Fields(opts.PageRanges), ""),
		PreferCSSPageSize:       opts.PreferCSSPageSize,
		TransferMode:            proto.PagePrintToPDFTransferModeReturnAsStream,
		GenerateTaggedPDF:       opts.Tagged,
		GenerateDocumentOutline: opts.Outline,
	}
	if opts.Scale > 0 {
		params.Scale = opts.Scale
	}

	format := strings.ToLower(opts.Format)
	if format == "" {
		format = defaultPaperFormat
	}
	size, ok := engine.PaperSizes[format]
	if !ok {
		return printJob{}, engine.Errorf(engine.CodeInvalidRequest, "page.pdf.format %q is unknown: use Letter, Legal, Tabloid, Ledger or A0 to A6", opts.Format)
	}
	params.PaperWidth, params.PaperHeight = size[0], size[1]
	// width and height take precedence over format, each on its own.
	if opts.Width != nil {
		params.PaperWidth = opts.Width.Inches
	}
	if opts.Height != nil {
		params.PaperHeight = opts.Height.Inches
	}
	if params.PaperWidth <= 0 || params.PaperHeight <= 0 {
		return printJob{}, engine.Errorf(engine.CodeInvalidRequest, "page.pdf.width and page.pdf.height must be greater than zero")
	}

	// Missing margins are zero, as in Puppeteer; Chromium's own default
	// is 1 cm.
	if m := opts.Margin; m != nil {
		params.MarginTop = inches(m.Top)
		params.MarginRight = inches(m.Right)
		params.MarginBottom = inches(m.Bottom)
		params.MarginLeft = inches(m.Left)
	}

	var err error
	if params.HeaderTemplate, err = decodeTemplate("page.pdf.headerTemplate", opts.HeaderTemplate); err != nil {
		return printJob{}, err
	}
	if params.FooterTemplate, err = decodeTemplate("page.pdf.footerTemplate", opts.FooterTemplate); err != nil {
		return printJob{}, err
	}
	return printJob{params: params, omitBackground: opts.OmitBackground}, nil
}

func inches(l *engine.Length) float64 {
	if l == nil {
		return 0
	}
	return l.Inches
}

func decodeTemplate(field, encoded string) (string, error) {
	if encoded == "" {
		return "", nil
	}
	html, err := engine.DecodeBase64(encoded)
	if err != nil {
		return "", engine.Errorf(engine.CodeInvalidRequest, "%s must be base64 encoded: %v", field, err)
	}
	return string(html), nil
}

// printPDF prints the tab and copies the PDF to out as Chromium streams it.
//
// Page.printToPDF waits for the page's load event by itself (observed
// with Chromium 156); Render stops the loads still running first when the
// request waited for less than load.
func printPDF(p *page, job printJob, out io.Writer) error {
	if job.omitBackground {
		if err := setTransparentBackground(p); err != nil {
			return err
		}
	}
	if err := waitForFonts(p); err != nil {
		return err
	}

	var res proto.PagePrintToPDFResult
	if err := p.session.call("Page.printToPDF", job.params, &res); err != nil {
		return outputError("printing the page", err)
	}
	return copyStream(p, res.Stream, out)
}

// copyStream reads a DevTools stream to its end into out and closes it.
func copyStream(p *page, handle proto.IOStreamHandle, out io.Writer) (err error) {
	defer func() {
		closeErr := proto.IOClose{Handle: handle}.Call(p.session)
		if err == nil && closeErr != nil {
			err = fmt.Errorf("closing the PDF stream failed: %w", closeErr)
		}
	}()

	size := streamChunkSize
	for {
		chunk, err := proto.IORead{Handle: handle, Size: &size}.Call(p.session)
		if err != nil {
			return fmt.Errorf("reading the PDF stream failed: %w", err)
		}
		data := []byte(chunk.Data)
		if chunk.Base64Encoded {
			if data, err = base64.StdEncoding.DecodeString(chunk.Data); err != nil {
				return fmt.Errorf("decoding the PDF stream failed: %w", err)
			}
		}
		if _, err := out.Write(data); err != nil {
			return fmt.Errorf("writing the PDF failed: %w", err)
		}
		if chunk.EOF {
			return nil
		}
	}
}
