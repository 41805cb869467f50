package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/presso-dev/presso/engine"
)

// deliverySettings makes retries quick enough for tests.
var deliverySettings = map[string]any{
	"webhook.initial_backoff": "100ms",
	"webhook.max_backoff":     "2s",
	"webhook.max_attempts":    5,
	"webhook.poll_interval":   "20ms",
	"webhook.timeout":         "2s",
}

// forEachJobStore runs test on the memory job store and on the PostgreSQL
// one, whose tables get a prefix of their own.
func forEachJobStore(t *testing.T, test func(t *testing.T, store map[string]any)) {
	t.Run("memory", func(t *testing.T) { test(t, map[string]any{"jobs.store": "memory"}) })
	t.Run("postgres", func(t *testing.T) {
		dsn := os.Getenv("PRESSO_TEST_POSTGRES_DSN")
		if dsn == "" {
			if os.Getenv("CI") != "" {
				t.Fatal("PRESSO_TEST_POSTGRES_DSN is not set: run make test, which starts PostgreSQL")
			}
			t.Skip("PRESSO_TEST_POSTGRES_DSN is not set: run make test, which starts PostgreSQL")
		}
		prefix := fmt.Sprintf("presso_e2e_%d_", time.Now().UnixNano()%1_000_000_000)
		// Registered first, so it runs after the service's own cleanup.
		t.Cleanup(func() { dropTables(t, dsn, prefix) })
		test(t, map[string]any{"jobs.store": "postgres", "jobs.postgres.dsn": dsn, "jobs.postgres.table_prefix": prefix})
	})
}

func withSettings(base map[string]any, extra map[string]any) map[string]any {
	merged := map[string]any{}
	for k, v := range base {
		merged[k] = v
	}
	for k, v := range extra {
		merged[k] = v
	}
	return merged
}

// submitAsync queues a tiny PDF whose webhook goes to url and returns the ack.
func (s *testService) submitAsync(t *testing.T, url string, text string) (requestID, jobID string) {
	t.Helper()
	status, answer, _ := s.call(t, "/v1/render/pdf/async", map[string]any{
		"page":   map[string]any{"setContent": map[string]any{"html": b64("<p>" + text + "</p>")}},
		"doppio": map[string]any{"webhook": map[string]any{"url": url, "method": "POST"}},
	})
	if status != http.StatusOK {
		t.Fatalf("async answered %d: %s", status, answer)
	}
	var ack struct{ RequestID, JobID string }
	if err := json.Unmarshal(answer, &ack); err != nil {
		t.Fatal(err)
	}
	return ack.RequestID, ack.JobID
}

func (s *testService) job(t *testing.T, jobID, key string) (int, engine.JobRecord) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, s.url+"/v1/jobs/"+jobID, nil)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var rec engine.JobRecord
	if resp.StatusCode == http.StatusOK {
		if err := json.NewDecoder(resp.Body).Decode(&rec); err != nil {
			t.Fatal(err)
		}
	}
	return resp.StatusCode, rec
}

