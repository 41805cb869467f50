package engine

// The request body of the render routes. Field names, nesting and semantics
// follow the Doppio API, whose page options are named after Puppeteer's Page
// methods. The struct tags feed the generated OpenAPI document and huma's
// schema validation; Validate adds the checks a schema cannot express.

// RenderRequest is the body of every /v1/render route.
type RenderRequest struct {
	Doppio *DoppioOptions `json:"doppio,omitempty" doc:"Delivery options: webhook, custom bucket and content disposition."`
	Page   PageOptions    `json:"page" doc:"What to load and how to print or capture it. Exactly one of goto and setContent is required."`
	Launch *LaunchOptions `json:"launch,omitempty" doc:"Browser options for this render."`
}

// DoppioOptions says where the result goes.
type DoppioOptions struct {
	Webhook            *Webhook `json:"webhook,omitempty" doc:"Where the result of an async render is sent. Required on async routes, ignored on the others."`
	PresignedURL       string   `json:"presignedUrl,omitempty" maxLength:"8192" doc:"An S3-compatible presigned PUT URL of your own bucket. The document is uploaded there with PUT, the raw bytes and only the headers such a URL signs (Content-Type: application/octet-stream, Content-Length); the result then has isCustomBucket true and documentUrl is this URL without its query string. Ignored on direct routes." example:"https://my-bucket.s3.eu-west-1.amazonaws.com/invoices/42.pdf?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=…"`
	ContentDisposition string   `json:"contentDisposition,omitempty" enum:"inline,attachment" default:"inline" doc:"Content-Disposition of the direct response and of the stored document; the file name is the request id with the extension, such as doppioreq_0b9cd1de-38a9-4f9a-9f4a-2a1c1f0e5b7d.pdf." example:"attachment"`
}

// Webhook is the HTTP call that reports an async job's result.
type Webhook struct {
	URL     string            `json:"url" maxLength:"2048" doc:"Absolute http or https URL that receives the result." example:"https://example.com/hooks/presso"`
	Method  string            `json:"method,omitempty" enum:"GET,POST,PUT,PATCH,DELETE" default:"POST" doc:"HTTP method of the call. GET and DELETE carry no body: their signature covers the request id instead." example:"POST"`
	Headers map[string]string `json:"headers,omitempty" doc:"Extra headers sent with the call. They cannot replace Content-Type or the signature headers." example:"{\"Authorization\":\"Bearer receiver-token\"}"`
}

// WebhookMethod returns the webhook's HTTP method, POST when none is set.
func (w *Webhook) WebhookMethod() string {
	if w.Method == "" {
		return "POST"
	}
	return w.Method
}

// PageOptions loads the content, sets the page up and configures the
// output. The set-up options apply before the content loads, the waits
// after it has loaded and before the output is made.
type PageOptions struct {
	Goto       *GotoOptions       `json:"goto,omitempty" doc:"Load a URL. Exclusive with setContent."`
	SetContent *SetContentOptions `json:"setContent,omitempty" doc:"Load HTML given in the request. Exclusive with goto."`

	SetJavaScriptEnabled *bool              `json:"setJavaScriptEnabled,omitempty" default:"true" doc:"Run the page's scripts, as Puppeteer's page.setJavaScriptEnabled. false turns JavaScript off before the content loads. waitForSelector and waitForFunction still work: with JavaScript off, Presso evaluates them from outside the page, at the polling interval or every 100 ms." example:"false"`
	EmulateMediaType     string             `json:"emulateMediaType,omitempty" enum:"screen,print" doc:"CSS media type to render with, as Puppeteer's page.emulateMediaType. Default: none, so a PDF is printed with print styles and a screenshot is taken with screen styles; screen prints a PDF with the styles of the screen." example:"screen"`
	SetExtraHTTPHeaders  map[string]string  `json:"setExtraHTTPHeaders,omitempty" doc:"Headers added to every request of the page, the document's and its sub-resources', on every host, as Puppeteer's page.setExtraHTTPHeaders. Names must be valid header names; hop-by-hop headers, Host and Content-Length are rejected." example:"{\"Accept-Language\":\"de-DE\",\"X-Tenant\":\"acme\"}"`
	Authenticate         *Credentials       `json:"authenticate,omitempty" doc:"Credentials for HTTP authentication, as Puppeteer's page.authenticate. Presso sends them in response to the authentication challenge (401 with WWW-Authenticate) of any server that the page or its sub-resources load from, once per request. A second challenge for the same request, as wrong credentials cause, is cancelled and the server's 401 page is rendered. Challenges of a proxy get Chromium's default answer, not these credentials."`
	SetUserAgent         string             `json:"setUserAgent,omitempty" maxLength:"1024" doc:"User-Agent header of every request of the page, and navigator.userAgent, as Puppeteer's page.setUserAgent. Default: Chromium's own." example:"Mozilla/5.0 (X11; Linux x86_64) PressoBot/1.0"`
	SetCookies           []Cookie           `json:"setCookies,omitempty" doc:"Cookies stored before the content loads, as Puppeteer's page.setCookie. Each needs a domain or a url. They live in the render's own browser context and end with it."`
	SetLocalStorageItems []LocalStorageItem `json:"setLocalStorageItems,omitempty" doc:"localStorage entries that the page's scripts find when they start: they are written at the start of every document of the origin of page.goto.url, in the top frame. Needs page.goto, because a page loaded with setContent has the opaque origin of about:blank, which has no localStorage."`

	WaitForSelector *WaitForSelector `json:"waitForSelector,omitempty" doc:"After the page has loaded, wait until an element matches a selector, as Puppeteer's page.waitForSelector. Runs before waitForFunction."`
	WaitForFunction *WaitForFunction `json:"waitForFunction,omitempty" doc:"After the page has loaded, and after waitForSelector, wait until a JavaScript expression is truthy, as Puppeteer's page.waitForFunction."`

	PDF        *PDFOptions        `json:"pdf,omitempty" doc:"Print options, used by the PDF routes and ignored by the screenshot routes."`
	Screenshot *ScreenshotOptions `json:"screenshot,omitempty" doc:"Capture options, used by the screenshot routes and ignored by the PDF routes."`
}

