package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// slowPage serves a page that takes delay to answer, to keep a render busy.
func slowPage(t *testing.T, delay time.Duration) *httptest.Server {
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
		}
		fmt.Fprint(w, "<h1>slow</h1>")
	}))
	t.Cleanup(server.Close)
	return server
}

func TestQueueBoundsAnswerRetryLater(t *testing.T) {
	for _, tc := range []struct {
		name     string
		settings map[string]any
		status   int
	}{
		{"per key", map[string]any{"limits.max_queued_per_key": 2, "limits.max_queued": 0}, http.StatusTooManyRequests},
		{"all keys", map[string]any{"limits.max_queued": 2, "limits.max_queued_per_key": 0}, http.StatusServiceUnavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			slow := slowPage(t, 3*time.Second)
			hook := newReceiver(t)
			settings := withSettings(tc.settings, map[string]any{"renderer.chromium.max_pages": 1, "outbound.allow": allowList(slow, hook.Server)})
			svc := startService(t, settings)

			job := func(page map[string]any) (int, http.Header, []byte) {
				status, answer, header := svc.call(t, "/v1/render/pdf/async", map[string]any{
					"page": page, "doppio": map[string]any{"webhook": map[string]any{"url": hook.URL, "method": "POST"}},
				})
				return status, header, answer
			}
			if status, _, answer := job(map[string]any{"goto": map[string]any{"url": slow.URL}}); status != http.StatusOK {
				t.Fatalf("first job answered %d: %s", status, answer)
			}
			time.Sleep(500 * time.Millisecond) // the first job leaves the queue for the only render slot
			quick := map[string]any{"setContent": map[string]any{"html": b64("<p>queued</p>")}}
			for i := range 2 {
				if status, _, answer := job(quick); status != http.StatusOK {
					t.Fatalf("queued job %d answered %d: %s", i+1, status, answer)
				}
			}
			status, header, answer := job(quick)
			if status != tc.status {
				t.Fatalf("job over the bound answered %d: %s; want %d", status, answer, tc.status)
			}
			if header.Get("Retry-After") == "" {
				t.Error("answer to a full queue has no Retry-After")
			}
			if !strings.Contains(string(answer), "waiting to render") {
				t.Errorf("answer %s does not say why", answer)
			}
			hook.wait(t, 3)
			if status, _, answer := job(quick); status != http.StatusOK {
				t.Errorf("once the queue drained, a job answered %d: %s", status, answer)
			}
		})
	}
}

func TestRateLimitPerKey(t *testing.T) {
	// At one request every ten seconds, the two renders of the burst cannot
	// earn the third request a token.
	svc := startService(t, map[string]any{"limits.rate_per_key": 0.1, "limits.burst_per_key": 2})
	page := map[string]any{"page": map[string]any{"setContent": map[string]any{"html": b64("<p>rate</p>")}}}
	for i := range 2 {
		if status, answer, _ := svc.call(t, "/v1/render/pdf/sync", page); status != http.StatusOK {
			t.Fatalf("request %d within the burst answered %d: %s", i+1, status, answer)
		}
	}
	status, answer, header := svc.call(t, "/v1/render/pdf/sync", page)
	if status != http.StatusTooManyRequests || header.Get("Retry-After") == "" {
		t.Fatalf("request over the rate answered %d (Retry-After %q): %s", status, header.Get("Retry-After"), answer)
	}
	if !strings.Contains(string(answer), "limits.rate_per_key") {
		t.Errorf("answer %s does not name the limit", answer)
	}
}

// allowList returns the outbound.allow value that lets Presso reach the
// given test servers, and nothing else on loopback.
func allowList(servers ...*httptest.Server) string {
	var hosts []string
	for _, s := range servers {
		hosts = append(hosts, strings.TrimPrefix(s.URL, "http://"))
	}
	return strings.Join(hosts, ",")
}

