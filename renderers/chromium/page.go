package chromium

import (
	"context"
	"errors"
	"fmt"

	"github.com/go-rod/rod/lib/proto"

	"github.com/presso-dev/presso/engine"
	"github.com/presso-dev/presso/engine/outbound"
)

// page is the tab of one render. It lives in an incognito browser context
// of its own, so that no cookie, storage entry, cache entry or service
// worker passes from one render to the next.
type page struct {
	browser   *browser
	contextID proto.BrowserBrowserContextID
	targetID  proto.TargetTargetID
	// session sends commands to the tab, bounded by the render's context.
	session session
	// proxy is the job's session of the outbound proxy; nil without one.
	proxy *outbound.Session
	// enabled records that the Page domain and its lifecycle events are on.
	enabled bool
	// proxyLabel names the proxy session in the proxy's log lines: the job
	// ID, or "browser<id>-prepared-<n>" for a prepared tab.
	proxyLabel string
}

// openPage creates a browser context with one about:blank tab in it and
// attaches to the tab. On error, whatever was created is closed again.
func openPage(ctx context.Context, b *browser, proxy *outbound.Session) (*page, error) {
	root := b.session(ctx, "")
	create := proto.TargetCreateBrowserContext{DisposeOnDetach: true}
	if proxy != nil {
		// The job's own proxy listener attributes refusals to this job.
		create.ProxyServer = proxy.URL()
		create.ProxyBypassList = "<-loopback>"
	}
	created, err := create.Call(root)
	if err != nil {
		if proxy != nil {
			proxy.Close()
		}
		return nil, fmt.Errorf("creating a browser context failed: %w", err)
	}
	p := &page{browser: b, contextID: created.BrowserContextID, proxy: proxy}

	// Denied explicitly, not left to Chromium's default for headless mode,
	// so that no page can make Chromium write a file on this machine.
	deny := proto.BrowserSetDownloadBehavior{Behavior: proto.BrowserSetDownloadBehaviorBehaviorDeny, BrowserContextID: p.contextID}
	if err := deny.Call(root); err != nil {
		_ = p.close()
		return nil, fmt.Errorf("turning off downloads failed: %w", err)
	}
	target, err := proto.TargetCreateTarget{URL: "about:blank", BrowserContextID: p.contextID}.Call(root)
	if err != nil {
		_ = p.close()
		return nil, fmt.Errorf("creating a tab failed: %w", err)
	}
	p.targetID = target.TargetID

	// Flatten puts the tab's messages on the browser connection, tagged
	// with the session id, which is how session and the event fan-out
	// tell renders apart.
	attached, err := proto.TargetAttachToTarget{TargetID: target.TargetID, Flatten: true}.Call(root)
	if err != nil {
		_ = p.close()
		return nil, fmt.Errorf("attaching to the tab failed: %w", err)
	}
	p.session = b.session(ctx, attached.SessionID)
	return p, nil
}

// prepare enables the DevTools domains that the load watcher reads and
// applies the viewport. withNetwork enables the Network domain, needed
// only to wait for network idle.
func (p *page) prepare(viewport *engine.Viewport, withNetwork bool) error {
	if err := p.enable(); err != nil {
		return err
	}
	if withNetwork {
		if err := (proto.NetworkEnable{}).Call(p.session); err != nil {
			return err
		}
	}
	return p.emulate(viewport)
}

// emulate applies launch.defaultViewport, as Puppeteer's page.setViewport
// does: the size and scale through device metrics, isLandscape as the
// screen orientation, hasTouch through touch emulation.
func (p *page) emulate(viewport *engine.Viewport) error {
	width, height, scale := viewport.Size()
	var mobile, touch, landscape bool
	if viewport != nil {
		mobile, touch, landscape = viewport.IsMobile, viewport.HasTouch, viewport.IsLandscape
	}
	orientation := &proto.EmulationScreenOrientation{Type: proto.EmulationScreenOrientationTypePortraitPrimary, Angle: 0}
	if landscape {
		orientation = &proto.EmulationScreenOrientation{Type: proto.EmulationScreenOrientationTypeLandscapePrimary, Angle: 90}
	}
	metrics := proto.EmulationSetDeviceMetricsOverride{
		Width:             width,
		Height:            height,
		DeviceScaleFactor: scale,
		Mobile:            mobile,
		ScreenOrientation: orientation,
	}
	if err := metrics.Call(p.session); err != nil {
		return err
	}
	if touch {
		return proto.EmulationSetTouchEmulationEnabled{Enabled: true}.Call(p.session)
	}
	return nil
}

// close closes the tab and disposes of its browser context. It uses a
// context of its own, because the render's context has often ended by then.
// Target.closeTarget does not run beforeunload handlers, so a page cannot
// keep its tab open.
func (p *page) close() error {
	ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
	defer cancel()
	root := p.browser.session(ctx, "")

	var errs []error
	if p.targetID != "" {
		if _, err := (proto.TargetCloseTarget{TargetID: p.targetID}).Call(root); err != nil {
			errs = append(errs, fmt.Errorf("closing the tab failed: %w", err))
		}
	}
	if err := (proto.TargetDisposeBrowserContext{BrowserContextID: p.contextID}).Call(root); err != nil {
		errs = append(errs, fmt.Errorf("disposing of the browser context failed: %w", err))
	}
	if p.proxy != nil {
		errs = append(errs, p.proxy.Close())
	}
	return errors.Join(errs...)
}
