package chromium

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/presso-dev/presso/engine"
)

// lateDelay is when lateHTML adds its content, after its script has run.
const lateDelay = time.Second

// lateHTML adds its late content lateDelay after its script has run.
var lateHTML = lateHTMLAfter(lateDelay)

// lateHTMLAfter returns a page that adds a paragraph with the id late, and
// sets window.lateReady, delay after its script has run.
func lateHTMLAfter(delay time.Duration) string {
	return fmt.Sprintf(`<p>early content</p><script>
	setTimeout(() => {
		const p = document.createElement('p');
		p.id = 'late';
		p.textContent = 'late content';
		document.body.append(p);
		window.lateReady = true;
	}, %d);
</script>`, delay.Milliseconds())
}

func millis(ms float64) *float64 { return &ms }

func selectorRequest(html, selector string, options *engine.WaitForSelectorOptions) engine.RenderRequest {
	req := htmlRequest(html)
	req.Page.WaitForSelector = &engine.WaitForSelector{Selector: selector, Options: options}
	return req
}

func functionRequest(html, pageFunction string, options *engine.WaitForFunctionOptions) engine.RenderRequest {
	req := htmlRequest(html)
	req.Page.WaitForFunction = &engine.WaitForFunction{PageFunction: pageFunction, Options: options}
	return req
}

func TestWaitsForLateContent(t *testing.T) {
	cases := []struct {
		name     string
		req      engine.RenderRequest
		wantLate bool
	}{
		{"no wait", htmlRequest(lateHTML), false},
		{"waitForSelector", selectorRequest(lateHTML, "#late", nil), true},
		{"waitForSelector by XPath", selectorRequest(lateHTML, "xpath///p[text()='late content']", nil), true},
		{"waitForFunction expression", functionRequest(lateHTML, "window.lateReady === true;", nil), true},
		{"waitForFunction arrow function", functionRequest(lateHTML, "() => window.lateReady", nil), true},
		{"waitForFunction promise", functionRequest(lateHTML, "new Promise(resolve => setTimeout(() => resolve(window.lateReady), 10))", nil), true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			text := pdfText(t, mustRender(t, engine.KindPDF, tc.req), 0, 0)

			if !strings.Contains(text, "early content") {
				t.Fatalf("PDF text = %q, want the page's first content", text)
			}
			if late := strings.Contains(text, "late content"); late != tc.wantLate {
				t.Errorf("PDF contains the late content: %v, want %v (text %q)", late, tc.wantLate, text)
			}
		})
	}
}

func TestWaitTimeoutNamesStage(t *testing.T) {
	// The content comes far later than the waits' 300ms, however slowly
	// the page loads on a busy machine.
	html := lateHTMLAfter(time.Minute)
	cases := []struct {
		name string
		req  engine.RenderRequest
		want string
	}{
		{"waitForSelector", selectorRequest(html, "#late", &engine.WaitForSelectorOptions{Timeout: millis(300)}),
			`timed out after 300ms waiting for waitForSelector "#late"`},
		{"waitForFunction", functionRequest(html, "window.lateReady", &engine.WaitForFunctionOptions{Timeout: millis(300)}),
			`timed out after 300ms waiting for waitForFunction "window.lateReady"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := renderJob(t, sharedRenderer(t), engine.KindPDF, tc.req, defaultTestTimeout)

			// The message names the wait's own 300ms, not the render's limit.
			jobErr := requireJobError(t, err, engine.CodeTimeout)
			if jobErr.Message != tc.want {
				t.Errorf("message = %q, want %q", jobErr.Message, tc.want)
			}
		})
	}
}

// TestRenderTimeoutBoundsWaits gives the waits no time limit of their own
// (0) and one longer than the render's: the render's limit ends them.
func TestRenderTimeoutBoundsWaits(t *testing.T) {
	requireChromium(t)
	r := sharedRenderer(t)
	short := &Renderer{cfg: r.cfg, logger: r.logger, browsers: r.browsers, slots: r.slots, guard: r.guard, proxy: r.proxy}
	short.cfg.Timeout = 1500 * time.Millisecond
	cases := []struct {
		name string
		req  engine.RenderRequest
		want string
	}{
		{"waitForSelector without a limit", selectorRequest(lateHTML, "#never", &engine.WaitForSelectorOptions{Timeout: millis(0)}),
			`timed out after 1.5s waiting for waitForSelector "#never"`},
		{"waitForFunction over the render's limit", functionRequest(lateHTML, "window.never", &engine.WaitForFunctionOptions{Timeout: millis(60000)}),
			`timed out after 1.5s waiting for waitForFunction "window.never"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := renderJob(t, short, engine.KindPDF, tc.req, defaultTestTimeout)

			jobErr := requireJobError(t, err, engine.CodeTimeout)
			if jobErr.Message != tc.want {
				t.Errorf("message = %q, want %q", jobErr.Message, tc.want)
			}
		})
	}
}