func TestRequestLimitsAtAndOverBound(t *testing.T) {
	svc := startService(t, map[string]any{
		"limits.max_html_bytes":        1000,
		"limits.max_headers":           2,
		"limits.max_header_bytes":      20,
		"limits.max_screenshot_pixels": 10000,
	})
	pageWith := func(extra map[string]any) map[string]any {
		page := map[string]any{"setContent": map[string]any{"html": b64("<p>limits</p>")}}
		for k, v := range extra {
			page[k] = v
		}
		return map[string]any{"page": page}
	}
	cases := []struct {
		name   string
		route  string
		body   map[string]any
		status int
		field  string
	}{
		{"html at bound", "pdf/direct", map[string]any{"page": map[string]any{"setContent": map[string]any{"html": b64(strings.Repeat("a", 1000))}}}, 200, ""},
		{"html over bound", "pdf/direct", map[string]any{"page": map[string]any{"setContent": map[string]any{"html": b64(strings.Repeat("a", 1001))}}}, 400, "limits.max_html_bytes"},
		{"headers at bound", "pdf/direct", pageWith(map[string]any{"setExtraHTTPHeaders": map[string]string{"X-A": "1", "X-B": "2"}}), 200, ""},
		{"headers over bound", "pdf/direct", pageWith(map[string]any{"setExtraHTTPHeaders": map[string]string{"X-A": "1", "X-B": "2", "X-C": "3"}}), 400, "limits.max_headers"},
		{"header bytes at bound", "pdf/direct", pageWith(map[string]any{"setExtraHTTPHeaders": map[string]string{"X-Tenant": strings.Repeat("v", 12)}}), 200, ""},
		{"header bytes over bound", "pdf/direct", pageWith(map[string]any{"setExtraHTTPHeaders": map[string]string{"X-Tenant": strings.Repeat("v", 13)}}), 400, "limits.max_header_bytes"},
		{"viewport at bound", "screenshot/direct", withSettings(pageWith(nil), map[string]any{"launch": map[string]any{"defaultViewport": map[string]any{"width": 100, "height": 100}}}), 200, ""},
		{"viewport over bound", "screenshot/direct", withSettings(pageWith(nil), map[string]any{"launch": map[string]any{"defaultViewport": map[string]any{"width": 101, "height": 100}}}), 400, "limits.max_screenshot_pixels"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, answer, _ := svc.call(t, "/v1/render/"+tc.route, tc.body)
			if status != tc.status {
				t.Fatalf("answered %d, want %d: %.300s", status, tc.status, answer)
			}
			if tc.field != "" && !strings.Contains(string(answer), tc.field) {
				t.Errorf("answer does not name %s: %s", tc.field, answer)
			}
		})
	}
}

func TestOutputLimitsAtAndOverBound(t *testing.T) {
	threePages := `<p>one</p><p style="page-break-before:always">two</p><p style="page-break-before:always">three</p>`
	pdfBody := map[string]any{"page": map[string]any{"setContent": map[string]any{"html": b64(threePages)}}}
	tall := map[string]any{
		"page": map[string]any{
			"setContent": map[string]any{"html": b64(`<body style="margin:0"><div style="height:500px">tall</div></body>`)},
			"screenshot": map[string]any{"fullPage": true},
		},
		"launch": map[string]any{"defaultViewport": map[string]any{"width": 100, "height": 100}},
	}

	t.Run("pages", func(t *testing.T) {
		for _, tc := range []struct {
			limit  int
			status int
		}{{3, 200}, {2, 400}} {
			svc := startService(t, map[string]any{"limits.max_pdf_pages": tc.limit})
			status, answer, _ := svc.call(t, "/v1/render/pdf/direct", pdfBody)
			if status != tc.status {
				t.Fatalf("3 pages with limits.max_pdf_pages %d answered %d: %.300s", tc.limit, status, answer)
			}
			if status != 200 && !strings.Contains(string(answer), "limits.max_pdf_pages") {
				t.Errorf("answer does not name the limit: %s", answer)
			}
		}
	})

	t.Run("pixels", func(t *testing.T) {
		for _, tc := range []struct {
			limit  int
			status int
		}{{50000, 200}, {49999, 400}} {
			svc := startService(t, map[string]any{"limits.max_screenshot_pixels": tc.limit})
			status, answer, _ := svc.call(t, "/v1/render/screenshot/direct", tall)
			if status != tc.status {
				t.Fatalf("a 100 × 500 capture with limits.max_screenshot_pixels %d answered %d: %.300s", tc.limit, status, answer)
			}
		}
	})

	t.Run("bytes", func(t *testing.T) {
		svc := startService(t, nil)
		_, pdf, _ := svc.call(t, "/v1/render/pdf/direct", pdfBody)
		size := len(pdf)
		for _, tc := range []struct {
			limit  int
			status int
		}{{size, 200}, {size - 1, 400}} {
			svc := startService(t, map[string]any{"limits.max_output_bytes": tc.limit})
			status, answer, _ := svc.call(t, "/v1/render/pdf/direct", pdfBody)
			if status != tc.status {
				t.Fatalf("a %d-byte PDF with limits.max_output_bytes %d answered %d: %.300s", size, tc.limit, status, answer)
			}
			if status != 200 && !strings.Contains(string(answer), "limits.max_output_bytes") {
				t.Errorf("answer does not name the limit: %s", answer)
			}
		}
	})
}

