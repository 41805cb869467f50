package outbound

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

// hostPort joins a host as written in a URL with a port.
func hostPort(host string, port int) string {
	switch {
	case strings.HasPrefix(host, "["):
		return fmt.Sprintf("%s:%d", host, port)
	case strings.Contains(host, ":"):
		return fmt.Sprintf("[%s]:%d", host, port)
	}
	return fmt.Sprintf("%s:%d", host, port)
}

func TestDialContextRefusesForbiddenHosts(t *testing.T) {
	g, _, d := newTestGuard(t)
	hosts := append(forbiddenHosts, struct{ host, reason string }{"localhost", "loopback address"})
	for _, tc := range hosts {
		conn, err := g.DialContext(t.Context(), "tcp", hostPort(tc.host, 6379))
		if conn != nil {
			_ = conn.Close()
		}
		var denied *DeniedError
		if !errors.As(err, &denied) {
			t.Errorf("DialContext(%q) error = %v, want a *DeniedError", tc.host, err)
			continue
		}
		if !strings.HasPrefix(denied.Reason, tc.reason) {
			t.Errorf("DialContext(%q) reason = %q, want it to start with %q", tc.host, denied.Reason, tc.reason)
		}
		if denied.Addr.Port() != 6379 {
			t.Errorf("DialContext(%q) refused address = %s, want port 6379", tc.host, denied.Addr)
		}
	}
	if dialed := d.dialedAddrs(); len(dialed) != 0 {
		t.Errorf("the guard dialed %q, want no dial for refused hosts", dialed)
	}
}

func TestDeniedErrorMessages(t *testing.T) {
	g, _, _ := newTestGuard(t)
	cases := []struct {
		addr string
		want string
	}{
		{"127.0.0.1:6379", "outbound request to 127.0.0.1:6379 refused: loopback address (allow it with outbound.allow)"},
		{"[::1]:6379", "outbound request to [::1]:6379 refused: loopback address (allow it with outbound.allow)"},
		{"localhost:6379", "outbound request to localhost:6379 refused: localhost resolves to 127.0.0.1, a loopback address (allow it with outbound.allow)"},
		{"0x7f.1:6379", "outbound request to 0x7f.1:6379 refused: 0x7f.1 means 127.0.0.1, a loopback address (allow it with outbound.allow)"},
		{"2130706433:80", "outbound request to 2130706433:80 refused: 2130706433 means 127.0.0.1, a loopback address (allow it with outbound.allow)"},
		{"169.254.169.254:80", "outbound request to 169.254.169.254:80 refused: link-local address of the cloud metadata service (allow it with outbound.allow)"},
		{"[::ffff:10.0.0.1]:80", "outbound request to [::ffff:10.0.0.1]:80 refused: private address 10.0.0.1 embedded in an IPv4-mapped IPv6 address (allow it with outbound.allow)"},
		{"0.0.0.0:80", "outbound request to 0.0.0.0:80 refused: unspecified address (allow it with outbound.allow)"},
		{"1.2.3.256:80", "outbound request to 1.2.3.256 refused: invalid host"},
	}
	for _, tc := range cases {
		_, err := g.DialContext(t.Context(), "tcp", tc.addr)
		if err == nil {
			t.Errorf("DialContext(%s) succeeded, want a refusal", tc.addr)
			continue
		}
		if err.Error() != tc.want {
			t.Errorf("DialContext(%s) error =\n  %s\nwant\n  %s", tc.addr, err, tc.want)
		}
	}
}

// A name is looked up once per connection and the connection goes to the
// checked address itself.
func TestDialContextPinsCheckedAddress(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "public page")
	}))
	defer backend.Close()
	g, r, d := newTestGuard(t)
	d.route(netip.AddrPortFrom(publicAddr, 80), backend.Listener.Addr().String())

	transport := g.HTTPTransport()
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: transport}
	resp, err := client.Get("http://public.test/")
	if err != nil {
		t.Fatalf("GET http://public.test/: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "public page" {
		t.Errorf("body = %q, want %q", body, "public page")
	}
	if dialed := d.dialedAddrs(); !slices.Equal(dialed, []string{"93.184.216.34:80"}) {
		t.Errorf("dialed %q, want exactly [93.184.216.34:80]", dialed)
	}
	if n := r.count("public.test"); n != 1 {
		t.Errorf("public.test was looked up %d times, want 1", n)
	}
}

