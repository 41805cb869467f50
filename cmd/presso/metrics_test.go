package main

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestMetricsAfterRenders(t *testing.T) {
	svc := startService(t, nil)
	page := map[string]any{"setContent": map[string]any{"html": b64("<p>metrics</p>")}}
	if status, answer, _ := svc.call(t, "/v1/render/pdf/sync", map[string]any{"page": page}); status != http.StatusOK {
		t.Fatalf("sync answered %d: %s", status, answer)
	}
	if status, answer, _ := svc.call(t, "/v1/render/screenshot/direct", map[string]any{"page": page}); status != http.StatusOK {
		t.Fatalf("direct answered %d: %s", status, answer)
	}
	hook := newReceiver(t)
	svc.submitAsync(t, hook.URL, "metrics")
	hook.wait(t, 1)

	// The attempt is counted once the receiver's answer is read, just
	// after the receiver saw the call.
	var body []byte
	var header http.Header
	for range 100 {
		_, body, header = download(t, svc.url+"/metrics")
		if strings.Contains(string(body), `presso_webhook_attempts_total{outcome="success"} 1`) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.HasPrefix(header.Get("Content-Type"), "text/plain") {
		t.Errorf("Content-Type %q", header.Get("Content-Type"))
	}
	text := string(body)
	for _, series := range []string{
		`presso_job_stage_duration_seconds_bucket{kind="pdf",stage="render"`,
		`presso_job_stage_duration_seconds_bucket{kind="pdf",stage="store"`,
		`presso_job_stage_duration_seconds_bucket{kind="screenshot",stage="queue"`,
		`presso_jobs_total{kind="pdf",mode="sync",status="SUCCESS"} 1`,
		`presso_jobs_total{kind="screenshot",mode="direct",status="SUCCESS"} 1`,
		`presso_webhook_attempts_total{outcome="success"} 1`,
		`presso_renders_in_flight 0`,
		`presso_render_queue_depth 0`,
		`presso_browser_restarts_total`,
	} {
		if !strings.Contains(text, series) {
			t.Errorf("/metrics lacks %s", series)
		}
	}
}
