package engine

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"
)

func TestValidateRejectsBadRequests(t *testing.T) {
	html := "PGh0bWw+CjxwPnRlc3Q8L3A+CjwvaHRtbD4="
	hook := &DoppioOptions{Webhook: &Webhook{URL: "https://example.com/hook", Method: "POST"}}
	cases := []struct {
		name string
		req  RenderRequest
		mode Mode
		path string
		text string
	}{
		{"both sources", RenderRequest{Page: PageOptions{Goto: &GotoOptions{URL: "https://example.com"}, SetContent: &SetContentOptions{HTML: html}}}, ModeSync, "page", "not both"},
		{"no source", RenderRequest{}, ModeSync, "page", "exactly one"},
		{"html not base64", RenderRequest{Page: PageOptions{SetContent: &SetContentOptions{HTML: "<p>hi</p>"}}}, ModeSync, "page.setContent.html", "page.setContent.html must be base64 encoded"},
		{"relative url", RenderRequest{Page: PageOptions{Goto: &GotoOptions{URL: "/invoice"}}}, ModeSync, "page.goto.url", "must be an absolute http or https URL"},
		{"ftp url", RenderRequest{Page: PageOptions{Goto: &GotoOptions{URL: "ftp://example.com/a"}}}, ModeSync, "page.goto.url", "http or https"},
		{"async without webhook", RenderRequest{Page: PageOptions{SetContent: &SetContentOptions{HTML: html}}}, ModeAsync, "doppio.webhook", "required on async"},
		{"webhook not a url", RenderRequest{Doppio: &DoppioOptions{Webhook: &Webhook{URL: "not a url"}}, Page: PageOptions{SetContent: &SetContentOptions{HTML: html}}}, ModeAsync, "doppio.webhook.url", "must be an absolute http"},
		{"webhook url too long", RenderRequest{Doppio: &DoppioOptions{Webhook: &Webhook{URL: "https://example.com/" + strings.Repeat("a", 3000)}}, Page: PageOptions{SetContent: &SetContentOptions{HTML: html}}}, ModeAsync, "doppio.webhook.url", "at most 2048"},
		{"reserved webhook header", RenderRequest{Doppio: &DoppioOptions{Webhook: &Webhook{URL: "https://example.com/h", Headers: map[string]string{"X-Doppio-Payload-Signature": "forged"}}}, Page: PageOptions{SetContent: &SetContentOptions{HTML: html}}}, ModeAsync, "doppio.webhook.headers.X-Doppio-Payload-Signature", "must not be set: Presso sets X-Doppio-Payload-Signature"},
		{"footer not base64", RenderRequest{Doppio: hook, Page: PageOptions{SetContent: &SetContentOptions{HTML: html}, PDF: &PDFOptions{FooterTemplate: "<span>"}}}, ModeAsync, "page.pdf.footerTemplate", "base64"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			errs := tc.req.Validate(KindPDF, tc.mode)
			if len(errs) == 0 {
				t.Fatalf("expected a violation at %s, got none", tc.path)
			}
			if errs[0].Path != tc.path {
				t.Errorf("path = %q, want %q", errs[0].Path, tc.path)
			}
			if !strings.Contains(errs[0].Message, tc.text) {
				t.Errorf("message %q does not contain %q", errs[0].Message, tc.text)
			}
		})
	}
}

func TestValidateReportsEveryViolation(t *testing.T) {
	req := RenderRequest{Page: PageOptions{SetContent: &SetContentOptions{HTML: "%%%"}}}
	errs := req.Validate(KindPDF, ModeAsync)
	if len(errs) != 2 {
		t.Fatalf("expected 2 violations (html and webhook), got %v", errs)
	}
}

func TestValidateAcceptsDoppioExample(t *testing.T) {
	req := RenderRequest{
		Doppio: &DoppioOptions{Webhook: &Webhook{URL: "https://example.com/hook", Method: "POST"}},
		Page:   PageOptions{SetContent: &SetContentOptions{HTML: "PGh0bWw+CjxwPnRlc3Q8L3A+CjwvaHRtbD4="}},
	}
	if errs := req.Validate(KindPDF, ModeAsync); len(errs) != 0 {
		t.Fatalf("unexpected violations: %v", errs)
	}
}