// A rebinding name resolves to a public address at the early check and to
// a loopback address later. The connection must still never reach loopback.
func TestDNSRebindingNeverReachesLoopback(t *testing.T) {
	internal := startProbe(t)
	g, r, d := newTestGuard(t)
	r.set("rebind.test", publicAddr.String())
	r.set("rebind.test", "127.0.0.1")
	d.route(netip.MustParseAddrPort(internal.addr()), internal.addr())

	target := fmt.Sprintf("http://rebind.test:%d/", internal.port())
	if err := g.CheckURL(t.Context(), target); err != nil {
		t.Fatalf("CheckURL(%s) with the public answer: %v", target, err)
	}

	transport := g.HTTPTransport()
	defer transport.CloseIdleConnections()
	resp, err := (&http.Client{Transport: transport}).Get(target)
	if err == nil {
		resp.Body.Close()
		t.Fatalf("GET %s succeeded after the name rebound to loopback", target)
	}
	if !IsDenied(err) {
		t.Errorf("GET %s error = %v, want a *DeniedError", target, err)
	}
	for _, a := range d.dialedAddrs() {
		if netip.MustParseAddrPort(a).Addr().IsLoopback() {
			t.Errorf("the guard dialed %s", a)
		}
	}
	if n := internal.conns.Load(); n != 0 {
		t.Errorf("the internal listener accepted %d connections, want 0", n)
	}
}

// A name with one public and one internal address is refused as a whole,
// even with the public address first.
func TestMixedAnswerRefusesWholeName(t *testing.T) {
	g, r, d := newTestGuard(t)
	r.set("mixed.test", publicAddr.String(), "10.0.0.1")
	d.route(netip.AddrPortFrom(publicAddr, 80), "127.0.0.1:1")

	_, err := g.DialContext(t.Context(), "tcp", "mixed.test:80")
	var denied *DeniedError
	if !errors.As(err, &denied) {
		t.Fatalf("DialContext(mixed.test:80) error = %v, want a *DeniedError", err)
	}
	if denied.Addr != netip.MustParseAddrPort("10.0.0.1:80") {
		t.Errorf("refused address = %s, want 10.0.0.1:80", denied.Addr)
	}
	if dialed := d.dialedAddrs(); len(dialed) != 0 {
		t.Errorf("dialed %q, want nothing", dialed)
	}
}

func TestAllowByHostPort(t *testing.T) {
	allowed := startProbe(t)
	other := startProbe(t)
	g, _, d := newTestGuard(t, allowed.addr())
	d.route(netip.MustParseAddrPort(allowed.addr()), allowed.addr())
	d.route(netip.MustParseAddrPort(other.addr()), other.addr())

	conn, err := g.DialContext(t.Context(), "tcp", allowed.addr())
	if err != nil {
		t.Fatalf("DialContext(%s) with it allowed: %v", allowed.addr(), err)
	}
	_ = conn.Close()

	_, err = g.DialContext(t.Context(), "tcp", other.addr())
	if !IsDenied(err) {
		t.Errorf("DialContext(%s), another port: error = %v, want a *DeniedError", other.addr(), err)
	}
	if n := other.conns.Load(); n != 0 {
		t.Errorf("the listener on the other port accepted %d connections, want 0", n)
	}
}

func TestAllowByCIDR(t *testing.T) {
	g, _, d := newTestGuard(t, "10.20.0.0/16")

	// The test dialer has no route to 10.20.1.5, so the dial fails after
	// the guard let it through, without any packet leaving the machine.
	_, err := g.DialContext(t.Context(), "tcp", "10.20.1.5:443")
	if IsDenied(err) {
		t.Fatalf("DialContext(10.20.1.5:443) refused: %v", err)
	}
	if dialed := d.dialedAddrs(); !slices.Equal(dialed, []string{"10.20.1.5:443"}) {
		t.Errorf("dialed %q, want [10.20.1.5:443]", dialed)
	}

	_, err = g.DialContext(t.Context(), "tcp", "10.21.0.1:443")
	if !IsDenied(err) {
		t.Errorf("DialContext(10.21.0.1:443) outside the prefix: error = %v, want a *DeniedError", err)
	}
}

func TestAllowByPattern(t *testing.T) {
	g, r, d := newTestGuard(t, "*.intranet.test")
	r.set("wiki.intranet.test", "10.20.1.5")
	r.set("intranet.test", "10.20.1.6")
	r.set("evil.test", "10.20.1.5")

	_, err := g.DialContext(t.Context(), "tcp", "wiki.intranet.test:80")
	if IsDenied(err) {
		t.Errorf("DialContext(wiki.intranet.test:80) refused: %v", err)
	}
	for _, addr := range []string{"intranet.test:80", "evil.test:80"} {
		if _, err := g.DialContext(t.Context(), "tcp", addr); !IsDenied(err) {
			t.Errorf("DialContext(%s) error = %v, want a *DeniedError", addr, err)
		}
	}
	if dialed := d.dialedAddrs(); !slices.Equal(dialed, []string{"10.20.1.5:80"}) {
		t.Errorf("dialed %q, want only [10.20.1.5:80] for wiki.intranet.test", dialed)
	}
}