// waitForState polls the job API until the job reaches state.
func (s *testService) waitForState(t *testing.T, jobID string, state engine.JobState) engine.JobRecord {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, rec := s.job(t, jobID, testKey)
		if rec.State == state {
			return rec
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s is %q, want %q; attempts %+v", jobID, rec.State, state, rec.Attempts)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestWebhookRetriesWithGrowingPauses(t *testing.T) {
	forEachJobStore(t, testWebhookRetriesWithGrowingPauses)
}

func testWebhookRetriesWithGrowingPauses(t *testing.T, store map[string]any) {
	svc := startService(t, withSettings(deliverySettings, store))
	const jobs = 12
	receivers := make([]*receiver, jobs)
	jobIDs := make([]string, jobs)
	for i := range jobs {
		receivers[i] = newReceiver(t, 500, 500, 500)
		_, jobIDs[i] = svc.submitAsync(t, receivers[i].URL, fmt.Sprint("retry ", i))
	}

	var gaps [3]time.Duration
	for i, r := range receivers {
		calls := r.wait(t, 4)
		for n := 1; n < 4; n++ {
			if string(calls[n].body) != string(calls[0].body) {
				t.Fatalf("attempt %d sent another body", n+1)
			}
			gap := calls[n].at.Sub(calls[n-1].at)
			ceiling := min(100*time.Millisecond<<(n-1), 2*time.Second)
			if gap > ceiling+1500*time.Millisecond { // generous: a loaded machine delays timers and answers
				t.Errorf("pause before attempt %d was %s, above its ceiling %s", n+1, gap, ceiling)
			}
			gaps[n-1] += gap
		}
		rec := svc.waitForState(t, jobIDs[i], engine.StateDelivered)
		if len(rec.Attempts) != 4 {
			t.Fatalf("history has %d attempts, want 4: %+v", len(rec.Attempts), rec.Attempts)
		}
		for n, want := range []int{500, 500, 500, 200} {
			if rec.Attempts[n].StatusCode != want {
				t.Errorf("attempt %d status %d, want %d", n+1, rec.Attempts[n].StatusCode, want)
			}
		}
		if rec.DeliveredAt == nil || rec.RenderStatus != engine.StatusSuccess || rec.DocumentURL == "" {
			t.Errorf("delivered job record incomplete: %+v", rec)
		}
	}
	t.Logf("mean pauses: %s, %s, %s", gaps[0]/jobs, gaps[1]/jobs, gaps[2]/jobs)
	if gaps[2] <= gaps[0] {
		t.Errorf("pauses did not grow: mean first %s, mean third %s", gaps[0]/jobs, gaps[2]/jobs)
	}
}

func TestWebhookTimeoutGoneAndLateReceiver(t *testing.T) {
	forEachJobStore(t, testWebhookTimeoutGoneAndLateReceiver)
}

func testWebhookTimeoutGoneAndLateReceiver(t *testing.T, store map[string]any) {
	svc := startService(t, withSettings(withSettings(deliverySettings, store), map[string]any{"webhook.timeout": "300ms"}))

	t.Run("slow receiver is retried", func(t *testing.T) {
		var calls atomic.Int32
		slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if calls.Add(1) == 1 {
				time.Sleep(time.Second)
			}
		}))
		defer slow.Close()
		_, jobID := svc.submitAsync(t, slow.URL, "slow")
		rec := svc.waitForState(t, jobID, engine.StateDelivered)
		if len(rec.Attempts) != 2 || !strings.Contains(rec.Attempts[0].Error, "timed out") || rec.Attempts[1].StatusCode != 200 {
			t.Errorf("attempts %+v: want a timeout, then 200", rec.Attempts)
		}
	})

	t.Run("410 stops at once", func(t *testing.T) {
		gone := newReceiver(t, http.StatusGone, http.StatusGone)
		_, jobID := svc.submitAsync(t, gone.URL, "gone")
		rec := svc.waitForState(t, jobID, engine.StateFailed)
		time.Sleep(300 * time.Millisecond)
		if n := gone.count(); n != 1 {
			t.Errorf("receiver answering 410 got %d calls, want 1", n)
		}
		if rec.Error == nil || !strings.Contains(rec.Error.Message, "410") {
			t.Errorf("job error %+v should name the 410", rec.Error)
		}
	})

	t.Run("receiver that comes up later", func(t *testing.T) {
		listener, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := listener.Addr().String()
		listener.Close()

		_, jobID := svc.submitAsync(t, "http://"+addr+"/hook", "late")
		deadline := time.Now().Add(20 * time.Second)
		for {
			_, rec := svc.job(t, jobID, testKey)
			if len(rec.Attempts) >= 2 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("no failed attempts recorded while the receiver was down: %+v", rec)
			}
			time.Sleep(20 * time.Millisecond)
		}
		late := newUnstartedReceiver(t)
		late.Listener.Close()
		listener, err = net.Listen("tcp", addr)
		if err != nil {
			t.Fatalf("port %s was taken meanwhile: %v", addr, err)
		}
		late.Listener = listener
		late.Start()
		rec := svc.waitForState(t, jobID, engine.StateDelivered)
		if late.count() != 1 || rec.Attempts[0].Error == "" {
			t.Errorf("late receiver got %d calls; attempts %+v", late.count(), rec.Attempts)
		}
	})
}