// TestSyncBeforeAsyncBacklog queues async jobs behind a slow render
// on one render slot, then sends a sync request: the sync job must get the
// slot as soon as the render under way ends, not after the backlog.
func TestSyncBeforeAsyncBacklog(t *testing.T) {
	var mu sync.Mutex
	var order []string
	started := make(chan struct{}, 20)
	pages := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/favicon.ico" {
			http.NotFound(w, r)
			return
		}
		mu.Lock()
		order = append(order, r.URL.Path)
		mu.Unlock()
		started <- struct{}{}
		select {
		case <-time.After(400 * time.Millisecond):
		case <-r.Context().Done():
		}
		fmt.Fprintf(w, "<h1>%s</h1>", r.URL.Path)
	}))
	t.Cleanup(pages.Close)
	hook := newReceiver(t)
	svc := startService(t, map[string]any{"renderer.chromium.max_pages": 1, "outbound.allow": allowList(pages, hook.Server)})

	const backlog = 5
	for i := range backlog {
		status, answer, _ := svc.call(t, "/v1/render/pdf/async", map[string]any{
			"page":   map[string]any{"goto": map[string]any{"url": fmt.Sprintf("%s/async-%d", pages.URL, i)}},
			"doppio": map[string]any{"webhook": map[string]any{"url": hook.URL, "method": "POST"}},
		})
		if status != http.StatusOK {
			t.Fatalf("async job %d answered %d: %s", i, status, answer)
		}
	}
	select {
	case <-started:
	case <-time.After(30 * time.Second):
		t.Fatal("the first async job did not start rendering")
	}

	status, answer, _ := svc.call(t, "/v1/render/pdf/sync", map[string]any{
		"page": map[string]any{"goto": map[string]any{"url": pages.URL + "/sync"}},
	})
	if status != http.StatusOK {
		t.Fatalf("sync request answered %d: %s", status, answer)
	}
	hook.wait(t, backlog)

	mu.Lock()
	defer mu.Unlock()
	if i := slices.Index(order, "/sync"); i != 1 {
		t.Errorf("pages were loaded in the order %v; want /sync right after the first async job", order)
	}
}

// TestClosedSyncRequestStopsItsRender checks that a sync request whose
// client gives up stops its render, so that the only render slot is free
// for the next request long before the abandoned page would have loaded.
func TestClosedSyncRequestStopsItsRender(t *testing.T) {
	aborted := make(chan time.Time, 1)
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(60 * time.Second):
		case <-r.Context().Done():
			aborted <- time.Now()
		}
	}))
	t.Cleanup(slow.Close)
	svc := startService(t, map[string]any{"renderer.chromium.max_pages": 1, "renderer.timeout": "30s", "outbound.allow": allowList(slow)})

	post := func(client *http.Client, page map[string]any) (*http.Response, error) {
		body, err := json.Marshal(map[string]any{"page": page})
		if err != nil {
			t.Fatal(err)
		}
		req, err := http.NewRequest(http.MethodPost, svc.url+"/v1/render/pdf/sync", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+testKey)
		return client.Do(req)
	}

	impatient := &http.Client{Timeout: 2 * time.Second}
	if resp, err := post(impatient, map[string]any{"goto": map[string]any{"url": slow.URL}}); err == nil {
		resp.Body.Close()
		t.Fatalf("the request for the slow page answered %d, want the client to give up", resp.StatusCode)
	}
	gaveUp := time.Now()
	select {
	case at := <-aborted:
		t.Logf("Chromium closed the slow page's request %s after the client gave up", at.Sub(gaveUp).Round(time.Millisecond))
	case <-time.After(10 * time.Second):
		t.Fatal("the abandoned render kept loading the slow page")
	}

	patient := &http.Client{Timeout: 20 * time.Second}
	resp, err := post(patient, map[string]any{"setContent": map[string]any{"html": b64("<p>after the abandoned render</p>")}})
	if err != nil {
		t.Fatalf("the next request failed: %v", err)
	}
	defer resp.Body.Close()
	var answer struct {
		RenderStatus string `json:"renderStatus"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&answer); err != nil || resp.StatusCode != http.StatusOK || answer.RenderStatus != "SUCCESS" {
		t.Fatalf("the next request answered %d %+v (%v)", resp.StatusCode, answer, err)
	}
}
