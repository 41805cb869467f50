package chromium

import (
	"errors"
	"fmt"

	"github.com/go-rod/rod/lib/cdp"
	"github.com/go-rod/rod/lib/proto"

	"github.com/presso-dev/presso/engine"
)

// setTransparentBackground replaces the default white background of the
// page, the one shown where the page paints none, with a transparent one.
func setTransparentBackground(p *page) error {
	transparent := 0.0
	return proto.EmulationSetDefaultBackgroundColorOverride{
		Color: &proto.DOMRGBA{R: 0, G: 0, B: 0, A: &transparent},
	}.Call(p.session)
}

// waitForFonts waits until the web fonts that the page is loading are
// ready, as Puppeteer does before printing, so that no text is drawn with
// a fallback font. A page can break document.fonts, so only the end of
// the render's context counts as an error.
func waitForFonts(p *page) error {
	_, err := proto.RuntimeEvaluate{
		Expression:    "document.fonts.ready.then(() => true)",
		AwaitPromise:  true,
		ReturnByValue: true,
	}.Call(p.session)
	if err != nil && p.session.ctx.Err() != nil {
		return err
	}
	return nil
}

// outputError turns an error of printToPDF or captureScreenshot into a
// render_failed JobError when Chromium rejected the command: its message
// then names a request value, such as a page range past the last page.
func outputError(action string, err error) error {
	var cdpErr *cdp.Error
	if errors.As(err, &cdpErr) {
		return engine.Errorf(engine.CodeRenderFailed, "%s failed: %s", action, cdpErr.Message)
	}
	return fmt.Errorf("%s failed: %w", action, err)
}
