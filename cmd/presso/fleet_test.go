package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
)

// fleet is one API process and several worker processes of the real
// binary, sharing a transport, a PostgreSQL job store and a document folder.
type fleet struct {
	url     string
	api     *process
	workers []*process
}

func startFleet(t *testing.T, transport map[string]string, workers int) *fleet {
	t.Helper()
	requireTools(t)
	dsn := testDatabase(t)
	addr := freeAddr(t)
	config := map[string]string{
		"server.addr":                   addr,
		"server.public_url":             "http://" + addr,
		"server.shutdown_timeout":       "20s",
		"storage.local.dir":             filepath.Join(t.TempDir(), "documents"),
		"auth.anonymous_signing_secret": newSecret(),
		"jobs.store":                    "postgres",
		"jobs.postgres.dsn":             dsn,
		"transport.postgres.dsn":        dsn,
		"renderer.chromium.max_pages":   "2",
		// Direct and sync jobs queue behind the async ones, which the
		// surviving worker renders alone after the kill.
		"renderer.timeout":          "60s",
		"webhook.initial_backoff":   "100ms",
		"webhook.max_backoff":       "1s",
		"webhook.poll_interval":     "50ms",
		"limits.max_queued":         "0",
		"limits.max_queued_per_key": "0",
		"log.level":                 "info",
		"outbound.allow":            "127.0.0.0/8",
	}
	for k, v := range transport {
		config[k] = v
	}
	args := func(role string, extra ...string) []string {
		list := []string{"serve", "--role", role}
		for k, v := range config {
			list = append(list, "--set", k+"="+v)
		}
		return append(list, extra...)
	}

	f := &fleet{url: "http://" + addr}
	var health []string
	for i := range workers {
		healthAddr := freeAddr(t)
		w := startProcess(t, fmt.Sprintf("worker-%d", i+1), args("worker", "--set", "worker.addr="+healthAddr)...)
		f.workers = append(f.workers, w)
		health = append(health, "http://"+healthAddr)
	}
	f.api = startProcess(t, "api", args("api")...)
	waitReady(t, f.url+"/readyz", f.api)
	for i, url := range health {
		waitReady(t, url+"/readyz", f.workers[i])
	}
	return f
}

func (f *fleet) post(t *testing.T, route string, body any) (int, []byte) {
	t.Helper()
	data, _ := json.Marshal(body)
	resp, err := http.Post(f.url+route, "application/json", bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, answer
}

// countingReceiver counts the webhook calls it accepts, per job
// (webhook-id). While paused it answers 503, and those calls are not
// counted: they are failed attempts that the worker repeats.
type countingReceiver struct {
	*httptest.Server
	mu       sync.Mutex
	calls    map[string]int
	payloads map[string]payload
	total    int
	paused   bool
	// accepting counts calls that will be answered 200 but are not yet.
	accepting int
}

func newCountingReceiver(t *testing.T) *countingReceiver {
	r := &countingReceiver{calls: map[string]int{}, payloads: map[string]payload{}}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		if r.paused {
			r.mu.Unlock()
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		var p payload
		json.Unmarshal(body, &p)
		r.calls[req.Header.Get("webhook-id")]++
		r.payloads[req.Header.Get("webhook-id")] = p
		r.total++
		r.accepting++
		r.mu.Unlock()
		w.WriteHeader(http.StatusOK)
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
		r.mu.Lock()
		r.accepting--
		r.mu.Unlock()
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *countingReceiver) distinct() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.calls)
}

func (r *countingReceiver) setPaused(paused bool) {
	r.mu.Lock()
	r.paused = paused
	r.mu.Unlock()
}

func TestFleetSurvivesKilledWorker(t *testing.T) {
	t.Run("postgres", func(t *testing.T) {
		testFleetSurvivesKilledWorker(t, map[string]string{"transport.kind": "postgres", "transport.postgres.consumers": "2"})
	})
	t.Run("kafka", func(t *testing.T) {
		cluster, err := kfake.NewCluster(kfake.NumBrokers(1))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(cluster.Close)
		testFleetSurvivesKilledWorker(t, map[string]string{
			"transport.kind":             "kafka",
			"transport.kafka.brokers":    strings.Join(cluster.ListenAddrs(), ","),
			"transport.kafka.partitions": "6",
		})
	})
}

