package chromium

import (
	"fmt"
	"io"
	"math"

	"github.com/go-rod/rod/lib/proto"

	"github.com/presso-dev/presso/engine"
)

// screenshotJob is a checked page.screenshot request.
type screenshotJob struct {
	format         proto.PageCaptureScreenshotFormat
	quality        *int
	fullPage       bool
	clip           *engine.Clip
	omitBackground bool
	beyondViewport bool
	viewport       *engine.Viewport
}

// newScreenshotJob checks the page.screenshot options of req, nil for all
// defaults.
func newScreenshotJob(req *engine.RenderRequest) (screenshotJob, error) {
	opts := req.Page.Screenshot
	if opts == nil {
		opts = &engine.ScreenshotOptions{}
	}
	job := screenshotJob{
		format:         proto.PageCaptureScreenshotFormat(req.ScreenshotType()),
		fullPage:       opts.FullPage,
		clip:           opts.Clip,
		omitBackground: opts.OmitBackground,
		// true by default, as in Puppeteer.
		beyondViewport: opts.CaptureBeyondViewport == nil || *opts.CaptureBeyondViewport,
		viewport:       req.Viewport(),
	}
	if opts.Quality != nil {
		if job.format == proto.PageCaptureScreenshotFormatPng {
			return job, engine.Errorf(engine.CodeInvalidRequest, "page.screenshot.quality applies to jpeg and webp only: remove it or set page.screenshot.type")
		}
		if *opts.Quality < 0 || *opts.Quality > 100 {
			return job, engine.Errorf(engine.CodeInvalidRequest, "page.screenshot.quality must be between 0 and 100, got %d", *opts.Quality)
		}
		job.quality = opts.Quality
	}
	// engine.RenderRequest.ValidatePage has checked the clip.
	return job, nil
}

// capture takes the screenshot and writes the image to out.
func capture(p *page, job screenshotJob, out io.Writer) error {
	if job.omitBackground {
		if err := setTransparentBackground(p); err != nil {
			return err
		}
	}
	if err := waitForFonts(p); err != nil {
		return err
	}

	req := proto.PageCaptureScreenshot{
		Format:      job.format,
		Quality:     job.quality,
		FromSurface: true,
		// Capturing beyond the viewport without a clip would capture the
		// whole page, so it is on only with a clip.
		CaptureBeyondViewport: job.beyondViewport && (job.clip != nil || job.fullPage),
	}
	switch {
	case job.clip != nil:
		req.Clip = &proto.PageViewport{X: job.clip.X, Y: job.clip.Y, Width: job.clip.Width, Height: job.clip.Height, Scale: 1}
	case job.fullPage:
		clip, err := fullPageClip(p, job)
		if err != nil {
			return err
		}
		req.Clip = clip
	}

	shot, err := req.Call(p.session)
	if err != nil {
		return outputError("capturing the screenshot", err)
	}
	if _, err := out.Write(shot.Data); err != nil {
		return fmt.Errorf("writing the screenshot failed: %w", err)
	}
	return nil
}

// fullPageClip returns the clip of the whole scrollable page. Without
// captureBeyondViewport, Chromium draws only what the viewport shows, so
// the viewport grows to the page's size instead and no clip is needed, as
// Puppeteer does.
func fullPageClip(p *page, job screenshotJob) (*proto.PageViewport, error) {
	metrics, err := proto.PageGetLayoutMetrics{}.Call(p.session)
	if err != nil {
		return nil, err
	}
	if metrics.CSSContentSize == nil {
		return nil, fmt.Errorf("chromium returned no content size for a full-page screenshot")
	}
	width := math.Ceil(metrics.CSSContentSize.Width)
	height := math.Ceil(metrics.CSSContentSize.Height)

	if job.beyondViewport {
		return &proto.PageViewport{X: 0, Y: 0, Width: width, Height: height, Scale: 1}, nil
	}
	grown := engine.Viewport{Width: int(width), Height: int(height)}
	if v := job.viewport; v != nil {
		grown.DeviceScaleFactor = v.DeviceScaleFactor
		grown.IsMobile = v.IsMobile
		grown.IsLandscape = v.IsLandscape
	}
	return nil, p.emulate(&grown)
}