func TestDecodeBase64AcceptsWrappedAndUnpadded(t *testing.T) {
	for _, in := range []string{"aGVsbG8=", "aGVsbG8", "aGVs\nbG8="} {
		out, err := DecodeBase64(in)
		if err != nil {
			t.Fatalf("%q: %v", in, err)
		}
		if string(out) != "hello" {
			t.Errorf("%q decoded to %q", in, out)
		}
	}
}

// pageWith returns a setContent request changed by edit.
func pageWith(edit func(p *PageOptions)) RenderRequest {
	req := RenderRequest{Page: PageOptions{SetContent: &SetContentOptions{HTML: "PGh0bWw+CjxwPnRlc3Q8L3A+CjwvaHRtbD4="}}}
	edit(&req.Page)
	return req
}

func ms(v float64) *float64 { return &v }

func TestValidateRejectsBadPageOptions(t *testing.T) {
	cases := []struct {
		name string
		kind Kind
		req  RenderRequest
		path string
		want string
	}{
		{"unknown media type", KindPDF, pageWith(func(p *PageOptions) { p.EmulateMediaType = "tv" }),
			"page.emulateMediaType", `page.emulateMediaType must be screen or print, got "tv"`},
		{"header name with space", KindPDF, pageWith(func(p *PageOptions) { p.SetExtraHTTPHeaders = map[string]string{"X Tenant": "a"} }),
			"page.setExtraHTTPHeaders.X Tenant", "page.setExtraHTTPHeaders.X Tenant is not a valid header name"},
		{"empty header name", KindPDF, pageWith(func(p *PageOptions) { p.SetExtraHTTPHeaders = map[string]string{"": "a"} }),
			"page.setExtraHTTPHeaders.", "page.setExtraHTTPHeaders. is not a valid header name"},
		{"hop-by-hop header", KindPDF, pageWith(func(p *PageOptions) { p.SetExtraHTTPHeaders = map[string]string{"Connection": "close"} }),
			"page.setExtraHTTPHeaders.Connection", "page.setExtraHTTPHeaders.Connection must not be set"},
		{"host header", KindPDF, pageWith(func(p *PageOptions) { p.SetExtraHTTPHeaders = map[string]string{"host": "evil.example"} }),
			"page.setExtraHTTPHeaders.host", "page.setExtraHTTPHeaders.host must not be set"},
		{"content-length header", KindPDF, pageWith(func(p *PageOptions) { p.SetExtraHTTPHeaders = map[string]string{"Content-Length": "1"} }),
			"page.setExtraHTTPHeaders.Content-Length", "page.setExtraHTTPHeaders.Content-Length must not be set"},
		{"header value with line break", KindPDF, pageWith(func(p *PageOptions) { p.SetExtraHTTPHeaders = map[string]string{"X-A": "a\r\nX-B: b"} }),
			"page.setExtraHTTPHeaders.X-A", "must not contain line breaks"},
		{"user name with colon", KindPDF, pageWith(func(p *PageOptions) { p.Authenticate = &Credentials{Username: "a:b", Password: "c"} }),
			"page.authenticate.username", "must not contain a colon"},
		{"long user agent", KindPDF, pageWith(func(p *PageOptions) { p.SetUserAgent = strings.Repeat("a", 1025) }),
			"page.setUserAgent", "page.setUserAgent must be at most 1024 characters, got 1025"},
		{"user agent with line break", KindPDF, pageWith(func(p *PageOptions) { p.SetUserAgent = "a\nb" }),
			"page.setUserAgent", "must not contain line breaks"},
		{"cookie without name", KindPDF, pageWith(func(p *PageOptions) { p.SetCookies = []Cookie{{Value: "v", Domain: "example.com"}} }),
			"page.setCookies[0].name", "page.setCookies[0].name must not be empty"},
		{"cookie name with separator", KindPDF, pageWith(func(p *PageOptions) { p.SetCookies = []Cookie{{Name: "a=b", Value: "v", Domain: "example.com"}} }),
			"page.setCookies[0].name", "must not contain ; ="},
		{"cookie value with semicolon", KindPDF, pageWith(func(p *PageOptions) { p.SetCookies = []Cookie{{Name: "a", Value: "v;w", Domain: "example.com"}} }),
			"page.setCookies[0].value", "must not contain ;"},
		{"cookie too large", KindPDF, pageWith(func(p *PageOptions) {
			p.SetCookies = []Cookie{{Name: "a", Value: strings.Repeat("v", 4096), Domain: "example.com"}}
		}), "page.setCookies[0].value", "page.setCookies[0].value is too long: name and value together must be at most 4096 bytes, got 4097"},
		{"cookie expires not a number", KindPDF, pageWith(func(p *PageOptions) {
			var expires CookieExpires
			_ = json.Unmarshal([]byte(`"tomorrow"`), &expires)
			p.SetCookies = []Cookie{{Name: "a", Value: "1", Domain: "example.com", Expires: &expires}}
		}), "page.setCookies[0].expires", `page.setCookies[0].expires must be seconds since the Unix epoch, as a number or a numeric string, got "tomorrow"`},
		{"cookie without domain or url", KindPDF, pageWith(func(p *PageOptions) {
			p.SetCookies = []Cookie{{Name: "a", Value: "1", Domain: "example.com"}, {Name: "b", Value: "2"}}
		}), "page.setCookies[1].domain", "page.setCookies[1].domain is required when url is not set"},
		{"cookie domain with path", KindPDF, pageWith(func(p *PageOptions) { p.SetCookies = []Cookie{{Name: "a", Value: "1", Domain: "example.com/x"}} }),
			"page.setCookies[0].domain", "must be a host name"},
		{"cookie url not web", KindPDF, pageWith(func(p *PageOptions) { p.SetCookies = []Cookie{{Name: "a", Value: "1", URL: "file:///etc/passwd"}} }),
			"page.setCookies[0].url", "page.setCookies[0].url must be an absolute http or https URL"},
		{"cookie path relative", KindPDF, pageWith(func(p *PageOptions) {
			p.SetCookies = []Cookie{{Name: "a", Value: "1", Domain: "example.com", Path: "app"}}
		}),
			"page.setCookies[0].path", "must start with /"},
		{"cookie sameSite lower case", KindPDF, pageWith(func(p *PageOptions) {
			p.SetCookies = []Cookie{{Name: "a", Value: "1", Domain: "example.com", SameSite: "lax"}}
		}),
			"page.setCookies[0].sameSite", `page.setCookies[0].sameSite must be Strict, Lax or None, got "lax"`},
		{"cookie sameSite None without secure", KindPDF, pageWith(func(p *PageOptions) {
			p.SetCookies = []Cookie{{Name: "a", Value: "1", Domain: "example.com", SameSite: "None"}}
		}),
			"page.setCookies[0].secure", "must be true when sameSite is None"},
		{"localStorage with setContent", KindPDF, pageWith(func(p *PageOptions) { p.SetLocalStorageItems = []LocalStorageItem{{Key: "k", Value: "v"}} }),
			"page.setLocalStorageItems", "page.setLocalStorageItems needs page.goto"},
		{"blank selector", KindPDF, pageWith(func(p *PageOptions) { p.WaitForSelector = &WaitForSelector{Selector: "  "} }),
			"page.waitForSelector.selector", "page.waitForSelector.selector must not be empty"},
		{"long selector", KindPDF, pageWith(func(p *PageOptions) { p.WaitForSelector = &WaitForSelector{Selector: strings.Repeat("a", 4097)} }),
			"page.waitForSelector.selector", "at most 4096 characters, got 4097"},
		{"xpath prefix alone", KindPDF, pageWith(func(p *PageOptions) { p.WaitForSelector = &WaitForSelector{Selector: "xpath/"} }),
			"page.waitForSelector.selector", "needs an XPath expression after xpath/"},
		{"hidden and visible", KindPDF, pageWith(func(p *PageOptions) {
			p.WaitForSelector = &WaitForSelector{Selector: "#a", Options: &WaitForSelectorOptions{Hidden: true, Visible: true}}
		}), "page.waitForSelector.options", "hidden and visible are exclusive"},
		{"negative selector timeout", KindPDF, pageWith(func(p *PageOptions) {
			p.WaitForSelector = &WaitForSelector{Selector: "#a", Options: &WaitForSelectorOptions{Timeout: ms(-1)}}
		}), "page.waitForSelector.options.timeout", "must be at least 0 milliseconds, got -1"},
		{"empty page function", KindPDF, pageWith(func(p *PageOptions) { p.WaitForFunction = &WaitForFunction{PageFunction: "\n"} }),
			"page.waitForFunction.pageFunction", "page.waitForFunction.pageFunction must not be empty"},
		{"long page function", KindPDF, pageWith(func(p *PageOptions) {
			p.WaitForFunction = &WaitForFunction{PageFunction: strings.Repeat("1", 64<<10+1)}
		}),
			"page.waitForFunction.pageFunction", "at most 65536 characters, got 65537"},
		{"zero polling interval", KindPDF, pageWith(func(p *PageOptions) {
			p.WaitForFunction = &WaitForFunction{PageFunction: "true", Options: &WaitForFunctionOptions{Polling: &Polling{Interval: 0}}}
		}), "page.waitForFunction.options.polling", "greater than 0, got 0"},
		{"unknown polling mode", KindPDF, pageWith(func(p *PageOptions) {
			p.WaitForFunction = &WaitForFunction{PageFunction: "true", Options: &WaitForFunctionOptions{Polling: &Polling{Mode: "idle"}}}
		}), "page.waitForFunction.options.polling", `got "idle"`},
		{"negative function timeout", KindPDF, pageWith(func(p *PageOptions) {
			p.WaitForFunction = &WaitForFunction{PageFunction: "true", Options: &WaitForFunctionOptions{Timeout: ms(-5)}}
		}), "page.waitForFunction.options.timeout", "must be at least 0 milliseconds"},
		{"clip with fullPage", KindScreenshot, pageWith(func(p *PageOptions) {
			p.Screenshot = &ScreenshotOptions{FullPage: true, Clip: &Clip{Width: 10, Height: 10}}
		}), "page.screenshot.clip", "page.screenshot.clip and page.screenshot.fullPage are exclusive"},
		{"clip without width", KindScreenshot, pageWith(func(p *PageOptions) { p.Screenshot = &ScreenshotOptions{Clip: &Clip{Height: 10}} }),
			"page.screenshot.clip.width", "page.screenshot.clip.width must be greater than 0, got 0"},
		{"clip with negative height", KindScreenshot, pageWith(func(p *PageOptions) { p.Screenshot = &ScreenshotOptions{Clip: &Clip{Width: 10, Height: -1}} }),
			"page.screenshot.clip.height", "must be greater than 0, got -1"},
		{"clip left of the page", KindScreenshot, pageWith(func(p *PageOptions) { p.Screenshot = &ScreenshotOptions{Clip: &Clip{X: -1, Width: 10, Height: 10}} }),
			"page.screenshot.clip.x", "must be at least 0, got -1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			errs := tc.req.Validate(tc.kind, ModeSync)
			if len(errs) != 1 {
				t.Fatalf("violations = %v, want exactly one at %s", errs, tc.path)
			}
			if errs[0].Path != tc.path {
				t.Errorf("path = %q, want %q", errs[0].Path, tc.path)
			}
			if !strings.Contains(errs[0].Message, tc.want) {
				t.Errorf("message %q does not contain %q", errs[0].Message, tc.want)
			}
		})
	}
}

