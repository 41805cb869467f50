package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
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