func TestHangingReceiverDoesNotDelayOthers(t *testing.T) {
	forEachJobStore(t, testHangingReceiverDoesNotDelayOthers)
}

func testHangingReceiverDoesNotDelayOthers(t *testing.T, store map[string]any) {
	svc := startService(t, withSettings(withSettings(deliverySettings, store), map[string]any{"webhook.timeout": "120s", "renderer.chromium.max_pages": 2}))
	release := make(chan struct{})
	var entered, finished atomic.Int32
	var mu sync.Mutex
	inFlight, mostInFlight := 0, 0
	hanging := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		entered.Add(1)
		mu.Lock()
		inFlight++
		mostInFlight = max(mostInFlight, inFlight)
		mu.Unlock()
		select {
		case <-release:
		case <-r.Context().Done():
		}
		mu.Lock()
		inFlight--
		mu.Unlock()
		finished.Add(1)
	}))
	var once sync.Once
	stop := func() { once.Do(func() { close(release); hanging.Close() }) }
	defer stop()

	for i := range 50 {
		svc.submitAsync(t, hanging.URL, fmt.Sprint("hang ", i))
	}
	fast := newReceiver(t)
	_, jobID := svc.submitAsync(t, fast.URL, "fast")
	fast.wait(t, 1)
	if n := finished.Load(); n != 0 {
		t.Errorf("%d calls to the hanging receiver ended before the fast receiver was called", n)
	}
	mu.Lock()
	most := mostInFlight
	mu.Unlock()
	if most > 8 || entered.Load() == 0 {
		t.Errorf("the hanging receiver held up to %d calls at once (%d in all), want 1 to webhook.per_host 8", most, entered.Load())
	}
	svc.waitForState(t, jobID, engine.StateDelivered)
	stop()
}

func TestJobsAPIIdempotencyAndRedelivery(t *testing.T) {
	forEachJobStore(t, testJobsAPIIdempotencyAndRedelivery)
}