func TestValidateAcceptsPageOptions(t *testing.T) {
	enabled := false
	req := RenderRequest{Page: PageOptions{
		Goto:                 &GotoOptions{URL: "https://example.com/report"},
		SetJavaScriptEnabled: &enabled,
		EmulateMediaType:     "screen",
		SetExtraHTTPHeaders:  map[string]string{"Accept-Language": "de-DE", "X-Tenant": "acme", "Authorization": "Bearer t"},
		Authenticate:         &Credentials{Username: "reports", Password: "p:w"},
		SetUserAgent:         "PressoBot/1.0",
		SetCookies: []Cookie{
			{Name: "session", Value: "", Domain: ".example.com", Path: "/", Secure: true, HTTPOnly: true, SameSite: "None", Expires: &CookieExpires{Seconds: -1}},
			{Name: "prefs", Value: "a b", URL: "https://example.com/app", SameSite: "None"},
			{Name: "ip", Value: "1", Domain: "127.0.0.1", SameSite: "Strict"},
		},
		SetLocalStorageItems: []LocalStorageItem{{Key: "", Value: ""}},
		WaitForSelector:      &WaitForSelector{Selector: "xpath///h1", Options: &WaitForSelectorOptions{Visible: true, Timeout: ms(0)}},
		WaitForFunction:      &WaitForFunction{PageFunction: "() => window.ready", Options: &WaitForFunctionOptions{Polling: &Polling{Interval: 0.5}, Timeout: ms(1e12)}},
		Screenshot:           &ScreenshotOptions{Clip: &Clip{Width: 1, Height: 1}},
	}}
	for _, kind := range []Kind{KindPDF, KindScreenshot} {
		if errs := req.Validate(kind, ModeDirect); len(errs) != 0 {
			t.Errorf("%s: unexpected violations: %v", kind, errs)
		}
	}
}

