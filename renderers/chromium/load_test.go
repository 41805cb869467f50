package chromium

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/presso-dev/presso/engine"
)

// lateResponse is how long the test server takes to respond to /slow. It
// is longer than networkIdleTime, so a render that does not wait for the
// network prints before the response arrives.
const lateResponse = 700 * time.Millisecond

// slowImage is how long the test server takes to serve /slow-image, long
// enough to tell a render that waits for it from one that does not.
const slowImage = 1500 * time.Millisecond

// transparentGIF is a GIF of one transparent pixel.
var transparentGIF, _ = base64.StdEncoding.DecodeString("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")

// newTestServer serves the pages of the load tests on loopback. /hang
// responds only when the test ends.
func newTestServer(t *testing.T) *httptest.Server {
	t.Helper()
	release := make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("/page", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<html><body><h1>Served page</h1></body></html>`)
	})
	mux.HandleFunc("/missing", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, `<html><body><h1>Custom not found</h1></body></html>`)
	})

	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(lateResponse)
		w.Header().Set("Access-Control-Allow-Origin", "*")
		fmt.Fprint(w, "late content")
	})
	mux.HandleFunc("/slow-image", func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(slowImage)
		w.Header().Set("Content-Type", "image/gif")
		w.Write(transparentGIF)
	})

	mux.HandleFunc("/hanging-image", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<html><body><p>before the image</p><img src="/hang"></body></html>`)
	})
	mux.HandleFunc("/hang", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})

	// /fetch writes the response of /slow into the page.
	mux.HandleFunc("/fetch", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<html><body><p>before</p><script>
			fetch('/slow').then(r => r.text()).then(text => document.body.append(text));
		</script></body></html>`)
	})

	// Four requests are open at first, one of them until the test ends.
	mux.HandleFunc("/fetch-three-and-hang", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<html><body><p>before</p><script>
			fetch('/hang');
			for (let i = 0; i < 3; i++) {
				fetch('/slow?' + i).then(r => r.text()).then(text => document.body.append(' ' + text));
			}
		</script></body></html>`)
	})

	server := httptest.NewServer(mux)
	t.Cleanup(func() {
		close(release)
		server.Close()
	})
	return server
}

func TestGotoRendersServedPage(t *testing.T) {
	server := newTestServer(t)

	pdf := mustRender(t, engine.KindPDF, gotoRequest(server.URL+"/page"))

	if text := pdfText(t, pdf, 0, 0); !strings.Contains(text, "Served page") {
		t.Errorf("PDF text = %q, want it to contain %q", text, "Served page")
	}
}

func TestGotoRendersErrorStatusPage(t *testing.T) {
	server := newTestServer(t)

	pdf := mustRender(t, engine.KindPDF, gotoRequest(server.URL+"/missing"))

	if text := pdfText(t, pdf, 0, 0); !strings.Contains(text, "Custom not found") {
		t.Errorf("PDF text = %q, want the 404 page's own content", text)
	}
}

func TestGotoUnresolvableHost(t *testing.T) {
	_, err := renderJob(t, sharedRenderer(t), engine.KindPDF, gotoRequest("http://presso-test.invalid/"), defaultTestTimeout)

	jobErr := requireJobError(t, err, engine.CodeNavigationFailed)
	want := "navigation to http://presso-test.invalid/ failed: net::ERR_NAME_NOT_RESOLVED"
	if !strings.HasPrefix(jobErr.Message, want) {
		t.Errorf("message = %q, want it to start with %q", jobErr.Message, want)
	}
	if strings.Contains(jobErr.Message, ":53") {
		t.Errorf("message = %q names the DNS resolver", jobErr.Message)
	}
}

func TestGotoRefusedConnection(t *testing.T) {
	// A port that was just free on loopback refuses connections.
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + listener.Addr().String() + "/"
	listener.Close()

	_, err = renderJob(t, sharedRenderer(t), engine.KindPDF, gotoRequest(url), defaultTestTimeout)

	jobErr := requireJobError(t, err, engine.CodeNavigationFailed)
	if !strings.Contains(jobErr.Message, "net::ERR_CONNECTION_REFUSED") {
		t.Errorf("message = %q, want net::ERR_CONNECTION_REFUSED", jobErr.Message)
	}
}