func testJobsAPIIdempotencyAndRedelivery(t *testing.T, store map[string]any) {
	otherKey := "other-test-key"
	svc := startService(t, withSettings(withSettings(deliverySettings, store), map[string]any{
		"auth.keys": []any{
			map[string]any{"name": testKeyName, "key": testKey, "signing_secret": "whsec_" + b64("0123456789abcdef0123456789abcdef")},
			map[string]any{"name": "other", "key": otherKey, "signing_secret": newSecret()},
		},
	}))
	svc.secret = "whsec_" + b64("0123456789abcdef0123456789abcdef")
	hook := newReceiver(t)
	body := map[string]any{
		"page":   map[string]any{"setContent": map[string]any{"html": b64("<p>idempotent</p>")}},
		"doppio": map[string]any{"webhook": map[string]any{"url": hook.URL, "method": "POST"}},
	}
	post := func(key string, body any) (int, []byte, http.Header) {
		data, _ := json.Marshal(body)
		req, _ := http.NewRequest(http.MethodPost, svc.url+"/v1/render/pdf/async", strings.NewReader(string(data)))
		req.Header.Set("Authorization", "Bearer "+testKey)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		answer, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, answer, resp.Header
	}

	status, first, _ := post("invoice-42", body)
	if status != http.StatusOK {
		t.Fatalf("first request answered %d: %s", status, first)
	}
	status, repeat, header := post("invoice-42", body)
	if status != http.StatusOK || string(repeat) != string(first) || header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("repeat answered %d %s (replayed %q); want the first answer %s", status, repeat, header.Get("Idempotent-Replayed"), first)
	}
	changed := withSettings(body, map[string]any{"page": map[string]any{"setContent": map[string]any{"html": b64("<p>other</p>")}}})
	if status, answer, _ := post("invoice-42", changed); status != http.StatusConflict {
		t.Errorf("same key with another body answered %d: %s; want 409", status, answer)
	}

	var ack struct{ RequestID, JobID string }
	if err := json.Unmarshal(first, &ack); err != nil {
		t.Fatal(err)
	}
	call := hook.wait(t, 1)[0]
	svc.waitForState(t, ack.JobID, engine.StateDelivered)
	time.Sleep(200 * time.Millisecond)
	if n := hook.count(); n != 1 {
		t.Fatalf("the idempotent repeat rendered again: receiver got %d calls", n)
	}

	if status, _ := svc.job(t, ack.JobID, otherKey); status != http.StatusNotFound {
		t.Errorf("another key reading the job got %d, want 404", status)
	}
	if status, _ := svc.job(t, "00000000-0000-0000-0000-000000000000", testKey); status != http.StatusNotFound {
		t.Errorf("an unknown job answered %d, want 404", status)
	}

	req, _ := http.NewRequest(http.MethodPost, svc.url+"/v1/jobs/"+ack.JobID+"/redeliver", nil)
	req.Header.Set("Authorization", "Bearer "+otherKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("another key redelivering got %d, want 404", resp.StatusCode)
	}
	req, _ = http.NewRequest(http.MethodPost, svc.url+"/v1/jobs/"+ack.JobID+"/redeliver", nil)
	req.Header.Set("Authorization", "Bearer "+testKey)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("redeliver answered %d", resp.StatusCode)
	}
	again := hook.wait(t, 2)[1]
	if string(again.body) != string(call.body) || again.header.Get("webhook-id") != ack.JobID {
		t.Errorf("redelivery sent %s (webhook-id %q), want the original payload", again.body, again.header.Get("webhook-id"))
	}
	if again.header.Get("x-doppio-payload-signature") != doppioSignature(svc.secret, again.body) {
		t.Error("redelivered call does not verify")
	}
	rec := svc.waitForState(t, ack.JobID, engine.StateDelivered)
	if len(rec.Attempts) != 2 {
		t.Errorf("history has %d attempts after a redelivery, want 2", len(rec.Attempts))
	}
}

func TestDeliveryFailsAfterLastAttempt(t *testing.T) {
	forEachJobStore(t, testDeliveryFailsAfterLastAttempt)
}

func testDeliveryFailsAfterLastAttempt(t *testing.T, store map[string]any) {
	svc := startService(t, withSettings(withSettings(deliverySettings, store), map[string]any{"webhook.max_attempts": 3, "webhook.max_backoff": "100ms"}))
	broken := newReceiver(t, 500, 500, 500, 500, 500)
	_, jobID := svc.submitAsync(t, broken.URL, "broken")
	rec := svc.waitForState(t, jobID, engine.StateFailed)
	time.Sleep(300 * time.Millisecond)
	if n := broken.count(); n != 3 {
		t.Errorf("receiver got %d calls, want webhook.max_attempts 3", n)
	}
	if rec.Error == nil || rec.Error.Code != engine.CodeDeliveryFailed || !strings.Contains(rec.Error.Message, "after 3 attempts") {
		t.Errorf("job error %+v", rec.Error)
	}
	if rec.RenderStatus != engine.StatusSuccess {
		t.Errorf("render status %q: the render itself succeeded", rec.RenderStatus)
	}
}

func dropTables(t *testing.T, dsn, prefix string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Errorf("connect to drop test tables: %v", err)
		return
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, fmt.Sprintf("DROP TABLE IF EXISTS %sjobs, %sidempotency", prefix, prefix)); err != nil {
		t.Errorf("drop test tables: %v", err)
	}
}