func testFleetSurvivesKilledWorker(t *testing.T, transport map[string]string) {
	f := startFleet(t, transport, 2)
	hook := newCountingReceiver(t)
	const jobs = 200

	var submitted sync.WaitGroup
	jobIDs := make([]string, jobs)
	errs := make(chan string, jobs)
	for i := range jobs {
		submitted.Add(1)
		go func() {
			defer submitted.Done()
			status, answer := f.post(t, "/v1/render/pdf/async", map[string]any{
				"page":   map[string]any{"setContent": map[string]any{"html": b64(fmt.Sprintf("<h1>Fleet job %03d</h1>", i))}},
				"doppio": map[string]any{"webhook": map[string]any{"url": hook.URL, "method": "POST"}},
			})
			var ack struct{ JobID string }
			if status != http.StatusOK || json.Unmarshal(answer, &ack) != nil {
				errs <- fmt.Sprintf("job %d answered %d: %s", i, status, answer)
				return
			}
			jobIDs[i] = ack.JobID
		}()
	}
	submitted.Wait()
	close(errs)
	for e := range errs {
		t.Fatal(e)
	}

	deadline := time.Now().Add(6 * time.Minute)
	for hook.distinct() < jobs/2 {
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d webhooks arrived before the kill", hook.distinct(), jobs)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// A worker killed between the receiver's 200 and the record of that
	// success repeats the call once its lease ends: webhooks are at least
	// once, and receivers deduplicate on webhook-id. The kill happens
	// while the receiver answers 503, after the last accepted call was
	// answered, so that every duplicate the test sees would come from the
	// pipeline itself: a render or a delivery handled twice.
	hook.setPaused(true)
	time.Sleep(500 * time.Millisecond)
	f.workers[0].kill()
	hook.setPaused(false)
	status, answer := f.post(t, "/v1/render/pdf/sync", map[string]any{
		"page": map[string]any{"setContent": map[string]any{"html": b64("<h1>During the kill</h1>")}},
	})
	var during payload
	if err := json.Unmarshal(answer, &during); status != http.StatusOK || err != nil || during.RenderStatus != "SUCCESS" {
		t.Errorf("sync request during the kill answered %d: %s", status, answer)
	} else if _, pdf, _ := download(t, during.DocumentURL); !strings.Contains(pdfText(t, pdf), "During the kill") {
		t.Error("the document of the sync request during the kill lacks its text")
	}

	for hook.distinct() < jobs {
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d webhooks arrived after the kill", hook.distinct(), jobs)
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(2 * time.Second) // a duplicate would arrive now
	hook.mu.Lock()
	defer hook.mu.Unlock()
	for i, id := range jobIDs {
		if n := hook.calls[id]; n != 1 {
			t.Errorf("job %d (%s) got %d webhook calls, want exactly 1", i, id, n)
		}
		p := hook.payloads[id]
		if p.RenderStatus != "SUCCESS" {
			t.Errorf("job %d: %+v", i, p)
			continue
		}
		code, pdf, _ := download(t, p.DocumentURL)
		if code != http.StatusOK || !bytes.HasPrefix(pdf, []byte("%PDF-")) || !bytes.Contains(pdf[max(0, len(pdf)-1024):], []byte("%%EOF")) {
			t.Errorf("job %d: document %s answered %d and is not a whole PDF", i, p.DocumentURL, code)
		}
	}
	if hook.total != jobs {
		t.Errorf("receiver got %d calls for %d jobs", hook.total, jobs)
	}
	for _, i := range []int{0, jobs / 2, jobs - 1} {
		_, pdf, _ := download(t, hook.payloads[jobIDs[i]].DocumentURL)
		if want := fmt.Sprintf("Fleet job %03d", i); !strings.Contains(pdfText(t, pdf), want) {
			t.Errorf("document of job %d lacks %q", i, want)
		}
	}
}

func TestSIGTERMDrainsInFlightJob(t *testing.T) {
	requireTools(t)
	addr := freeAddr(t)
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(1500 * time.Millisecond)
		fmt.Fprint(w, "<h1>Slow page</h1>")
	}))
	defer slow.Close()
	hook := newReceiver(t)
	p := startProcess(t, "presso", "serve",
		"--set", "server.addr="+addr,
		"--set", "storage.local.dir="+filepath.Join(t.TempDir(), "documents"),
		"--set", "auth.anonymous_signing_secret="+newSecret(),
		"--set", "outbound.allow="+strings.TrimPrefix(slow.URL, "http://")+","+strings.TrimPrefix(hook.URL, "http://"))
	url := "http://" + addr
	waitReady(t, url+"/readyz", p)

	body, _ := json.Marshal(map[string]any{
		"page":   map[string]any{"goto": map[string]any{"url": slow.URL}},
		"doppio": map[string]any{"webhook": map[string]any{"url": hook.URL, "method": "POST"}},
	})
	resp, err := http.Post(url+"/v1/render/pdf/async", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("async answered %d", resp.StatusCode)
	}
	time.Sleep(300 * time.Millisecond)
	p.signal(syscall.SIGTERM)
	time.Sleep(300 * time.Millisecond)

	resp, err = http.Post(url+"/v1/render/pdf/async", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatalf("a request while draining was not answered: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Errorf("a request while draining answered %d (Retry-After %q), want 503 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}

	call := hook.wait(t, 1)[0]
	var delivered payload
	json.Unmarshal(call.body, &delivered)
	if delivered.RenderStatus != "SUCCESS" {
		t.Errorf("the in-flight job ended %s", call.body)
	}
	select {
	case <-p.exited:
		if p.err != nil {
			t.Errorf("presso exited with %v after SIGTERM", p.err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("presso did not exit after draining")
	}
}