func TestWaitForSelectorVisibility(t *testing.T) {
	// The box is in the DOM from the start but hidden until lateDelay; the
	// spinner is visible until then.
	html := fmt.Sprintf(`<p id="box" style="visibility: hidden">box text</p><p id="spinner">spinner text</p><script>
		setTimeout(() => {
			document.getElementById('box').style.visibility = 'visible';
			document.getElementById('spinner').style.display = 'none';
		}, %d);
	</script>`, lateDelay.Milliseconds())
	cases := []struct {
		name        string
		selector    string
		options     *engine.WaitForSelectorOptions
		wantBox     bool
		wantSpinner bool
	}{
		{"attached box does not wait", "#box", nil, false, true},
		{"visible box waits", "#box", &engine.WaitForSelectorOptions{Visible: true}, true, false},
		{"hidden spinner waits", "#spinner", &engine.WaitForSelectorOptions{Hidden: true}, true, false},
		{"hidden missing element does not wait", "#missing", &engine.WaitForSelectorOptions{Hidden: true}, false, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			text := pdfText(t, mustRender(t, engine.KindPDF, selectorRequest(html, tc.selector, tc.options)), 0, 0)

			if box := strings.Contains(text, "box text"); box != tc.wantBox {
				t.Errorf("box shown: %v, want %v (text %q)", box, tc.wantBox, text)
			}
			if spinner := strings.Contains(text, "spinner text"); spinner != tc.wantSpinner {
				t.Errorf("spinner shown: %v, want %v (text %q)", spinner, tc.wantSpinner, text)
			}
		})
	}
}

var callsPattern = regexp.MustCompile(`calls (\d+)`)

// TestWaitForFunctionPolling counts how often each polling mode evaluates
// a function that turns true after lateDelay without changing the DOM.
func TestWaitForFunctionPolling(t *testing.T) {
	html := fmt.Sprintf(`<p id="calls">calls 0</p><script>
		window.calls = 0;
		setTimeout(() => { window.flag = true; }, %d);
	</script>`, lateDelay.Milliseconds())
	// The count goes into the page once the flag is set, so that writing
	// it does not trigger the mutation polling.
	counting := `() => {
		window.calls++;
		if (window.flag) document.getElementById('calls').textContent = 'calls ' + window.calls;
		return window.flag;
	}`
	cases := []struct {
		name               string
		polling            *engine.Polling
		minCalls, maxCalls int
	}{
		// Every 400ms over about one second: at 0, 400, 800 and 1200 ms,
		// with room for a page that loads slowly on a busy machine.
		{"interval", &engine.Polling{Interval: 400}, 2, 8},
		// About 60 frames a second, fewer on a busy machine.
		{"raf", &engine.Polling{Mode: engine.PollingRAF}, 15, 1000},
		{"default is raf", nil, 15, 1000},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			req := functionRequest(html, counting, &engine.WaitForFunctionOptions{Polling: tc.polling})

			text := pdfText(t, mustRender(t, engine.KindPDF, req), 0, 0)

			m := callsPattern.FindStringSubmatch(text)
			if m == nil {
				t.Fatalf("PDF text = %q, want a call count", text)
			}
			calls, _ := strconv.Atoi(m[1])
			if calls < tc.minCalls || calls > tc.maxCalls {
				t.Errorf("the function ran %d times, want %d to %d", calls, tc.minCalls, tc.maxCalls)
			}
		})
	}
}

