package chromium

import (
	"bytes"
	"fmt"
	"image/png"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/presso-dev/presso/engine"
)

// recordingServer serves the pages of the set-up tests on loopback and
// records the headers of every request it receives, by path.
type recordingServer struct {
	*httptest.Server
	mu       sync.Mutex
	requests map[string][]http.Header
}

const (
	testUsername = "alice"
	testPassword = "wonderland"
)

func newRecordingServer(t *testing.T) *recordingServer {
	t.Helper()
	s := &recordingServer{requests: map[string][]http.Header{}}

	mux := http.NewServeMux()
	// /headers prints what the page's scripts see and loads an image, so
	// that the headers of a sub-resource are recorded too.
	mux.HandleFunc("/headers", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<p>headers page</p><img src="/pixel.gif"><p id="out"></p><script>
			document.getElementById('out').textContent = 'agent [' + navigator.userAgent + '] cookies [' + document.cookie + ']';
		</script>`)
	})
	mux.HandleFunc("/pixel.gif", servePixel)

	mux.HandleFunc("/protected/", func(w http.ResponseWriter, r *http.Request) {
		user, password, ok := r.BasicAuth()
		if !ok || user != testUsername || password != testPassword {
			w.Header().Set("WWW-Authenticate", `Basic realm="presso-test"`)
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, "<p>Access denied</p>")
			return
		}
		if strings.HasSuffix(r.URL.Path, ".gif") {
			servePixel(w, r)
			return
		}
		fmt.Fprintf(w, `<p>Welcome %s</p><img src="/protected/pixel.gif">`, user)
	})

	mux.HandleFunc("/storage", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<p id="out"></p><script>
			document.getElementById('out').textContent = 'locale ' + localStorage.getItem('locale') + ' theme ' + localStorage.getItem('theme');
		</script>`)
	})
	// /redirect sends the browser to the URL in its query.
	mux.HandleFunc("/redirect", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, r.URL.Query().Get("to"), http.StatusFound)
	})

	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.requests[r.URL.Path] = append(s.requests[r.URL.Path], r.Header.Clone())
		s.mu.Unlock()
		// Without it, Go sniffs pages that start with <img or <p as text.
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

func servePixel(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "image/gif")
	w.Write(transparentGIF)
}

// received returns the headers of the requests for path, oldest first.
func (s *recordingServer) received(path string) []http.Header {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests[path]
}

// lastReceived returns the headers of the latest request for path.
func (s *recordingServer) lastReceived(t *testing.T, path string) http.Header {
	t.Helper()
	all := s.received(path)
	if len(all) == 0 {
		t.Fatalf("the server received no request for %s", path)
	}
	return all[len(all)-1]
}

func TestEmulateMediaTypeInPDF(t *testing.T) {
	html := `<style>
		@media print { .screen-only { display: none } }
		@media screen { .print-only { display: none } }
	</style><p class="print-only">print styles</p><p class="screen-only">screen styles</p>`
	cases := []struct {
		media string
		want  string
		not   string
	}{
		{"", "print styles", "screen styles"},
		{"print", "print styles", "screen styles"},
		{"screen", "screen styles", "print styles"},
	}
	for _, tc := range cases {
		t.Run("media "+tc.media, func(t *testing.T) {
			t.Parallel()
			req := htmlRequest(html)
			req.Page.EmulateMediaType = tc.media

			text := pdfText(t, mustRender(t, engine.KindPDF, req), 0, 0)

			if !strings.Contains(text, tc.want) {
				t.Errorf("PDF text = %q, want %q", text, tc.want)
			}
			if strings.Contains(text, tc.not) {
				t.Errorf("PDF text = %q, want no %q", text, tc.not)
			}
		})
	}
}

func TestEmulateMediaTypeInScreenshot(t *testing.T) {
	html := `<style>
		@media screen { body { background: rgb(0, 0, 255) } }
		@media print { body { background: rgb(255, 0, 0) } }
	</style><p>colours</p>`
	cases := []struct {
		media   string
		wantRed bool
	}{
		{"", false},
		{"print", true},
	}
	for _, tc := range cases {
		t.Run("media "+tc.media, func(t *testing.T) {
			t.Parallel()
			req := htmlRequest(html)
			req.Page.EmulateMediaType = tc.media

			shot := mustRender(t, engine.KindScreenshot, req)

			img, err := png.Decode(bytes.NewReader(shot))
			if err != nil {
				t.Fatalf("decoding the screenshot: %v", err)
			}
			r, _, b, _ := img.At(400, 500).RGBA()
			if red := r > 0xf000 && b < 0x1000; red != tc.wantRed {
				t.Errorf("background at (400, 500) is red: %v, want %v (r=%#x b=%#x)", red, tc.wantRed, r, b)
			}
		})
	}
}

