package httpapi

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/presso-dev/presso/engine"
)

// capturingRunner is a countingRunner that also keeps the jobs it gets, to
// check how the HTTP API decoded a request.
type capturingRunner struct {
	countingRunner
	mu       sync.Mutex
	received []*engine.Job
}

func (r *capturingRunner) Submit(ctx context.Context, job *engine.Job) error {
	r.keep(job)
	return r.countingRunner.Submit(ctx, job)
}

func (r *capturingRunner) Do(ctx context.Context, job *engine.Job) (*engine.Result, error) {
	r.keep(job)
	return r.countingRunner.Do(ctx, job)
}

func (r *capturingRunner) keep(job *engine.Job) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.received = append(r.received, job)
}

func (r *capturingRunner) last(t *testing.T) *engine.Job {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.received) == 0 {
		t.Fatal("no job reached the engine")
	}
	return r.received[len(r.received)-1]
}

// testHTML is "<html>\n<p>test</p>\n</html>" in base64, the HTML of the
// Doppio API's examples.
const testHTML = `"PGh0bWw+CjxwPnRlc3Q8L3A+CjwvaHRtbD4="`

// TestDoppioShapedRequestsAccepted sends requests in the shapes that
// clients of the Doppio API send, unchanged, and expects each to reach
// the engine.
func TestDoppioShapedRequestsAccepted(t *testing.T) {
	runner := &capturingRunner{}
	server := newTestServer(t, runner)
	cases := []struct{ name, route, body string }{
		{"setContent PDF", "pdf/sync", `{"page":{"setContent":{"html":` + testHTML + `},"pdf":{"printBackground":true}}}`},
		{"goto with networkidle0", "pdf/direct", `{"page":{"goto":{"url":"https://example.com","options":{"waitUntil":["networkidle0"]}},"pdf":{"format":"A4"}}}`},
		{"webp screenshot", "screenshot/sync", `{"page":{"goto":{"url":"https://example.com"},"screenshot":{"type":"webp","quality":80,"fullPage":true}},"launch":{"defaultViewport":{"width":1280,"height":720}}}`},
		{"base64 footer, async", "pdf/async", `{"doppio":{"webhook":{"url":"https://example.com/hook","method":"POST"}},"page":{"setContent":{"html":` + testHTML + `},"pdf":{"displayHeaderFooter":true,"footerTemplate":"PGRpdiBzdHlsZT0iZm9udC1zaXplOjEwcHgiPjxzcGFuIGNsYXNzPSJwYWdlTnVtYmVyIj48L3NwYW4+PC9kaXY+","margin":{"bottom":"20mm"}}}}`},
		{"cookies with expires as string", "pdf/sync", `{"page":{"goto":{"url":"https://example.com/account"},"setCookies":[{"name":"session","value":"4f9a2c","domain":"example.com","path":"/","expires":"1767225600","httpOnly":true,"secure":true,"sameSite":"Lax"},{"name":"locale","value":"de","url":"https://example.com/","expires":1767225600}]}}`},
		{"every set-up option", "screenshot/direct", `{"page":{"goto":{"url":"https://example.com/report","options":{"waitUntil":["load","networkidle2"]}},` +
			`"setJavaScriptEnabled":true,"emulateMediaType":"print","setExtraHTTPHeaders":{"Accept-Language":"de-DE","X-Tenant":"acme"},` +
			`"authenticate":{"username":"reports","password":"s3cret"},"setUserAgent":"Mozilla/5.0 (X11; Linux x86_64) PressoBot/1.0",` +
			`"setLocalStorageItems":[{"key":"locale","value":"de-DE"}],` +
			`"waitForSelector":{"selector":"#report-ready","options":{"visible":true,"timeout":5000}},` +
			`"waitForFunction":{"pageFunction":"window.chartsRendered === true","options":{"polling":100,"timeout":5000}},` +
			`"screenshot":{"type":"png","clip":{"x":0,"y":0,"width":400,"height":300}}}}`},
		{"waits with defaults", "pdf/sync", `{"page":{"setContent":{"html":` + testHTML + `},"waitForSelector":{"selector":"p"},"waitForFunction":{"pageFunction":"() => true","options":{"polling":"mutation"}}}}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := runner.jobs.Load()

			resp, problem := post(t, server.URL+"/v1/render/"+tc.route, testKey, tc.body)

			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d, want 200; messages %q", resp.StatusCode, problem.Message)
			}
			if n := runner.jobs.Load() - before; n != 1 {
				t.Errorf("%d jobs reached the engine, want 1", n)
			}
		})
	}
}

func TestPageOptionsDecoded(t *testing.T) {
	runner := &capturingRunner{}
	server := newTestServer(t, runner)
	body := `{"page":{"goto":{"url":"https://example.com"},` +
		`"setCookies":[{"name":"a","value":"1","domain":"example.com","expires":"1767225600"}],` +
		`"waitForSelector":{"selector":"#a","options":{"hidden":true}},` +
		`"waitForFunction":{"pageFunction":"window.ready","options":{"polling":250}}}}`

	resp, problem := post(t, server.URL+"/v1/render/pdf/sync", testKey, body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d, want 200; messages %q", resp.StatusCode, problem.Message)
	}

	page := runner.last(t).Request.Page
	if !page.JavaScriptEnabled() {
		t.Error("JavaScript is off for a request that did not turn it off")
	}
	if got := page.SetCookies[0].Expires; got == nil || got.Seconds != 1767225600 {
		t.Errorf("cookie expires = %+v, want 1767225600 seconds", got)
	}
	if got := engine.WaitTimeout(page.WaitForSelector.Options.Timeout); got != engine.DefaultWaitTimeout {
		t.Errorf("waitForSelector timeout = %s, want the default %s", got, engine.DefaultWaitTimeout)
	}
	if got := page.WaitForFunction.Options.Polling; got == nil || got.Interval != 250 {
		t.Errorf("polling = %+v, want 250 ms", got)
	}
}

func TestInvalidPageOptionsRejected(t *testing.T) {
	runner := &countingRunner{}
	server := newTestServer(t, runner)
	// withPage returns a setContent request body with the given members
	// added to page.
	withPage := func(members string) string {
		return `{"page":{"setContent":{"html":` + testHTML + `},` + members + `}}`
	}
	withGoto := func(members string) string {
		return `{"page":{"goto":{"url":"https://example.com"},` + members + `}}`
	}
	cases := []struct {
		name, route, body, path, want string
	}{
		{"cookie without domain or url", "pdf/sync", withGoto(`"setCookies":[{"name":"a","value":"1"}]`),
			"page.setCookies[0].domain", "page.setCookies[0].domain is required when url is not set"},
		{"cookie without value", "pdf/sync", withGoto(`"setCookies":[{"name":"a","domain":"example.com"}]`),
			"page.setCookies[0]", "value"},
		{"cookie expires not numeric", "pdf/sync", withGoto(`"setCookies":[{"name":"a","value":"1","domain":"example.com","expires":"tomorrow"}]`),
			"page.setCookies[0].expires", `page.setCookies[0].expires must be seconds since the Unix epoch, as a number or a numeric string, got "tomorrow"`},
		{"cookie sameSite lower case", "pdf/sync", withGoto(`"setCookies":[{"name":"a","value":"1","domain":"example.com","sameSite":"lax"}]`),
			"page.setCookies[0].sameSite", "page.setCookies[0].sameSite"},
		{"cookie with unknown field", "pdf/sync", withGoto(`"setCookies":[{"name":"a","value":"1","domain":"example.com","size":2}]`),
			"page.setCookies[0].size", "property page.setCookies[0].size should not exist"},
		{"Host header", "pdf/sync", withGoto(`"setExtraHTTPHeaders":{"Host":"internal.example"}`),
			"page.setExtraHTTPHeaders.Host", "page.setExtraHTTPHeaders.Host must not be set"},
		{"header name with space", "pdf/sync", withGoto(`"setExtraHTTPHeaders":{"X Tenant":"acme"}`),
			"page.setExtraHTTPHeaders.X Tenant", "page.setExtraHTTPHeaders.X Tenant is not a valid header name"},
		{"header value not a string", "pdf/sync", withGoto(`"setExtraHTTPHeaders":{"X-Count":3}`),
			"page.setExtraHTTPHeaders.X-Count", "page.setExtraHTTPHeaders.X-Count"},
		{"user agent too long", "pdf/sync", withGoto(`"setUserAgent":"` + strings.Repeat("a", 1025) + `"`),
			"page.setUserAgent", "page.setUserAgent"},
		{"unknown media type", "pdf/sync", withPage(`"emulateMediaType":"tv"`),
			"page.emulateMediaType", "page.emulateMediaType"},
		{"javascript flag not a boolean", "pdf/sync", withPage(`"setJavaScriptEnabled":"no"`),
			"page.setJavaScriptEnabled", "page.setJavaScriptEnabled"},
		{"authenticate without password", "pdf/sync", withGoto(`"authenticate":{"username":"a"}`),
			"page.authenticate", "password"},
		{"localStorage with setContent", "pdf/sync", withPage(`"setLocalStorageItems":[{"key":"k","value":"v"}]`),
			"page.setLocalStorageItems", "page.setLocalStorageItems needs page.goto"},
		{"empty selector", "pdf/sync", withPage(`"waitForSelector":{"selector":""}`),
			"page.waitForSelector.selector", "page.waitForSelector.selector"},
		{"hidden and visible", "pdf/sync", withPage(`"waitForSelector":{"selector":"#a","options":{"hidden":true,"visible":true}}`),
			"page.waitForSelector.options", "hidden and visible are exclusive"},
		{"negative timeout", "pdf/sync", withPage(`"waitForSelector":{"selector":"#a","options":{"timeout":-1}}`),
			"page.waitForSelector.options.timeout", "page.waitForSelector.options.timeout"},
		{"empty page function", "pdf/sync", withPage(`"waitForFunction":{"pageFunction":""}`),
			"page.waitForFunction.pageFunction", "page.waitForFunction.pageFunction"},
		{"unknown polling mode", "pdf/sync", withPage(`"waitForFunction":{"pageFunction":"true","options":{"polling":"idle"}}`),
			"page.waitForFunction.options.polling", `page.waitForFunction.options.polling must be raf, mutation or a number of milliseconds, got "idle"`},
		{"zero polling interval", "pdf/sync", withPage(`"waitForFunction":{"pageFunction":"true","options":{"polling":0}}`),
			"page.waitForFunction.options.polling", "page.waitForFunction.options.polling"},
		{"clip with fullPage", "screenshot/sync", withPage(`"screenshot":{"fullPage":true,"clip":{"x":0,"y":0,"width":10,"height":10}}`),
			"page.screenshot.clip", "page.screenshot.clip and page.screenshot.fullPage are exclusive"},
		{"clip of zero width", "screenshot/direct", withPage(`"screenshot":{"clip":{"x":0,"y":0,"width":0,"height":10}}`),
			"page.screenshot.clip.width", "page.screenshot.clip.width"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, problem := post(t, server.URL+"/v1/render/"+tc.route, testKey, tc.body)

			if resp.StatusCode != http.StatusBadRequest {
				t.Fatalf("status %d, want 400; messages %q", resp.StatusCode, problem.Message)
			}
			var locations []string
			for _, detail := range problem.Errors {
				locations = append(locations, detail.Location)
			}
			if !strings.Contains("\n"+strings.Join(locations, "\n")+"\n", "\n"+tc.path+"\n") {
				t.Errorf("locations %q do not contain %q", locations, tc.path)
			}
			if !strings.Contains(strings.Join(problem.Message, "\n"), tc.want) {
				t.Errorf("messages %q do not contain %q", problem.Message, tc.want)
			}
		})
	}
	if n := runner.jobs.Load(); n != 0 {
		t.Fatalf("%d rejected requests reached the engine", n)
	}
}

// TestPageFunctionTooLong needs a body limit above the 64 KiB of
// newTestServer, so that the request reaches validation.
func TestPageFunctionTooLong(t *testing.T) {
	runner := &countingRunner{}
	keys, err := engine.NewKeyring([]engine.APIKey{{Name: "tests", Key: testKey, SigningSecret: engine.NewSigningSecret()}}, "")
	if err != nil {
		t.Fatal(err)
	}
	api := New(Options{Engine: runner, Keys: keys, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), MaxBodyBytes: 1 << 20})
	server := httptest.NewServer(api.Handler())
	t.Cleanup(server.Close)
	body := `{"page":{"setContent":{"html":` + testHTML + `},"waitForFunction":{"pageFunction":"` + strings.Repeat("1", 64<<10+1) + `"}}}`

	resp, problem := post(t, server.URL+"/v1/render/pdf/sync", testKey, body)

	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("status %d, want 400; messages %q", resp.StatusCode, problem.Message)
	}
	if want := "page.waitForFunction.pageFunction must be at most 65536 characters, got 65537"; !strings.Contains(strings.Join(problem.Message, "\n"), want) {
		t.Errorf("messages %q do not contain %q", problem.Message, want)
	}
	if n := runner.jobs.Load(); n != 0 {
		t.Fatalf("%d rejected requests reached the engine", n)
	}
}

func TestInvalidPageOptionsReportedTogether(t *testing.T) {
	runner := &countingRunner{}
	server := newTestServer(t, runner)
	// The expiry and the polling mode do not match the schema, and are
	// still reported together with the violations that only Validate finds.
	body := `{"page":{"goto":{"url":"https://example.com"},` +
		`"setCookies":[{"name":"a","value":"1"},{"name":"b","value":"2","domain":"example.com","expires":"soon"}],` +
		`"setExtraHTTPHeaders":{"Connection":"close"},` +
		`"waitForSelector":{"selector":"#a","options":{"hidden":true,"visible":true}},` +
		`"waitForFunction":{"pageFunction":"window.ready","options":{"polling":"idle"}}}}`

	resp, problem := post(t, server.URL+"/v1/render/pdf/sync", testKey, body)

	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("status %d, want 400", resp.StatusCode)
	}
	want := []string{"page.setCookies[0].domain", "page.setCookies[1].expires", "page.setExtraHTTPHeaders.Connection", "page.waitForSelector.options", "page.waitForFunction.options.polling"}
	for _, path := range want {
		found := false
		for _, detail := range problem.Errors {
			found = found || detail.Location == path
		}
		if !found {
			t.Errorf("no error at %s in %q", path, problem.Message)
		}
	}
	if n := runner.jobs.Load(); n != 0 {
		t.Fatalf("%d rejected requests reached the engine", n)
	}
}

func TestOpenAPIDocumentsPageOptions(t *testing.T) {
	server := newTestServer(t, &countingRunner{})
	resp, err := http.Get(server.URL + "/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc struct {
		Components struct {
			Schemas map[string]struct {
				Properties map[string]struct {
					Description string `json:"description"`
					Examples    []any  `json:"examples"`
				} `json:"properties"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	schemas := doc.Components.Schemas
	for _, name := range []string{"PageOptions", "Cookie", "Credentials", "LocalStorageItem", "WaitForSelector", "WaitForSelectorOptions", "WaitForFunction", "WaitForFunctionOptions"} {
		schema, ok := schemas[name]
		if !ok {
			t.Errorf("schema %s is missing", name)
			continue
		}
		for property, field := range schema.Properties {
			if field.Description == "" {
				t.Errorf("%s.%s has no description", name, property)
			}
		}
	}
	for _, property := range []string{"setJavaScriptEnabled", "emulateMediaType", "setExtraHTTPHeaders", "authenticate", "setUserAgent", "setCookies", "setLocalStorageItems", "waitForSelector", "waitForFunction"} {
		if _, ok := schemas["PageOptions"].Properties[property]; !ok {
			t.Errorf("PageOptions has no property %s", property)
		}
	}
}