// JavaScriptEnabled reports whether the page's scripts run: true unless
// setJavaScriptEnabled is false.
func (p *PageOptions) JavaScriptEnabled() bool {
	return p.SetJavaScriptEnabled == nil || *p.SetJavaScriptEnabled
}

// WaitOptions says when a loaded page counts as ready.
type WaitOptions struct {
	WaitUntil []string `json:"waitUntil,omitempty" maxItems:"4" enum:"load,domcontentloaded,networkidle0,networkidle2" doc:"Events that must all have happened before printing: load, domcontentloaded, networkidle0 (no network connection for 500 ms) or networkidle2 (at most two for 500 ms). Default: load." example:"[\"networkidle0\"]"`
}

// GotoOptions loads a URL, like Puppeteer's page.goto.
type GotoOptions struct {
	URL     string       `json:"url" minLength:"1" maxLength:"8192" doc:"Absolute http or https URL of the page." example:"https://example.com/invoice/42"`
	Options *WaitOptions `json:"options,omitempty" doc:"When the page counts as loaded."`
}

// SetContentOptions loads HTML from the request, like Puppeteer's page.setContent.
type SetContentOptions struct {
	HTML    string       `json:"html" minLength:"1" doc:"The page's HTML, base64 encoded." example:"PGh0bWw+CjxwPnRlc3Q8L3A+CjwvaHRtbD4="`
	Options *WaitOptions `json:"options,omitempty" doc:"When the page counts as loaded."`
}

// LaunchOptions configures the browser for one render.
type LaunchOptions struct {
	DefaultViewport *Viewport `json:"defaultViewport,omitempty" doc:"The page's viewport; the only way to set it."`
}

// Viewport is the emulated screen of the page.
type Viewport struct {
	Width             int     `json:"width,omitempty" minimum:"1" maximum:"16384" default:"800" doc:"Width in CSS pixels." example:"1280"`
	Height            int     `json:"height,omitempty" minimum:"1" maximum:"16384" default:"600" doc:"Height in CSS pixels." example:"720"`
	DeviceScaleFactor float64 `json:"deviceScaleFactor,omitempty" minimum:"0.1" maximum:"4" default:"1" doc:"Device pixels per CSS pixel; 2 doubles the screenshot's dimensions." example:"2"`
	IsMobile          bool    `json:"isMobile,omitempty" doc:"Emulate a mobile device (meta viewport tag honoured)." example:"false"`
	HasTouch          bool    `json:"hasTouch,omitempty" doc:"Emulate touch events." example:"false"`
	IsLandscape       bool    `json:"isLandscape,omitempty" doc:"Report a landscape screen orientation to the page." example:"false"`
}

// Size returns the viewport's width and height with the defaults applied.
func (v *Viewport) Size() (width, height int, scale float64) {
	width, height, scale = 800, 600, 1
	if v == nil {
		return width, height, scale
	}
	if v.Width > 0 {
		width = v.Width
	}
	if v.Height > 0 {
		height = v.Height
	}
	if v.DeviceScaleFactor > 0 {
		scale = v.DeviceScaleFactor
	}
	return width, height, scale
}

// Viewport returns the request's viewport, nil when none is set.
func (r *RenderRequest) Viewport() *Viewport {
	if r.Launch == nil {
		return nil
	}
	return r.Launch.DefaultViewport
}

// WaitUntil returns the load events the request waits for, ["load"] by default.
func (r *RenderRequest) WaitUntil() []string {
	var opts *WaitOptions
	switch {
	case r.Page.Goto != nil:
		opts = r.Page.Goto.Options
	case r.Page.SetContent != nil:
		opts = r.Page.SetContent.Options
	}
	if opts == nil || len(opts.WaitUntil) == 0 {
		return []string{"load"}
	}
	return opts.WaitUntil
}

// PresignedURL returns the caller's presigned upload URL, empty when none is set.
func (r *RenderRequest) PresignedURL() string {
	if r.Doppio == nil {
		return ""
	}
	return r.Doppio.PresignedURL
}

// Webhook returns the request's webhook, nil when none is set.
func (r *RenderRequest) Webhook() *Webhook {
	if r.Doppio == nil {
		return nil
	}
	return r.Doppio.Webhook
}
