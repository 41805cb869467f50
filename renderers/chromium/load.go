package chromium

import (
	"context"
	"errors"

	"github.com/go-rod/rod/lib/cdp"
	"github.com/go-rod/rod/lib/proto"

	"github.com/presso-dev/presso/engine"
)

// content is the source of a render's document, a URL or HTML, with the
// events to wait for.
type content struct {
	url  string
	html string
	// waitUntil lists the events that must all hold before the output.
	waitUntil []string
}

// contentOf decodes and checks the content of req before any tab is opened.
func contentOf(req *engine.RenderRequest) (content, error) {
	c := content{waitUntil: req.WaitUntil()}
	if err := checkWaitUntil(c.waitUntil); err != nil {
		return c, err
	}
	switch {
	case req.Page.Goto != nil:
		c.url = req.Page.Goto.URL
	case req.Page.SetContent != nil:
		html, err := engine.DecodeBase64(req.Page.SetContent.HTML)
		if err != nil {
			return c, engine.Errorf(engine.CodeInvalidRequest, "page.setContent.html must be base64 encoded: %v", err)
		}
		c.html = string(html)
	default:
		return c, engine.Errorf(engine.CodeInvalidRequest, "page must contain exactly one of goto (a URL) and setContent (base64 HTML)")
	}
	return c, nil
}

// load puts c into the tab and waits for c.waitUntil. w must be watching
// the tab already, so that no event of the new document is missed.
func load(ctx context.Context, p *page, w *loadWatcher, c content) error {
	if c.url != "" {
		if err := navigate(p, c.url); err != nil {
			return err
		}
	} else {
		// The tab is still on the about:blank it was created with, so the
		// document is written into it without a network round trip, and
		// relative URLs in it resolve against about:blank, as with
		// Puppeteer's page.setContent.
		set := proto.PageSetDocumentContent{FrameID: w.mainFrame, HTML: c.html}
		if err := set.Call(p.session); err != nil {
			return err
		}
	}
	return w.wait(ctx, c.waitUntil)
}

// navigate loads url in the tab. As with Puppeteer's page.goto, only a
// network-level failure fails the render: a 404 or 500 page is rendered.
func navigate(p *page, url string) error {
	res, err := proto.PageNavigate{URL: url}.Call(p.session)
	var cdpErr *cdp.Error
	switch {
	case errors.As(err, &cdpErr):
		// Chromium rejected the URL itself, for example as invalid.
		return engine.Errorf(engine.CodeNavigationFailed, "navigation to %s failed: %s", url, cdpErr.Message)
	case err != nil:
		return err
	case res.ErrorText != "":
		return engine.Errorf(engine.CodeNavigationFailed, "navigation to %s failed: %s", url, res.ErrorText)
	}
	return nil
}