func TestWaitUntilNetworkIdle(t *testing.T) {
	server := newTestServer(t)
	cases := []struct {
		name      string
		path      string
		waitUntil []string
		wantLate  bool
	}{
		{"load does not wait for fetch", "/fetch", nil, false},
		{"domcontentloaded does not wait for fetch", "/fetch", []string{"domcontentloaded"}, false},
		{"networkidle0 waits for fetch", "/fetch", []string{"networkidle0"}, true},
		{"load and networkidle0 together", "/fetch", []string{"load", "networkidle0"}, true},
		{"networkidle2 allows two open requests", "/fetch", []string{"networkidle2"}, false},
		{"networkidle2 waits for the third request", "/fetch-three-and-hang", []string{"networkidle2"}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			pdf := mustRender(t, engine.KindPDF, gotoRequest(server.URL+tc.path, tc.waitUntil...))

			text := pdfText(t, pdf, 0, 0)
			if !strings.Contains(text, "before") {
				t.Fatalf("PDF text = %q, want the page's own text", text)
			}
			if late := strings.Contains(text, "late content"); late != tc.wantLate {
				t.Errorf("PDF contains the fetched text: %v, want %v (text %q)", late, tc.wantLate, text)
			}
		})
	}
}

func TestWaitUntilNetworkIdleWithSetContent(t *testing.T) {
	server := newTestServer(t)
	html := fmt.Sprintf(`<p>before</p><script>
		fetch(%q).then(r => r.text()).then(text => document.body.append(text));
	</script>`, server.URL+"/slow")
	req := htmlRequest(html)
	req.Page.SetContent.Options = &engine.WaitOptions{WaitUntil: []string{"networkidle0"}}

	pdf := mustRender(t, engine.KindPDF, req)

	if text := pdfText(t, pdf, 0, 0); !strings.Contains(text, "late content") {
		t.Errorf("PDF text = %q, want the fetched text", text)
	}
}

func TestSetContentLoadWaitsForImages(t *testing.T) {
	server := newTestServer(t)
	html := fmt.Sprintf(`<p>before</p><img src=%q>`, server.URL+"/slow-image")
	// Screenshots, because Chromium's printToPDF waits for the load event
	// by itself.
	cases := []struct {
		waitUntil string
		wantWait  bool
	}{
		{"load", true},
		{"domcontentloaded", false},
	}
	r := sharedRenderer(t) // started before the clock runs
	for _, tc := range cases {
		t.Run(tc.waitUntil, func(t *testing.T) {
			t.Parallel()
			req := htmlRequest(html)
			req.Page.SetContent.Options = &engine.WaitOptions{WaitUntil: []string{tc.waitUntil}}

			started := time.Now()
			_, err := renderJob(t, r, engine.KindScreenshot, req, defaultTestTimeout)
			elapsed := time.Since(started)
			if err != nil {
				t.Fatalf("render failed: %v", err)
			}

			if waited := elapsed >= slowImage; waited != tc.wantWait {
				t.Errorf("render took %s with an image that takes %s: waited for the image %v, want %v", elapsed, slowImage, waited, tc.wantWait)
			}
		})
	}
}

// TestDOMContentLoadedDoesNotWaitForAHangingImage checks that a render
// that waits for domcontentloaded only ends although an image never loads,
// which Chromium's own printing and capture would wait for.
func TestDOMContentLoadedDoesNotWaitForAHangingImage(t *testing.T) {
	server := newTestServer(t)
	for _, kind := range []engine.Kind{engine.KindPDF, engine.KindScreenshot} {
		t.Run(string(kind), func(t *testing.T) {
			t.Parallel()
			req := gotoRequest(server.URL+"/hanging-image", "domcontentloaded")
			out, err := renderJob(t, sharedRenderer(t), kind, req, defaultTestTimeout)
			if err != nil {
				t.Fatalf("render failed: %v", err)
			}
			if kind == engine.KindPDF {
				if text := pdfText(t, out, 0, 0); !strings.Contains(text, "before the image") {
					t.Errorf("PDF text = %q, want the page's text", text)
				}
			}
		})
	}
}

func TestGotoDownloadIsDenied(t *testing.T) {
	name := fmt.Sprintf("presso-download-%d.bin", time.Now().UnixNano())
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Disposition", "attachment; filename="+name)
		fmt.Fprint(w, "downloaded bytes")
	}))
	defer server.Close()

	_, err := renderJob(t, sharedRenderer(t), engine.KindPDF, gotoRequest(server.URL+"/file"), defaultTestTimeout)

	requireJobError(t, err, engine.CodeNavigationFailed)
	home, _ := os.UserHomeDir()
	for _, dir := range []string{filepath.Join(home, "Downloads"), home, os.TempDir()} {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			t.Errorf("the download was saved as %s", filepath.Join(dir, name))
		}
	}
}