func TestValidateReportsEveryPageViolation(t *testing.T) {
	req := pageWith(func(p *PageOptions) {
		p.EmulateMediaType = "tv"
		p.SetExtraHTTPHeaders = map[string]string{"Host": "a", "Bad Name": "b"}
		p.SetCookies = []Cookie{{Name: "", Value: "1"}}
		p.WaitForSelector = &WaitForSelector{Selector: ""}
		p.WaitForFunction = &WaitForFunction{PageFunction: ""}
		p.Screenshot = &ScreenshotOptions{FullPage: true, Clip: &Clip{}}
	})

	errs := req.Validate(KindScreenshot, ModeSync)

	want := []string{
		"page.screenshot.clip", "page.screenshot.clip.width", "page.screenshot.clip.height",
		"page.emulateMediaType", "page.setExtraHTTPHeaders.Bad Name", "page.setExtraHTTPHeaders.Host",
		"page.setCookies[0].name", "page.setCookies[0].domain",
		"page.waitForSelector.selector", "page.waitForFunction.pageFunction",
	}
	var got []string
	for _, e := range errs {
		got = append(got, e.Path)
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("paths =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestValidateIgnoresOptionsOfOtherKind(t *testing.T) {
	req := pageWith(func(p *PageOptions) { p.Screenshot = &ScreenshotOptions{FullPage: true, Clip: &Clip{}} })

	if errs := req.Validate(KindPDF, ModeSync); len(errs) != 0 {
		t.Errorf("a PDF request was rejected for its screenshot options: %v", errs)
	}
}

func TestCookieExpiresJSON(t *testing.T) {
	cases := []struct {
		in      string
		seconds float64
	}{
		{`1767225600`, 1767225600},
		{`"1767225600"`, 1767225600},
		{`" 1767225600.5 "`, 1767225600.5},
		{`-1`, -1},
		{`"1.7e9"`, 1.7e9},
	}
	for _, tc := range cases {
		var got CookieExpires
		if err := json.Unmarshal([]byte(tc.in), &got); err != nil {
			t.Errorf("%s: %v", tc.in, err)
			continue
		}
		if got.Seconds != tc.seconds || !got.Valid() {
			t.Errorf("%s: seconds = %g (valid %v), want %g", tc.in, got.Seconds, got.Valid(), tc.seconds)
		}
		out, err := json.Marshal(got)
		if err != nil || string(out) != tc.in {
			t.Errorf("%s: marshalled back as %s (%v)", tc.in, out, err)
		}
	}
	// Strings that are not numbers decode, for Validate to report.
	for _, in := range []string{`"tomorrow"`, `""`, `"0x10"`, `"1e"`} {
		var got CookieExpires
		if err := json.Unmarshal([]byte(in), &got); err != nil {
			t.Errorf("%s: %v, want it decoded as invalid", in, err)
		}
		if got.Valid() {
			t.Errorf("%s: Valid() = true, want false", in)
		}
	}
	for _, in := range []string{`true`, `{}`} {
		var got CookieExpires
		if err := json.Unmarshal([]byte(in), &got); err == nil {
			t.Errorf("%s: accepted as %g seconds, want an error", in, got.Seconds)
		}
	}
}

func TestPollingJSON(t *testing.T) {
	for in, want := range map[string]Polling{`"raf"`: {Mode: PollingRAF}, `"mutation"`: {Mode: PollingMutation}, `250`: {Interval: 250}} {
		var got Polling
		if err := json.Unmarshal([]byte(in), &got); err != nil {
			t.Errorf("%s: %v", in, err)
			continue
		}
		if got != want {
			t.Errorf("%s: got %+v, want %+v", in, got, want)
		}
		if out, _ := json.Marshal(got); string(out) != in {
			t.Errorf("%s: marshalled back as %s", in, out)
		}
	}
	for _, in := range []string{`true`, `{}`} {
		var got Polling
		if err := json.Unmarshal([]byte(in), &got); err == nil {
			t.Errorf("%s: accepted as %+v, want an error", in, got)
		}
	}
}

func TestWaitTimeout(t *testing.T) {
	cases := []struct {
		in   *float64
		want time.Duration
	}{
		{nil, 30 * time.Second},
		{ms(0), 0},
		{ms(1500), 1500 * time.Millisecond},
		{ms(1e300), math.MaxInt64},
	}
	for _, tc := range cases {
		if got := WaitTimeout(tc.in); got != tc.want {
			t.Errorf("WaitTimeout(%v) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

func TestRequestJSONRoundTrip(t *testing.T) {
	in := `{"page":{"goto":{"url":"https://example.com"},"setJavaScriptEnabled":false,"setCookies":[{"name":"a","value":"1","domain":"example.com","expires":"1767225600"}],"waitForFunction":{"pageFunction":"window.ready","options":{"polling":"mutation","timeout":0}}}}`
	var req RenderRequest
	if err := json.Unmarshal([]byte(in), &req); err != nil {
		t.Fatal(err)
	}
	out, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != in {
		t.Errorf("round trip changed the request:\n got %s\nwant %s", out, in)
	}
}

func TestValidatePaperAndWebhook(t *testing.T) {
	html := "PGgxPmhpPC9oMT4="
	length := func(s string) *Length {
		l, err := ParseLength(s)
		if err != nil {
			t.Fatal(err)
		}
		return &l
	}
	pdf := func(o PDFOptions) RenderRequest {
		return RenderRequest{Page: PageOptions{SetContent: &SetContentOptions{HTML: html}, PDF: &o}}
	}
	hook := func(w Webhook) RenderRequest {
		w.URL = "https://example.com/hook"
		return RenderRequest{Doppio: &DoppioOptions{Webhook: &w}, Page: PageOptions{SetContent: &SetContentOptions{HTML: html}}}
	}
	cases := []struct {
		name string
		req  RenderRequest
		path string
		text string
	}{
		{"empty html", RenderRequest{Page: PageOptions{SetContent: &SetContentOptions{}}}, "page.setContent.html", "must not be empty"},
		{"unknown format", pdf(PDFOptions{Format: "A7"}), "page.pdf.format", `"A7" is unknown: use Letter, Legal, Tabloid, Ledger or A0 to A6`},
		{"scale too large", pdf(PDFOptions{Scale: 5}), "page.pdf.scale", "from 0.1 to 2, got 5"},
		{"paper too wide", pdf(PDFOptions{Width: length("5000in")}), "page.pdf.width", "must be from 0.1in to 200in (2.54mm to 5080mm), got 5000in"},
		{"paper too small", pdf(PDFOptions{Height: length("0.001mm")}), "page.pdf.height", "got 0.001mm"},
		{"margins fill the page", pdf(PDFOptions{Margin: &Margin{Top: length("11in")}}), "page.pdf.margin", "leave no room on a page 11in high"},
		{"huge margin", pdf(PDFOptions{Format: "A4", Margin: &Margin{Left: length("100000in")}}), "page.pdf.margin", "leave no room on a page 8.268in wide"},
		{"landscape margins", pdf(PDFOptions{Landscape: true, Margin: &Margin{Top: length("4in"), Bottom: length("4.5in")}}), "page.pdf.margin", "on a page 8.5in high"},
		{"reversed range", pdf(PDFOptions{PageRanges: "5-3"}), "page.pdf.pageRanges", `has "5-3": pages count from 1`},
		{"page zero", pdf(PDFOptions{PageRanges: "0, 2"}), "page.pdf.pageRanges", `has "0"`},
		{"words as range", pdf(PDFOptions{PageRanges: "abc"}), "page.pdf.pageRanges", "such as 1-5, 8, 11-13"},
		{"webhook method", hook(Webhook{Method: "HEAD"}), "doppio.webhook.method", `GET, POST, PUT, PATCH or DELETE, got "HEAD"`},
		{"webhook header value", hook(Webhook{Headers: map[string]string{"X-A": "a\r\nb"}}), "doppio.webhook.headers.X-A", "must not contain line breaks"},
		{"webhook header name", hook(Webhook{Headers: map[string]string{"bad name": "x"}}), "doppio.webhook.headers.bad name", "is not a valid header name"},
		{"empty webhook header name", hook(Webhook{Headers: map[string]string{"": "x"}}), "doppio.webhook.headers.", "is not a valid header name"},
		{"webhook port out of range", RenderRequest{Doppio: &DoppioOptions{Webhook: &Webhook{URL: "http://127.0.0.1:99999/hook"}}, Page: PageOptions{SetContent: &SetContentOptions{HTML: html}}}, "doppio.webhook.url", "a port from 1 to 65535"},
		{"webhook port zero", RenderRequest{Doppio: &DoppioOptions{Webhook: &Webhook{URL: "http://example.com:0/hook"}}, Page: PageOptions{SetContent: &SetContentOptions{HTML: html}}}, "doppio.webhook.url", "a port from 1 to 65535"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			errs := tc.req.Validate(KindPDF, ModeAsync)
			var found bool
			for _, fe := range errs {
				if fe.Path == tc.path && strings.Contains(fe.Message, tc.text) {
					found = true
				}
			}
			if !found {
				t.Errorf("violations %v lack one at %s with %q", errs, tc.path, tc.text)
			}
		})
	}

	for _, ok := range []PDFOptions{
		{Format: "a4", Scale: 2, PageRanges: "1-2, 4, 6-"},
		{Width: length("2in"), Height: length("1in"), Margin: &Margin{Top: length("0.4in"), Bottom: length("0.4in")}},
		{Landscape: true, Margin: &Margin{Left: length("10in")}},
	} {
		req := pdf(ok)
		req.Doppio = &DoppioOptions{Webhook: &Webhook{URL: "https://example.com/hook", Method: "DELETE", Headers: map[string]string{"Authorization": "Bearer x"}}}
		if errs := req.Validate(KindPDF, ModeAsync); len(errs) > 0 {
			t.Errorf("valid options %+v rejected: %v", ok, errs)
		}
	}
}

func TestClipOverPixelLimit(t *testing.T) {
	req := RenderRequest{Page: PageOptions{SetContent: &SetContentOptions{HTML: "PGgxPmhpPC9oMT4="}, Screenshot: &ScreenshotOptions{Clip: &Clip{Width: 1e5, Height: 1e5}}}}
	errs := DefaultLimits().CheckRequest(&req)
	if len(errs) != 1 || errs[0].Path != "page.screenshot.clip" || !strings.Contains(errs[0].Message, "limits.max_screenshot_pixels") {
		t.Fatalf("CheckRequest = %v, want one violation at page.screenshot.clip", errs)
	}
	req.Page.Screenshot.Clip = &Clip{Width: 400, Height: 300}
	if errs := DefaultLimits().CheckRequest(&req); len(errs) > 0 {
		t.Errorf("a small clip is rejected: %v", errs)
	}
}