func TestDialContextRejectsOtherNetworks(t *testing.T) {
	g, _, _ := newTestGuard(t)
	for _, network := range []string{"udp", "unix", "ip4:icmp"} {
		if _, err := g.DialContext(t.Context(), network, "93.184.216.34:53"); err == nil {
			t.Errorf("DialContext(%s) succeeded, want an error", network)
		}
	}
}

func TestDialContextNameFailures(t *testing.T) {
	g, r, _ := newTestGuard(t)
	r.set("v4only.test", publicAddr.String())

	_, err := g.DialContext(t.Context(), "tcp", "missing.test:80")
	if err == nil || IsDenied(err) {
		t.Errorf("DialContext(missing.test:80) error = %v, want a lookup error", err)
	}
	_, err = g.DialContext(t.Context(), "tcp6", "v4only.test:80")
	if err == nil || IsDenied(err) {
		t.Errorf("DialContext(tcp6, v4only.test:80) error = %v, want a no-address error", err)
	}
	_, err = g.DialContext(t.Context(), "tcp", "public.test:http")
	if err == nil {
		t.Errorf("DialContext(public.test:http) succeeded, want an invalid port error")
	}
}

// The default dialer connects to the checked address and refuses any other.
func TestDefaultDialerPinsAddress(t *testing.T) {
	allowed := startProbe(t)
	g, err := New(Config{Allow: []string{allowed.addr()}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := g.DialContext(t.Context(), "tcp", allowed.addr())
	if err != nil {
		t.Fatalf("DialContext(%s): %v", allowed.addr(), err)
	}
	_ = conn.Close()
	deadline := time.Now().Add(5 * time.Second)
	for allowed.conns.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := allowed.conns.Load(); n != 1 {
		t.Errorf("the allowed listener accepted %d connections, want 1", n)
	}

	ctx := withPinned(t.Context(), netip.MustParseAddrPort("93.184.216.34:80"))
	if err := controlPinned(ctx, "tcp4", "127.0.0.1:80", nil); err == nil {
		t.Errorf("controlPinned accepted 127.0.0.1:80 for a dial pinned to 93.184.216.34:80")
	}
	if err := controlPinned(context.Background(), "tcp4", "127.0.0.1:80", nil); err == nil {
		t.Errorf("controlPinned accepted a dial without a checked address")
	}
	if err := controlPinned(ctx, "tcp4", "93.184.216.34:80", nil); err != nil {
		t.Errorf("controlPinned refused the checked address: %v", err)
	}
}

func TestCheckURL(t *testing.T) {
	g, _, d := newTestGuard(t)
	cases := []struct {
		url    string
		denied bool // a *DeniedError rather than another error
		ok     bool
	}{
		{"http://public.test/hook", false, true},
		{"https://public.test:8443/upload?X-Amz-Signature=abc", false, true},
		{"HTTPS://93.184.216.34/", false, true},
		{"http://127.0.0.1:6379/", true, false},
		{"http://0x7f.1/", true, false},
		{"http://[::ffff:169.254.169.254]/latest/meta-data/", true, false},
		{"http://localhost/", true, false},
		{"ftp://public.test/", true, false},
		{"file:///etc/passwd", true, false},
		{"gopher://public.test/", true, false},
		{"http:///nohost", false, false},
		{"http://public.test:99999/", false, false},
		{"http://missing.test/", false, false},
		{"http://1.2.3.256/", true, false},
		{"::not a url", false, false},
	}
	for _, tc := range cases {
		err := g.CheckURL(t.Context(), tc.url)
		switch {
		case tc.ok && err != nil:
			t.Errorf("CheckURL(%q) = %v, want nil", tc.url, err)
		case !tc.ok && err == nil:
			t.Errorf("CheckURL(%q) = nil, want an error", tc.url)
		case !tc.ok && IsDenied(err) != tc.denied:
			t.Errorf("CheckURL(%q) = %v; *DeniedError: %v, want %v", tc.url, err, IsDenied(err), tc.denied)
		}
	}
	if dialed := d.dialedAddrs(); len(dialed) != 0 {
		t.Errorf("CheckURL dialed %q, want no connection", dialed)
	}
}

func TestCheckURLHidesCredentials(t *testing.T) {
	g, _, _ := newTestGuard(t)
	err := g.CheckURL(t.Context(), "http://user:s3cret@public.test:99999/?token=s3cret")
	if err == nil {
		t.Fatal("CheckURL with an invalid port succeeded")
	}
	if strings.Contains(err.Error(), "s3cret") {
		t.Errorf("CheckURL error %q contains the URL's secret", err)
	}
}

func TestAllowedScheme(t *testing.T) {
	cases := map[string]bool{
		"http://example.com/":                true,
		"HTTPS://example.com/":               true,
		"data:text/html,<p>hi</p>":           true,
		"blob:https://example.com/1234-5678": true,
		"file:///etc/passwd":                 false,
		"view-source:https://example.com/":   false,
		"chrome://settings":                  false,
		"chrome-extension://abc/page.html":   false,
		"devtools://devtools/bundled/x.html": false,
		"ftp://example.com/":                 false,
		"javascript:alert(1)":                false,
		"about:blank":                        false,
		"ws://example.com/":                  false,
		"filesystem:https://example.com/x":   false,
		"//example.com/":                     false,
	}
	for raw, want := range cases {
		u, err := url.Parse(raw)
		if err != nil {
			t.Errorf("url.Parse(%q): %v", raw, err)
			continue
		}
		if got := AllowedScheme(u); got != want {
			t.Errorf("AllowedScheme(%q) = %v, want %v", raw, got, want)
		}
	}
}

func TestHTTPTransportIgnoresEnvironmentProxy(t *testing.T) {
	t.Setenv("HTTP_PROXY", "http://127.0.0.1:1")
	t.Setenv("HTTPS_PROXY", "http://127.0.0.1:1")
	g, _, _ := newTestGuard(t)
	transport := g.HTTPTransport()
	if transport.Proxy != nil {
		t.Errorf("HTTPTransport().Proxy is set, want nil")
	}
	if transport.DialContext == nil {
		t.Errorf("HTTPTransport().DialContext is nil, want the guard's")
	}
	if transport == http.DefaultTransport {
		t.Errorf("HTTPTransport returned http.DefaultTransport itself, want a clone")
	}
}

// A Go client through the guarded transport gets the *DeniedError back,
// wrapped in the *url.Error of net/http.
func TestHTTPTransportRefusesInternalTarget(t *testing.T) {
	internal := startProbe(t)
	g, _, _ := newTestGuard(t)
	transport := g.HTTPTransport()
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: transport}

	resp, err := client.Post("http://"+internal.addr()+"/hook", "application/json", strings.NewReader("{}"))
	if err == nil {
		resp.Body.Close()
		t.Fatal("POST to the internal listener succeeded")
	}
	var denied *DeniedError
	if !errors.As(err, &denied) {
		t.Fatalf("POST error = %v, want a wrapped *DeniedError", err)
	}
	want := fmt.Sprintf("outbound request to %s refused: loopback address", internal.addr())
	if !strings.Contains(err.Error(), want) {
		t.Errorf("POST error = %q, want it to contain %q", err, want)
	}
	if n := internal.conns.Load(); n != 0 {
		t.Errorf("the internal listener accepted %d connections, want 0", n)
	}
}

func TestCheckRedirect(t *testing.T) {
	g, _, _ := newTestGuard(t)
	req := func(raw string) *http.Request {
		r, err := http.NewRequest(http.MethodGet, raw, nil)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	if err := g.CheckRedirect(req("https://public.test/next"), []*http.Request{req("https://public.test/")}); err != nil {
		t.Errorf("CheckRedirect to https = %v, want nil", err)
	}
	if err := g.CheckRedirect(req("ftp://public.test/next"), []*http.Request{req("https://public.test/")}); !IsDenied(err) {
		t.Errorf("CheckRedirect to ftp = %v, want a *DeniedError", err)
	}
	via := make([]*http.Request, maxRedirects)
	for i := range via {
		via[i] = req("https://public.test/")
	}
	if err := g.CheckRedirect(req("https://public.test/next"), via); err == nil {
		t.Errorf("CheckRedirect after %d redirects = nil, want an error", maxRedirects)
	}
}

// Some resolvers return IPv4 addresses in the IPv4-mapped IPv6 form.
func TestMappedAnswersAreChecked(t *testing.T) {
	g, r, _ := newTestGuard(t)
	r.set("mapped.test", "::ffff:127.0.0.1")
	_, err := g.DialContext(t.Context(), "tcp", "mapped.test:80")
	var denied *DeniedError
	if !errors.As(err, &denied) {
		t.Fatalf("DialContext(mapped.test:80) error = %v, want a *DeniedError", err)
	}
	if denied.Reason != "loopback address" {
		t.Errorf("reason = %q, want %q", denied.Reason, "loopback address")
	}
}
