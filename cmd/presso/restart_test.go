package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// TestPendingRetrySurvivesRestart stops Presso while a webhook waits for
// its next attempt; a new process on the same PostgreSQL transport and job
// store delivers it.
func TestPendingRetrySurvivesRestart(t *testing.T) {
	requireTools(t)
	dsn := testDatabase(t)
	var healthy atomic.Bool
	var calls atomic.Int32
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if !healthy.Load() {
			w.WriteHeader(http.StatusInternalServerError)
		}
	}))
	defer receiver.Close()

	addr := freeAddr(t)
	documents := filepath.Join(t.TempDir(), "documents")
	secret := newSecret()
	args := []string{"serve",
		"--set", "server.addr=" + addr,
		"--set", "server.shutdown_timeout=2s",
		"--set", "storage.local.dir=" + documents,
		"--set", "templates.dir=" + t.TempDir(),
		"--set", "auth.anonymous_signing_secret=" + secret,
		"--set", "transport.kind=postgres",
		"--set", "transport.postgres.dsn=" + dsn,
		"--set", "jobs.store=postgres",
		"--set", "outbound.allow=127.0.0.0/8",
		"--set", "webhook.initial_backoff=3s",
		"--set", "webhook.max_backoff=3s",
		"--set", "webhook.poll_interval=100ms",
	}
	first := startProcess(t, "first", args...)
	url := "http://" + addr
	waitReady(t, url+"/readyz", first)

	f := &fleet{url: url}
	status, answer := f.post(t, "/v1/render/pdf/async", map[string]any{
		"page":   map[string]any{"setContent": map[string]any{"html": b64("<h1>Survives a restart</h1>")}},
		"doppio": map[string]any{"webhook": map[string]any{"url": receiver.URL, "method": "POST"}},
	})
	var ack struct{ JobID string }
	if status != http.StatusOK || json.Unmarshal(answer, &ack) != nil {
		t.Fatalf("async answered %d: %s", status, answer)
	}
	deadline := time.Now().Add(30 * time.Second)
	for calls.Load() < 1 {
		if time.Now().After(deadline) {
			t.Fatal("the first attempt never came")
		}
		time.Sleep(20 * time.Millisecond)
	}

	// The retry is due in up to 3 s; the process stops before that.
	first.signal(syscall.SIGTERM)
	select {
	case <-first.exited:
	case <-time.After(20 * time.Second):
		t.Fatal("the first process did not stop")
	}
	attemptsBefore := calls.Load()
	healthy.Store(true)

	second := startProcess(t, "second", args...)
	waitReady(t, url+"/readyz", second)
	for calls.Load() == attemptsBefore {
		if time.Now().After(deadline.Add(30 * time.Second)) {
			t.Fatal("the new process never retried the pending webhook")
		}
		time.Sleep(50 * time.Millisecond)
	}
	resp, err := http.Get(url + "/v1/jobs/" + ack.JobID)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var job struct {
		State    string `json:"state"`
		Attempts []struct {
			StatusCode int `json:"statusCode"`
		} `json:"attempts"`
	}
	json.NewDecoder(resp.Body).Decode(&job)
	for i := 0; job.State != "delivered" && i < 50; i++ {
		time.Sleep(100 * time.Millisecond)
		resp, err := http.Get(url + "/v1/jobs/" + ack.JobID)
		if err != nil {
			t.Fatal(err)
		}
		json.NewDecoder(resp.Body).Decode(&job)
		resp.Body.Close()
	}
	if job.State != "delivered" || len(job.Attempts) < 2 || job.Attempts[0].StatusCode != 500 {
		t.Errorf("job after the restart: %+v", job)
	}
}