func TestJavaScriptDisabled(t *testing.T) {
	server := newRecordingServer(t)
	html := `<p>static text</p><script>document.write('<p>written by a script</p>')</script><noscript><p>fallback for no scripts</p></noscript>`
	cases := []struct {
		name    string
		req     engine.RenderRequest
		enabled bool
	}{
		{"setContent enabled", htmlRequest(html), true},
		{"setContent disabled", htmlRequest(html), false},
		{"goto disabled", gotoRequest(server.URL + "/headers"), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.req.Page.SetJavaScriptEnabled = &tc.enabled

			text := pdfText(t, mustRender(t, engine.KindPDF, tc.req), 0, 0)

			if tc.req.Page.Goto != nil {
				if !strings.Contains(text, "headers page") {
					t.Fatalf("PDF text = %q, want the page's static text", text)
				}
				if strings.Contains(text, "agent [") {
					t.Errorf("PDF text = %q, want nothing written by the page's script", text)
				}
				return
			}
			if !strings.Contains(text, "static text") {
				t.Fatalf("PDF text = %q, want the static text", text)
			}
			if ran := strings.Contains(text, "written by a script"); ran != tc.enabled {
				t.Errorf("script ran: %v, want %v (text %q)", ran, tc.enabled, text)
			}
			if noscript := strings.Contains(text, "fallback for no scripts"); noscript == tc.enabled {
				t.Errorf("noscript shown: %v, want %v (text %q)", noscript, !tc.enabled, text)
			}
		})
	}
}

func TestHeadersUserAgentAndCookiesReachServer(t *testing.T) {
	server := newRecordingServer(t)
	host := strings.Split(strings.TrimPrefix(server.URL, "http://"), ":")[0]
	req := gotoRequest(server.URL + "/headers")
	req.Page.SetExtraHTTPHeaders = map[string]string{"X-Tenant": "acme", "Accept-Language": "de-DE"}
	req.Page.SetUserAgent = "PressoTest/1.0"
	req.Page.SetCookies = []engine.Cookie{
		{Name: "session", Value: "abc", Domain: host},
		{Name: "hidden", Value: "h", URL: server.URL + "/", HTTPOnly: true},
		{Name: "future", Value: "f", Domain: host, Path: "/", Expires: &engine.CookieExpires{Seconds: 4102444800, Text: "4102444800"}},
		{Name: "expired", Value: "e", Domain: host, Expires: &engine.CookieExpires{Seconds: 1000}},
		{Name: "elsewhere", Value: "x", Domain: "other.example"},
		{Name: "strict", Value: "s", Domain: host, SameSite: "Strict"},
	}

	text := pdfText(t, mustRender(t, engine.KindPDF, req), 0, 0)

	for _, path := range []string{"/headers", "/pixel.gif"} {
		header := server.lastReceived(t, path)
		if got := header.Get("X-Tenant"); got != "acme" {
			t.Errorf("%s: X-Tenant = %q, want acme", path, got)
		}
		if got := header.Get("Accept-Language"); got != "de-DE" {
			t.Errorf("%s: Accept-Language = %q, want de-DE", path, got)
		}
		if got := header.Get("User-Agent"); got != "PressoTest/1.0" {
			t.Errorf("%s: User-Agent = %q, want PressoTest/1.0", path, got)
		}
		cookies := cookieNames(header)
		for _, name := range []string{"session", "hidden", "future", "strict"} {
			if !cookies[name] {
				t.Errorf("%s: Cookie header %q lacks %s", path, header.Get("Cookie"), name)
			}
		}
		for _, name := range []string{"expired", "elsewhere"} {
			if cookies[name] {
				t.Errorf("%s: Cookie header %q contains %s", path, header.Get("Cookie"), name)
			}
		}
	}
	if !strings.Contains(text, "agent [PressoTest/1.0]") {
		t.Errorf("PDF text = %q, want navigator.userAgent PressoTest/1.0", text)
	}
	if strings.Contains(text, "hidden=h") {
		t.Errorf("PDF text = %q: the page's script read the httpOnly cookie", text)
	}
	if !strings.Contains(text, "session=abc") {
		t.Errorf("PDF text = %q, want document.cookie to contain session=abc", text)
	}
}

