package outbound

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// maxRedirects is how many redirects CheckRedirect follows, as many as
// net/http's default policy.
const maxRedirects = 10

// HTTPTransport returns a clone of http.DefaultTransport that connects
// only through the guard. Its Proxy is nil: with HTTP_PROXY from the
// environment, the guard would check the proxy's address instead of the
// target's.
func (g *Guard) HTTPTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy = nil
	t.DialContext = g.DialContext
	t.DialTLSContext = nil
	return t
}

// CheckRedirect is an http.Client.CheckRedirect policy for clients that
// follow redirects: it stops after 10 redirects and refuses a redirect to
// any scheme but http and https. The target's address is checked when the
// guarded transport connects, so a redirect to an internal host fails
// there with a *DeniedError.
func (g *Guard) CheckRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= maxRedirects {
		return fmt.Errorf("outbound: stopped after %d redirects", maxRedirects)
	}
	scheme := strings.ToLower(req.URL.Scheme)
	if scheme != "http" && scheme != "https" {
		return &DeniedError{Host: req.URL.Host, Reason: fmt.Sprintf("redirect to scheme %q is not allowed, only http and https", req.URL.Scheme)}
	}
	return nil
}

// IsDenied reports whether err is or wraps a *DeniedError.
func IsDenied(err error) bool {
	var denied *DeniedError
	return errors.As(err, &denied)
}
