package chromium

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"syscall"

	"github.com/go-rod/rod/lib/proto"

	"github.com/presso-dev/presso/engine"
	"github.com/presso-dev/presso/engine/outbound"
)

// The outbound guard sits where every connection of Chromium passes: an
// egress proxy in this process, which Chromium must use for every request,
// loopback included, and which dials only addresses the guard allows.
// Request interception would miss WebSockets; the proxy does not.

// proxyFlags are the Chromium flags that route its traffic through the
// guard's proxy. The WebRTC policy keeps WebRTC from sending UDP around the
// proxy. A flag of renderer.chromium.flags may not replace them.
func proxyFlags(proxyURL string) map[string]string {
	return map[string]string{
		"proxy-server":              proxyURL,
		"proxy-bypass-list":         "<-loopback>",
		"webrtc-ip-handling-policy": "disable_non_proxied_udp",
	}
}

// reservedFlags are the flags that would let traffic bypass the guard.
var reservedFlags = []string{"proxy-server", "proxy-bypass-list", "proxy-pac-url", "no-proxy-server", "proxy-auto-detect", "webrtc-ip-handling-policy"}

// checkMainURL refuses a page URL before anything is loaded: a scheme other
// than http, https, data and blob, or an address the guard denies.
func (r *Renderer) checkMainURL(ctx context.Context, raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return engine.Errorf(engine.CodeInvalidRequest, "page.goto.url %q is not a URL: %v", raw, err)
	}
	if !outbound.AllowedScheme(u) {
		return engine.Errorf(engine.CodeNavigationFailed, "navigation to %s refused: the scheme %q is not allowed; use http or https", raw, u.Scheme)
	}
	// Only a refusal fails here; a name that does not resolve is left to
	// Chromium, whose error does not reveal the resolver's address.
	if err := r.guard.CheckURL(ctx, raw); outbound.IsDenied(err) {
		return engine.Errorf(engine.CodeNavigationFailed, "navigation to %s refused: %v", raw, err)
	}
	return nil
}

// checkRefusals fails the render when the page tried to reach a refused
// address: the main document (whose page is then the proxy's 403 or a
// tunnel error) always, and a sub-resource when outbound.fail_on_refusal is
// set, so that a document never silently lacks what it tried to load.
func (r *Renderer) checkRefusals(p *page) error {
	if p.proxy == nil {
		return nil
	}
	if main := p.mainFrameURL(); main != nil {
		if denied := p.proxy.RefusedURL(main); denied != nil {
			return engine.Errorf(engine.CodeNavigationFailed, "navigation to %s refused: %v", main.Redacted(), denied)
		}
		if failed := p.proxy.FailedURL(main); failed != nil {
			return engine.Errorf(engine.CodeNavigationFailed, "navigation to %s failed: %s", main.Redacted(), describeDialError(failed))
		}
	}
	refusals := p.proxy.Refusals()
	if len(refusals) == 0 || !r.cfg.FailOnRefusal {
		return nil
	}
	first := refusals[0]
	return engine.Errorf(engine.CodeOutboundRefused, "the page tried to reach a refused address (%d refused requests): %v", len(refusals), first.Err)
}

// mainFrameURL returns the URL of the document shown in the tab, after any
// redirect or refresh; nil when it cannot be read.
func (p *page) mainFrameURL() *url.URL {
	tree, err := proto.PageGetFrameTree{}.Call(p.session)
	if err != nil || tree.FrameTree == nil || tree.FrameTree.Frame == nil {
		return nil
	}
	u, err := url.Parse(tree.FrameTree.Frame.URL)
	if err != nil {
		return nil
	}
	return u
}

// newProxySession opens a listener of its own on the guard's proxy for one
// job, so that refusals are attributed to that job. label names the
// session in the proxy's log lines. It returns nil without a proxy.
func newProxySession(proxy *outbound.Proxy, metrics *engine.Metrics, label string) (*outbound.Session, error) {
	if proxy == nil {
		return nil, nil
	}
	session, err := proxy.NewSession(label, func(host, addr, reason string) {
		metrics.CountOutboundRefused()
	})
	if err != nil {
		return nil, fmt.Errorf("opening the job's proxy session failed: %w", err)
	}
	return session, nil
}

// describeDialError words a connection failure of the proxy with Chromium's
// error names, as a page loaded without a proxy would fail. A lookup error
// is not quoted, because it names the operator's DNS resolver.
func describeDialError(err error) string {
	var dnsErr *net.DNSError
	switch {
	case errors.As(err, &dnsErr):
		return "net::ERR_NAME_NOT_RESOLVED (no address found for " + dnsErr.Name + ")"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "net::ERR_CONNECTION_REFUSED"
	case errors.Is(err, syscall.ECONNRESET):
		return "net::ERR_CONNECTION_RESET"
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded):
		return "net::ERR_CONNECTION_TIMED_OUT"
	}
	return "net::ERR_CONNECTION_FAILED"
}