func TestWaitUntilUnknownEvent(t *testing.T) {
	server := newTestServer(t)

	_, err := renderJob(t, sharedRenderer(t), engine.KindPDF, gotoRequest(server.URL+"/page", "networkidle"), defaultTestTimeout)

	requireJobError(t, err, engine.CodeInvalidRequest)
}

func TestTimeoutNamesStage(t *testing.T) {
	server := newTestServer(t)
	cases := []struct {
		name string
		req  engine.RenderRequest
	}{
		{"document never answers", gotoRequest(server.URL + "/hang")},
		{"network never idle", gotoRequest(server.URL+"/fetch-three-and-hang", "networkidle0")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			started := time.Now()
			_, err := renderJob(t, sharedRenderer(t), engine.KindPDF, tc.req, 1500*time.Millisecond)

			jobErr := requireJobError(t, err, engine.CodeTimeout)
			if !strings.HasPrefix(jobErr.Message, "timed out after 1.") || !strings.HasSuffix(jobErr.Message, "s waiting for navigation") {
				t.Errorf("message = %q, want \"timed out after 1.5s waiting for navigation\" give or take a millisecond", jobErr.Message)
			}
			if elapsed := time.Since(started); elapsed > 3*time.Second {
				t.Errorf("render returned after %s, want about 1.5s", elapsed)
			}
		})
	}
}

func TestConfigTimeoutBoundsRender(t *testing.T) {
	requireChromium(t)
	server := newTestServer(t)
	r := sharedRenderer(t)
	// The shared renderer's own timeout is the default; a copy with a
	// shorter one shares its browser.
	short := &Renderer{cfg: r.cfg, logger: r.logger, browsers: r.browsers, slots: r.slots, guard: r.guard, proxy: r.proxy}
	short.cfg.Timeout = time.Second

	_, err := renderJob(t, short, engine.KindPDF, gotoRequest(server.URL+"/hang"), defaultTestTimeout)

	jobErr := requireJobError(t, err, engine.CodeTimeout)
	if want := "timed out after 1s waiting for navigation"; jobErr.Message != want {
		t.Errorf("message = %q, want %q", jobErr.Message, want)
	}
}

func TestCancelledRenderIsNotATimeout(t *testing.T) {
	server := newTestServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(300*time.Millisecond, cancel)
	job := engine.NewJob(engine.KindPDF, engine.ModeDirect, "test", gotoRequest(server.URL+"/hang"))

	err := sharedRenderer(t).Render(ctx, job, &strings.Builder{})

	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error = %v, want one wrapping context.Canceled", err)
	}
	var jobErr *engine.JobError
	if errors.As(err, &jobErr) {
		t.Errorf("error is a JobError (%s), want the cancellation itself", jobErr.Code)
	}
}

func TestJavaScriptDialogDoesNotBlock(t *testing.T) {
	html := `<script>alert('blocking?'); confirm('sure?');</script><p>after dialogs</p>`

	out, err := renderJob(t, sharedRenderer(t), engine.KindPDF, htmlRequest(html), 10*time.Second)
	if err != nil {
		t.Fatalf("render failed: %v", err)
	}

	if text := pdfText(t, out, 0, 0); !strings.Contains(text, "after dialogs") {
		t.Errorf("PDF text = %q, want the text after the dialogs", text)
	}
}

func TestViewportReachesPage(t *testing.T) {
	html := `<p id="out"></p><script>
		document.getElementById('out').textContent = ['width', innerWidth, 'dpr', devicePixelRatio,
			'orientation', screen.orientation.type, 'touch', navigator.maxTouchPoints > 0].join(' ');
	</script>`
	req := htmlRequest(html)
	req.Launch = &engine.LaunchOptions{DefaultViewport: &engine.Viewport{
		Width: 1024, Height: 700, DeviceScaleFactor: 2, HasTouch: true, IsLandscape: true,
	}}

	pdf := mustRender(t, engine.KindPDF, req)

	want := "width 1024 dpr 2 orientation landscape-primary touch true"
	if text := pdfText(t, pdf, 0, 0); !strings.Contains(text, want) {
		t.Errorf("PDF text = %q, want %q", text, want)
	}
}
