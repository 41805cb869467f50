package chromium

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/go-rod/rod/lib/cdp"
	"github.com/go-rod/rod/lib/proto"

	"github.com/presso-dev/presso/engine"
)

// pageSetup is the part of a request that is applied to the tab before the
// content loads: the page options named after Puppeteer's
// setJavaScriptEnabled, emulateMediaType, setUserAgent,
// setExtraHTTPHeaders, setCookies, setLocalStorageItems and authenticate.
type pageSetup struct {
	scriptsDisabled bool
	media           string
	userAgent       string
	headers         map[string]string
	cookies         []*proto.NetworkCookieParam
	// storageScript writes the localStorage items; empty when there are none.
	storageScript string
	credentials   *engine.Credentials
}

// newPageSetup converts the set-up options of req. The engine has checked
// them already (engine.RenderRequest.ValidatePage).
func newPageSetup(req *engine.RenderRequest) (pageSetup, error) {
	page := &req.Page
	s := pageSetup{
		scriptsDisabled: !page.JavaScriptEnabled(),
		media:           page.EmulateMediaType,
		userAgent:       page.SetUserAgent,
		headers:         page.SetExtraHTTPHeaders,
		credentials:     page.Authenticate,
	}
	for _, c := range page.SetCookies {
		s.cookies = append(s.cookies, cookieParam(c))
	}
	if len(page.SetLocalStorageItems) > 0 && page.Goto != nil {
		script, err := localStorageScript(page.Goto.URL, page.SetLocalStorageItems)
		if err != nil {
			return s, err
		}
		s.storageScript = script
	}
	return s, nil
}

// cookieParam converts a request cookie to the parameter of
// Network.setCookies. An expiry of 0 or less makes a session cookie, as
// does none: Puppeteer's page.cookies reports session cookies with -1,
// and callers pass such lists on as they are.
func cookieParam(c engine.Cookie) *proto.NetworkCookieParam {
	param := &proto.NetworkCookieParam{
		Name:     c.Name,
		Value:    c.Value,
		URL:      c.URL,
		Domain:   c.Domain,
		Path:     c.Path,
		Secure:   c.Secure,
		HTTPOnly: c.HTTPOnly,
		SameSite: proto.NetworkCookieSameSite(c.SameSite),
	}
	if c.Expires != nil && c.Expires.Seconds > 0 {
		param.Expires = proto.TimeSinceEpoch(c.Expires.Seconds)
	}
	return param
}

// localStorageScript returns the script that writes items into the
// localStorage of pageURL's origin. It runs at the start of every document
// of the tab, before the document's own scripts, and does nothing in
// frames and in documents of other origins, so that a redirect to another
// site receives none of the items.
func localStorageScript(pageURL string, items []engine.LocalStorageItem) (string, error) {
	pairs := make([][2]string, len(items))
	for i, item := range items {
		pairs[i] = [2]string{item.Key, item.Value}
	}
	encodedItems, err := json.Marshal(pairs)
	if err != nil {
		return "", err
	}
	encodedURL, err := json.Marshal(pageURL)
	if err != nil {
		return "", err
	}
	// A full storage quota throws; the page then starts without the
	// remaining items, as it would after a failed setItem of its own.
	return fmt.Sprintf(`(() => {
	if (window !== window.top || location.origin !== new URL(%s).origin) return;
	try {
		for (const [key, value] of %s) localStorage.setItem(key, value);
	} catch (error) {
		console.warn('Presso could not write page.setLocalStorageItems:', error);
	}
})();`, encodedURL, encodedItems), nil
}

// needsNetwork reports whether the set-up needs the Network domain enabled.
// Chromium adds extra headers only while it is (observed with Chromium
// 156), and sets cookies without it.
func (s pageSetup) needsNetwork() bool {
	return len(s.headers) > 0
}

// apply sends the set-up to the tab. Each option applies to the documents
// loaded after it, so apply runs before the content loads.
func (s pageSetup) apply(p *page, auth *authenticator) error {
	if s.scriptsDisabled {
		if err := (proto.EmulationSetScriptExecutionDisabled{Value: true}).Call(p.session); err != nil {
			return fmt.Errorf("turning JavaScript off failed: %w", err)
		}
	}
	if s.media != "" {
		if err := (proto.EmulationSetEmulatedMedia{Media: s.media}).Call(p.session); err != nil {
			return fmt.Errorf("emulating the media type %s failed: %w", s.media, err)
		}
	}
	if s.userAgent != "" {
		if err := (proto.EmulationSetUserAgentOverride{UserAgent: s.userAgent}).Call(p.session); err != nil {
			return fmt.Errorf("setting the user agent failed: %w", err)
		}
	}
	if len(s.headers) > 0 {
		params := map[string]any{"headers": s.headers}
		if err := p.session.call("Network.setExtraHTTPHeaders", params, nil); err != nil {
			return rejectedOption("page.setExtraHTTPHeaders", err)
		}
	}
	// One call per cookie, so that an error names the cookie Chromium
	// rejected.
	for i, cookie := range s.cookies {
		set := proto.NetworkSetCookies{Cookies: []*proto.NetworkCookieParam{cookie}}
		if err := set.Call(p.session); err != nil {
			return rejectedOption(fmt.Sprintf("page.setCookies[%d]", i), err)
		}
	}
	if s.storageScript != "" {
		add := proto.PageAddScriptToEvaluateOnNewDocument{Source: s.storageScript}
		if _, err := add.Call(p.session); err != nil {
			return fmt.Errorf("adding the localStorage script failed: %w", err)
		}
	}
	if auth != nil {
		if err := auth.enable(); err != nil {
			return fmt.Errorf("enabling the Fetch domain for page.authenticate failed: %w", err)
		}
	}
	return nil
}

// rejectedOption returns an invalid_request JobError when Chromium rejected
// the value of field, and err itself for any other failure.
func rejectedOption(field string, err error) error {
	var cdpErr *cdp.Error
	if errors.As(err, &cdpErr) {
		return engine.Errorf(engine.CodeInvalidRequest, "%s was rejected by Chromium: %s", field, cdpErr.Message)
	}
	return fmt.Errorf("setting %s failed: %w", field, err)
}