// cookieNames returns the names of the cookies in a Cookie header.
func cookieNames(header http.Header) map[string]bool {
	names := map[string]bool{}
	request := http.Request{Header: header}
	for _, c := range request.Cookies() {
		names[c.Name] = true
	}
	return names
}

func TestCookieRejectedByChromiumIsInvalidRequest(t *testing.T) {
	req := htmlRequest("<p>cookie</p>")
	// The engine leaves the rules of the cookie name prefixes to Chromium:
	// a __Host- cookie must be Secure and have no domain.
	req.Page.SetCookies = []engine.Cookie{{Name: "ok", Value: "1", Domain: "example.com"}, {Name: "__Host-id", Value: "1", Domain: "example.com"}}

	_, err := renderJob(t, sharedRenderer(t), engine.KindPDF, req, defaultTestTimeout)

	jobErr := requireJobError(t, err, engine.CodeInvalidRequest)
	if !strings.HasPrefix(jobErr.Message, "page.setCookies[1] was rejected by Chromium") {
		t.Errorf("message = %q, want it to name page.setCookies[1]", jobErr.Message)
	}
}

func TestAuthenticateAnswersChallenge(t *testing.T) {
	server := newRecordingServer(t)
	req := gotoRequest(server.URL + "/protected/page")
	req.Page.Authenticate = &engine.Credentials{Username: testUsername, Password: testPassword}

	text := pdfText(t, mustRender(t, engine.KindPDF, req), 0, 0)

	if !strings.Contains(text, "Welcome alice") {
		t.Errorf("PDF text = %q, want the protected page", text)
	}
	pages := server.received("/protected/page")
	if len(pages) != 2 || pages[0].Get("Authorization") != "" || pages[1].Get("Authorization") == "" {
		t.Errorf("the page was requested %d times, want twice: first without credentials, answered 401, then with them", len(pages))
	}
	if got := server.lastReceived(t, "/protected/pixel.gif").Get("Authorization"); got == "" {
		t.Error("the image of the protected page was requested without credentials")
	}
}

func TestAuthenticateWrongPasswordRendersDenial(t *testing.T) {
	server := newRecordingServer(t)
	req := gotoRequest(server.URL + "/protected/page")
	req.Page.Authenticate = &engine.Credentials{Username: testUsername, Password: "wrong"}

	text := pdfText(t, mustRender(t, engine.KindPDF, req), 0, 0)

	if !strings.Contains(text, "Access denied") {
		t.Errorf("PDF text = %q, want the server's 401 page", text)
	}
	if n := len(server.received("/protected/page")); n != 2 {
		t.Errorf("the page was requested %d times, want 2: once without credentials, once with the wrong ones", n)
	}
}

func TestLocalStorageItemsReachPage(t *testing.T) {
	server := newRecordingServer(t)
	items := []engine.LocalStorageItem{{Key: "locale", Value: "de-DE"}, {Key: "theme", Value: "dark"}}
	// localhost and 127.0.0.1 are two origins on the same server.
	otherOrigin := strings.Replace(server.URL, "127.0.0.1", "localhost", 1)
	cases := []struct {
		name string
		url  string
		want string
	}{
		{"same origin", server.URL + "/storage", "locale de-DE theme dark"},
		{"redirect within the origin", server.URL + "/redirect?to=/storage", "locale de-DE theme dark"},
		{"redirect to another origin", server.URL + "/redirect?to=" + url.QueryEscape(otherOrigin+"/storage"), "locale null theme null"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			req := gotoRequest(tc.url)
			req.Page.SetLocalStorageItems = items

			text := pdfText(t, mustRender(t, engine.KindPDF, req), 0, 0)

			if !strings.Contains(text, tc.want) {
				t.Errorf("PDF text = %q, want %q", text, tc.want)
			}
		})
	}
}

func TestLocalStorageItemsRejectedWithSetContent(t *testing.T) {
	req := htmlRequest("<p>blank</p>")
	req.Page.SetLocalStorageItems = []engine.LocalStorageItem{{Key: "locale", Value: "de-DE"}}

	_, err := renderJob(t, sharedRenderer(t), engine.KindPDF, req, defaultTestTimeout)

	jobErr := requireJobError(t, err, engine.CodeInvalidRequest)
	if !strings.Contains(jobErr.Message, "page.setLocalStorageItems needs page.goto") {
		t.Errorf("message = %q, want it to name page.setLocalStorageItems", jobErr.Message)
	}
}