func TestWaitForFunctionMutationPolling(t *testing.T) {
	// The flag is set without a DOM change, the late paragraph with one.
	flagOnly := `<p>page</p><script>
		addEventListener('load', () => setTimeout(() => { window.flag = true; }, 1000));
	</script>`
	mutation := engine.Polling{Mode: engine.PollingMutation}

	t.Run("DOM change", func(t *testing.T) {
		t.Parallel()
		options := &engine.WaitForFunctionOptions{Polling: &mutation, Timeout: millis(10000)}
		text := pdfText(t, mustRender(t, engine.KindPDF, functionRequest(lateHTML, "window.lateReady", options)), 0, 0)

		if !strings.Contains(text, "late content") {
			t.Errorf("PDF text = %q, want the late content", text)
		}
	})
	t.Run("no DOM change", func(t *testing.T) {
		t.Parallel()
		// The wait starts at the load event. The flag is set a second
		// later, long before the wait gives up, but no DOM change follows
		// to evaluate the function again.
		options := &engine.WaitForFunctionOptions{Polling: &mutation, Timeout: millis(2500)}
		_, err := renderJob(t, sharedRenderer(t), engine.KindPDF, functionRequest(flagOnly, "window.flag", options), defaultTestTimeout)

		requireJobError(t, err, engine.CodeTimeout)
	})
}

func TestWaitForFunctionException(t *testing.T) {
	req := functionRequest("<p>page</p>", "window.missing.ready", nil)

	_, err := renderJob(t, sharedRenderer(t), engine.KindPDF, req, defaultTestTimeout)

	jobErr := requireJobError(t, err, engine.CodeRenderFailed)
	want := `waitForFunction "window.missing.ready" failed: the page threw TypeError: Cannot read properties of undefined (reading 'ready')`
	if jobErr.Message != want {
		t.Errorf("message = %q, want %q", jobErr.Message, want)
	}
}

func TestWaitForSelectorInvalidSelector(t *testing.T) {
	_, err := renderJob(t, sharedRenderer(t), engine.KindPDF, selectorRequest("<p>page</p>", "p[", nil), defaultTestTimeout)

	jobErr := requireJobError(t, err, engine.CodeRenderFailed)
	if !strings.HasPrefix(jobErr.Message, `waitForSelector "p[" failed: the page threw SyntaxError`) {
		t.Errorf("message = %q, want a SyntaxError naming the selector", jobErr.Message)
	}
}

func TestWaitsWithJavaScriptDisabled(t *testing.T) {
	disabled := false
	html := `<p id="static">static text</p>`
	cases := []struct {
		name string
		req  engine.RenderRequest
	}{
		{"waitForSelector", selectorRequest(html, "#static", &engine.WaitForSelectorOptions{Visible: true})},
		{"waitForFunction", functionRequest(html, "document.getElementById('static') !== null", nil)},
		// True from the fourth evaluation on, which the page's timers and
		// animation frames would never reach with JavaScript off.
		{"waitForFunction polled by interval", functionRequest(html, "(window.checks = (window.checks || 0) + 1) > 3",
			&engine.WaitForFunctionOptions{Polling: &engine.Polling{Interval: 50}, Timeout: millis(5000)})},
		{"waitForFunction polled by raf", functionRequest(html, "(window.checks = (window.checks || 0) + 1) > 3",
			&engine.WaitForFunctionOptions{Timeout: millis(5000)})},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.req.Page.SetJavaScriptEnabled = &disabled

			text := pdfText(t, mustRender(t, engine.KindPDF, tc.req), 0, 0)

			if !strings.Contains(text, "static text") {
				t.Errorf("PDF text = %q, want the static text", text)
			}
		})
	}
}

// TestWaitsSurviveNavigation starts a wait on a page that navigates to the
// page the wait looks for, on a server whose Content-Security-Policy
// forbids inline scripts and eval.
func TestWaitsSurviveNavigation(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/first", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<p>first page</p><script src="/navigate.js"></script>`)
	})
	mux.HandleFunc("/navigate.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript")
		fmt.Fprint(w, `setTimeout(() => { location.href = '/second'; }, 300);`)
	})
	mux.HandleFunc("/second", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<p id="target">second page</p><script src="/ready.js"></script>`)
	})
	mux.HandleFunc("/ready.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript")
		fmt.Fprint(w, `window.secondReady = true;`)
	})
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "script-src 'self'")
		if !strings.HasSuffix(r.URL.Path, ".js") {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
		}
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(server.Close)

	selector := gotoRequest(server.URL + "/first")
	selector.Page.WaitForSelector = &engine.WaitForSelector{Selector: "#target"}
	function := gotoRequest(server.URL + "/first")
	function.Page.WaitForFunction = &engine.WaitForFunction{PageFunction: "window.secondReady === true"}

	for name, req := range map[string]engine.RenderRequest{"waitForSelector": selector, "waitForFunction": function} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			text := pdfText(t, mustRender(t, engine.KindPDF, req), 0, 0)

			if !strings.Contains(text, "second page") {
				t.Errorf("PDF text = %q, want the page navigated to", text)
			}
		})
	}
}
