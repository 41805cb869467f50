// Package jobstoretest is the conformance suite of engine.JobStore: every
// implementation runs it, so that the memory and postgres stores, and any
// later one, keep the contract written in the JobStore doc comments and
// behave alike where the contract is silent.
package jobstoretest

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/presso-dev/presso/engine"
)

// Run runs the conformance tests as parallel subtests of t. newStore must
// return a new, empty store on each call and close it when the calling test
// ends, with t.Cleanup.
func Run(t *testing.T, newStore func(t *testing.T) engine.JobStore) {
	tests := []struct {
		name string
		run  func(t *testing.T, store engine.JobStore)
	}{
		{"create and get", testCreateAndGet},
		{"get returns a copy", testGetReturnsCopy},
		{"unknown job", testUnknownJob},
		{"set state", testSetState},
		{"set result", testSetResult},
		{"schedule delivery", testScheduleDelivery},
		{"schedule replaces pending delivery", testScheduleReplaces},
		{"schedule releases the lease", testScheduleReleasesLease},
		{"claim skips deliveries not due", testClaimNotDue},
		{"claim leases until the lease passes", testClaimLease},
		{"claim respects the limit", testClaimLimit},
		{"claim returns copies", testClaimReturnsCopies},
		{"concurrent claimers", testConcurrentClaims},
		{"record attempts in order", testRecordAttempt},
		{"record attempts concurrently", testRecordAttemptConcurrently},
		{"finish delivered", testFinishDelivered},
		{"finish failed", testFinishFailed},
		{"finish failed keeps render error", testFinishFailedKeepsRenderError},
		{"redeliver after finish", testRedeliver},
		{"pending delivery of job without one", testPendingDeliveryMissing},
		{"idempotency begin complete forget", testIdempotency},
		{"idempotency slots per key", testIdempotencySlotsPerKey},
		{"idempotency answers are copies", testIdempotencyCopies},
		{"concurrent begin idempotent", testConcurrentBeginIdempotent},
		{"delete before", testDeleteBefore},
		{"count queued", testCountQueued},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.run(t, newStore(t))
		})
	}
}

// clockSlack widens the windows in which the suite expects the timestamps
// that a store takes from its own clock, for stores whose clock is a
// database server's on the same machine.
const clockSlack = time.Second

// lease is the lease of the claim tests.
const lease = 30 * time.Second

// baseTime returns the present truncated to the millisecond, which every
// store keeps exactly (PostgreSQL keeps microseconds).
func baseTime() time.Time { return time.Now().UTC().Truncate(time.Millisecond) }

func newJobID() string { return "job-" + strings.ToLower(rand.Text()) }

// createJob creates a job of mode, created at createdAt.
func createJob(t *testing.T, store engine.JobStore, mode engine.Mode, createdAt time.Time) *engine.JobRecord {
	t.Helper()
	id := newJobID()
	rec := &engine.JobRecord{
		JobID:     id,
		RequestID: "doppioreq_" + id,
		Key:       "billing",
		Mode:      mode,
		Kind:      engine.KindPDF,
		CreatedAt: createdAt,
	}
	if err := store.Create(t.Context(), rec); err != nil {
		t.Fatalf("Create(%s): %v", id, err)
	}
	return rec
}

func newDelivery(jobID string) *engine.Delivery {
	return &engine.Delivery{
		JobID:     jobID,
		RequestID: "doppioreq_" + jobID,
		Key:       "billing",
		Webhook: engine.Webhook{
			URL:     "http://127.0.0.1:9/hooks/presso",
			Method:  "POST",
			Headers: map[string]string{"Authorization": "Bearer receiver-token"},
		},
		Payload: engine.Payload{
			DoppioRequestID: "doppioreq_" + jobID,
			RenderStatus:    engine.StatusSuccess,
			DocumentURL:     "http://127.0.0.1:8080/v1/documents/" + jobID + ".pdf",
			IsAsync:         true,
		},
	}
}

// copyDelivery returns a copy of d that shares no map or pointer with it.
func copyDelivery(d *engine.Delivery) *engine.Delivery {
	copied := *d
	copied.Webhook.Headers = maps.Clone(d.Webhook.Headers)
	if d.Payload.Error != nil {
		jobError := *d.Payload.Error
		copied.Payload.Error = &jobError
	}
	return &copied
}

// scheduleJob creates an async job and schedules its delivery at due.
func scheduleJob(t *testing.T, store engine.JobStore, due time.Time) *engine.Delivery {
	t.Helper()
	rec := createJob(t, store, engine.ModeAsync, due)
	d := newDelivery(rec.JobID)
	if err := store.ScheduleDelivery(t.Context(), d, due); err != nil {
		t.Fatalf("ScheduleDelivery(%s): %v", rec.JobID, err)
	}
	return d
}

func get(t *testing.T, store engine.JobStore, jobID string) *engine.JobRecord {
	t.Helper()
	rec, err := store.Get(t.Context(), jobID)
	if err != nil {
		t.Fatalf("Get(%s): %v", jobID, err)
	}
	return rec
}

func claim(t *testing.T, store engine.JobStore, now time.Time, limit int) []*engine.Delivery {
	t.Helper()
	claimed, err := store.ClaimDeliveries(t.Context(), now, lease, limit)
	if err != nil {
		t.Fatalf("ClaimDeliveries(%s, %s, %d): %v", now.Format(time.RFC3339Nano), lease, limit, err)
	}
	return claimed
}

func pendingDelivery(t *testing.T, store engine.JobStore, jobID string) *engine.Delivery {
	t.Helper()
	d, err := store.PendingDelivery(t.Context(), jobID)
	if err != nil {
		t.Fatalf("PendingDelivery(%s): %v", jobID, err)
	}
	return d
}

func jobIDs(deliveries []*engine.Delivery) []string {
	ids := make([]string, 0, len(deliveries))
	for _, d := range deliveries {
		ids = append(ids, d.JobID)
	}
	slices.Sort(ids)
	return ids
}

func assertDelivery(t *testing.T, what string, got, want *engine.Delivery) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s = %+v, want %+v", what, got, want)
	}
}

func assertState(t *testing.T, rec *engine.JobRecord, want engine.JobState) {
	t.Helper()
	if rec.State != want {
		t.Errorf("job %s state = %q, want %q", rec.JobID, rec.State, want)
	}
}

// assertWithin checks that the store's timestamp got lies between before
// and after, widened by clockSlack.
func assertWithin(t *testing.T, what string, got *time.Time, before, after time.Time) {
	t.Helper()
	switch {
	case got == nil:
		t.Errorf("%s is nil, want a time between %s and %s", what, before.Format(time.RFC3339Nano), after.Format(time.RFC3339Nano))
	case got.Before(before.Add(-clockSlack)) || got.After(after.Add(clockSlack)):
		t.Errorf("%s = %s, want between %s and %s", what, got.Format(time.RFC3339Nano), before.Format(time.RFC3339Nano), after.Format(time.RFC3339Nano))
	}
}

func assertTime(t *testing.T, what string, got *time.Time, want time.Time) {
	t.Helper()
	if got == nil || !got.Equal(want) {
		t.Errorf("%s = %v, want %s", what, got, want.Format(time.RFC3339Nano))
	}
}

// describeError formats e with its code; *JobError formats as its message
// only, because it implements error.
func describeError(e *engine.JobError) string {
	if e == nil {
		return "nil"
	}
	return e.Code + ": " + e.Message
}

func assertNotFound(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, engine.ErrJobNotFound) {
		t.Errorf("%s: error = %v, want ErrJobNotFound", what, err)
	}
}

func testCreateAndGet(t *testing.T, store engine.JobStore) {
	createdAt := baseTime().Add(-time.Minute)
	rec := &engine.JobRecord{
		JobID:     newJobID(),
		RequestID: "doppioreq_0b9cd1de",
		Key:       "billing",
		Mode:      engine.ModeSync,
		Kind:      engine.KindScreenshot,
		State:     engine.StateDelivered,
		CreatedAt: createdAt,
	}
	if err := store.Create(t.Context(), rec); err != nil {
		t.Fatalf("Create: %v", err)
	}
	rec.Key = "changed after Create"

	got := get(t, store, rec.JobID)
	if got.JobID != rec.JobID || got.RequestID != "doppioreq_0b9cd1de" {
		t.Errorf("ids = %q, %q, want %q, %q", got.JobID, got.RequestID, rec.JobID, "doppioreq_0b9cd1de")
	}
	if got.Key != "billing" {
		t.Errorf("Key = %q, want %q: the store must copy the record given to Create", got.Key, "billing")
	}
	if got.Mode != engine.ModeSync || got.Kind != engine.KindScreenshot {
		t.Errorf("Mode, Kind = %q, %q, want %q, %q", got.Mode, got.Kind, engine.ModeSync, engine.KindScreenshot)
	}
	assertState(t, got, engine.StateQueued)
	if !got.CreatedAt.Equal(createdAt) {
		t.Errorf("CreatedAt = %s, want %s", got.CreatedAt, createdAt)
	}
	if !got.UpdatedAt.Equal(createdAt) {
		t.Errorf("UpdatedAt = %s, want CreatedAt %s", got.UpdatedAt, createdAt)
	}
	if got.RenderStatus != "" || got.Error != nil || got.DocumentURL != "" || got.IsCustomBucket {
		t.Errorf("new job has a render outcome: status %q, error %v, documentUrl %q, isCustomBucket %v",
			got.RenderStatus, got.Error, got.DocumentURL, got.IsCustomBucket)
	}
	if got.RenderedAt != nil || got.DeliveredAt != nil || got.NextAttemptAt != nil {
		t.Errorf("new job has timestamps: renderedAt %v, deliveredAt %v, nextAttemptAt %v", got.RenderedAt, got.DeliveredAt, got.NextAttemptAt)
	}

	encoded, err := json.Marshal(got)
	if err != nil {
		t.Fatalf("encode record: %v", err)
	}
	if !strings.Contains(string(encoded), `"attempts":[]`) {
		t.Errorf("record encodes as %s, want \"attempts\":[] for a job without attempts", encoded)
	}
}

func testGetReturnsCopy(t *testing.T, store engine.JobStore) {
	base := baseTime()
	rec := createJob(t, store, engine.ModeAsync, base)
	result := &engine.Result{
		JobID: rec.JobID, RequestID: rec.RequestID, Status: engine.StatusError,
		Error: engine.Errorf("navigation_failed", "navigation to http://127.0.0.1:9/ failed"),
	}
	if err := store.SetResult(t.Context(), rec.JobID, result); err != nil {
		t.Fatalf("SetResult: %v", err)
	}
	due := base.Add(time.Minute)
	if err := store.ScheduleDelivery(t.Context(), newDelivery(rec.JobID), due); err != nil {
		t.Fatalf("ScheduleDelivery: %v", err)
	}
	if err := store.RecordAttempt(t.Context(), rec.JobID, engine.Attempt{At: base, StatusCode: 500, DurationMs: 3}); err != nil {
		t.Fatalf("RecordAttempt: %v", err)
	}

	first := get(t, store, rec.JobID)
	first.State = engine.StateStored
	first.Error.Message = "changed"
	first.Attempts[0].StatusCode = 299
	*first.NextAttemptAt = time.Time{}
	*first.RenderedAt = time.Time{}

	second := get(t, store, rec.JobID)
	assertState(t, second, engine.StateNotifying)
	if second.Error == nil || second.Error.Message != "navigation to http://127.0.0.1:9/ failed" {
		t.Errorf("Error = %s, want the stored render error", describeError(second.Error))
	}
	if len(second.Attempts) != 1 || second.Attempts[0].StatusCode != 500 {
		t.Errorf("Attempts = %+v, want one attempt with status 500", second.Attempts)
	}
	assertTime(t, "NextAttemptAt", second.NextAttemptAt, due)
	if second.RenderedAt == nil || second.RenderedAt.IsZero() {
		t.Errorf("RenderedAt = %v, want the stored render time", second.RenderedAt)
	}
}

func testUnknownJob(t *testing.T, store engine.JobStore) {
	ctx := t.Context()
	const id = "job-never-created"

	_, err := store.Get(ctx, id)
	assertNotFound(t, "Get", err)
	assertNotFound(t, "SetState", store.SetState(ctx, id, engine.StateRendering))
	assertNotFound(t, "SetResult", store.SetResult(ctx, id, &engine.Result{JobID: id, Status: engine.StatusSuccess}))
	assertNotFound(t, "ScheduleDelivery", store.ScheduleDelivery(ctx, newDelivery(id), time.Now()))
	assertNotFound(t, "RecordAttempt", store.RecordAttempt(ctx, id, engine.Attempt{At: time.Now(), StatusCode: 200}))
	assertNotFound(t, "FinishDelivery", store.FinishDelivery(ctx, id, true, nil))
	_, err = store.PendingDelivery(ctx, id)
	assertNotFound(t, "PendingDelivery", err)

	if claimed := claim(t, store, time.Now().Add(time.Hour), 10); len(claimed) != 0 {
		t.Errorf("ClaimDeliveries after ScheduleDelivery of an unknown job = %v, want none", jobIDs(claimed))
	}
}

func testSetState(t *testing.T, store engine.JobStore) {
	rec := createJob(t, store, engine.ModeSync, baseTime().Add(-time.Minute))
	states := []engine.JobState{
		engine.StateRendering, engine.StateStored, engine.StateNotifying,
		engine.StateDelivered, engine.StateFailed, engine.StateQueued,
	}
	for _, state := range states {
		before := time.Now()
		if err := store.SetState(t.Context(), rec.JobID, state); err != nil {
			t.Fatalf("SetState(%s): %v", state, err)
		}
		after := time.Now()
		got := get(t, store, rec.JobID)
		assertState(t, got, state)
		assertWithin(t, "UpdatedAt after SetState("+string(state)+")", &got.UpdatedAt, before, after)
	}
}

func testSetResult(t *testing.T, store engine.JobStore) {
	renderError := engine.Errorf("timeout", "render timed out after 30s")
	tests := []struct {
		name  string
		mode  engine.Mode
		error bool
		want  engine.JobState
	}{
		{"direct success", engine.ModeDirect, false, engine.StateStored},
		{"direct error", engine.ModeDirect, true, engine.StateFailed},
		{"sync success", engine.ModeSync, false, engine.StateStored},
		{"sync error", engine.ModeSync, true, engine.StateFailed},
		// An async job's webhook reports a render error too, so both
		// outcomes lead to a delivery.
		{"async success", engine.ModeAsync, false, engine.StateNotifying},
		{"async error", engine.ModeAsync, true, engine.StateNotifying},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := createJob(t, store, tc.mode, baseTime().Add(-time.Minute))
			result := &engine.Result{
				JobID: rec.JobID, RequestID: rec.RequestID, Status: engine.StatusSuccess,
				DocumentURL: "http://127.0.0.1:8080/v1/documents/" + rec.JobID + ".pdf", IsCustomBucket: true,
				RenderDuration: 1234*time.Millisecond + 500*time.Microsecond,
			}
			var wantError *engine.JobError
			if tc.error {
				copied := *renderError
				result = &engine.Result{
					JobID: rec.JobID, RequestID: rec.RequestID, Status: engine.StatusError,
					Error: &copied, RenderDuration: 1234 * time.Millisecond,
				}
				wantError = renderError
			}

			before := time.Now()
			if err := store.SetResult(t.Context(), rec.JobID, result); err != nil {
				t.Fatalf("SetResult: %v", err)
			}
			after := time.Now()
			if result.Error != nil {
				result.Error.Message = "changed after SetResult"
			}

			got := get(t, store, rec.JobID)
			assertState(t, got, tc.want)
			if got.RenderStatus != result.Status {
				t.Errorf("RenderStatus = %q, want %q", got.RenderStatus, result.Status)
			}
			if !reflect.DeepEqual(got.Error, wantError) {
				t.Errorf("Error = %s, want %s", describeError(got.Error), describeError(wantError))
			}
			if got.DocumentURL != result.DocumentURL || got.IsCustomBucket != result.IsCustomBucket {
				t.Errorf("DocumentURL, IsCustomBucket = %q, %v, want %q, %v", got.DocumentURL, got.IsCustomBucket, result.DocumentURL, result.IsCustomBucket)
			}
			if got.RenderMillis != 1234 {
				t.Errorf("RenderMillis = %d, want 1234", got.RenderMillis)
			}
			assertWithin(t, "RenderedAt", got.RenderedAt, before, after)
			assertWithin(t, "UpdatedAt", &got.UpdatedAt, before, after)
		})
	}
}

func testScheduleDelivery(t *testing.T, store engine.JobStore) {
	base := baseTime()
	rec := createJob(t, store, engine.ModeAsync, base)
	d := newDelivery(rec.JobID)
	d.Attempt = 2
	want := copyDelivery(d)
	due := base.Add(time.Minute)
	if err := store.ScheduleDelivery(t.Context(), d, due); err != nil {
		t.Fatalf("ScheduleDelivery: %v", err)
	}
	d.Webhook.Headers["Authorization"] = "changed after ScheduleDelivery"
	d.Attempt = 9

	got := get(t, store, rec.JobID)
	assertState(t, got, engine.StateNotifying)
	assertTime(t, "NextAttemptAt", got.NextAttemptAt, due)
	assertDelivery(t, "PendingDelivery", pendingDelivery(t, store, rec.JobID), want)
}

func testScheduleReplaces(t *testing.T, store engine.JobStore) {
	base := baseTime()
	d := scheduleJob(t, store, base)
	replacement := copyDelivery(d)
	replacement.Attempt = 3
	replacement.Payload.RenderStatus = engine.StatusError
	later := base.Add(10 * time.Second)
	if err := store.ScheduleDelivery(t.Context(), replacement, later); err != nil {
		t.Fatalf("ScheduleDelivery of the replacement: %v", err)
	}

	if claimed := claim(t, store, base, 10); len(claimed) != 0 {
		t.Errorf("claimed %v at the first due time, want none: the replacement is due later", jobIDs(claimed))
	}
	claimed := claim(t, store, later, 10)
	if len(claimed) != 1 {
		t.Fatalf("claimed %d deliveries when the replacement is due, want 1", len(claimed))
	}
	assertDelivery(t, "claimed delivery", claimed[0], replacement)
	assertDelivery(t, "PendingDelivery", pendingDelivery(t, store, d.JobID), replacement)
	assertTime(t, "NextAttemptAt", get(t, store, d.JobID).NextAttemptAt, later)
}

// testScheduleReleasesLease follows the deliverer, which schedules a retry
// of a delivery that it holds the lease of.
func testScheduleReleasesLease(t *testing.T, store engine.JobStore) {
	base := baseTime()
	d := scheduleJob(t, store, base)
	if claimed := claim(t, store, base, 10); len(claimed) != 1 {
		t.Fatalf("claimed %d deliveries, want 1", len(claimed))
	}

	retry := copyDelivery(d)
	retry.Attempt = 1
	due := base.Add(time.Second)
	if err := store.ScheduleDelivery(t.Context(), retry, due); err != nil {
		t.Fatalf("ScheduleDelivery of the retry: %v", err)
	}
	claimed := claim(t, store, due, 10)
	if len(claimed) != 1 {
		t.Fatalf("claimed %d deliveries when the retry is due and the old lease runs, want 1", len(claimed))
	}
	assertDelivery(t, "claimed retry", claimed[0], retry)
}

func testClaimNotDue(t *testing.T, store engine.JobStore) {
	base := baseTime()
	due := base.Add(time.Minute)
	d := scheduleJob(t, store, due)

	if claimed := claim(t, store, base, 10); len(claimed) != 0 {
		t.Errorf("claimed %v a minute before the due time, want none", jobIDs(claimed))
	}
	if claimed := claim(t, store, due.Add(-time.Millisecond), 10); len(claimed) != 0 {
		t.Errorf("claimed %v a millisecond before the due time, want none", jobIDs(claimed))
	}
	claimed := claim(t, store, due, 10)
	if len(claimed) != 1 {
		t.Fatalf("claimed %d deliveries at the due time, want 1", len(claimed))
	}
	assertDelivery(t, "claimed delivery", claimed[0], d)
}

func testClaimLease(t *testing.T, store engine.JobStore) {
	base := baseTime()
	d := scheduleJob(t, store, base)

	claimed := claim(t, store, base, 10)
	if len(claimed) != 1 {
		t.Fatalf("claimed %d deliveries, want 1", len(claimed))
	}
	assertDelivery(t, "claimed delivery", claimed[0], d)
	if again := claim(t, store, base, 10); len(again) != 0 {
		t.Errorf("claimed %v again at once, want none while the lease runs", jobIDs(again))
	}
	if again := claim(t, store, base.Add(lease-time.Millisecond), 10); len(again) != 0 {
		t.Errorf("claimed %v again a millisecond before the lease ends, want none", jobIDs(again))
	}
	assertState(t, get(t, store, d.JobID), engine.StateNotifying)

	again := claim(t, store, base.Add(lease), 10)
	if len(again) != 1 {
		t.Fatalf("claimed %d deliveries when the lease ended, want 1", len(again))
	}
	assertDelivery(t, "delivery claimed after the lease", again[0], d)
}

func testClaimLimit(t *testing.T, store engine.JobStore) {
	base := baseTime()
	var want []string
	for i := range 5 {
		want = append(want, scheduleJob(t, store, base.Add(time.Duration(i)*time.Millisecond)).JobID)
	}
	slices.Sort(want)
	now := base.Add(time.Second)

	if claimed := claim(t, store, now, 0); len(claimed) != 0 {
		t.Errorf("claimed %v with limit 0, want none", jobIDs(claimed))
	}
	var all []*engine.Delivery
	for i, wantCount := range []int{2, 2, 1, 0} {
		claimed := claim(t, store, now, 2)
		if len(claimed) != wantCount {
			t.Errorf("claim %d with limit 2 returned %d deliveries, want %d", i+1, len(claimed), wantCount)
		}
		all = append(all, claimed...)
	}
	if got := jobIDs(all); !slices.Equal(got, want) {
		t.Errorf("claimed jobs = %v, want each of %v once", got, want)
	}
}

func testClaimReturnsCopies(t *testing.T, store engine.JobStore) {
	base := baseTime()
	d := scheduleJob(t, store, base)
	want := copyDelivery(d)

	claimed := claim(t, store, base, 10)
	if len(claimed) != 1 {
		t.Fatalf("claimed %d deliveries, want 1", len(claimed))
	}
	claimed[0].Attempt++
	claimed[0].Webhook.Headers["Authorization"] = "changed by the claimer"

	assertDelivery(t, "PendingDelivery", pendingDelivery(t, store, d.JobID), want)
	fetched := pendingDelivery(t, store, d.JobID)
	fetched.Webhook.Headers["Authorization"] = "changed by the caller of PendingDelivery"
	assertDelivery(t, "PendingDelivery", pendingDelivery(t, store, d.JobID), want)
}

func testConcurrentClaims(t *testing.T, store engine.JobStore) {
	const (
		deliveries = 40
		claimers   = 8
		limit      = 3
	)
	base := baseTime()
	for range deliveries {
		scheduleJob(t, store, base)
	}

	var (
		mu      sync.Mutex
		counts  = map[string]int{}
		wg      sync.WaitGroup
		barrier = make(chan struct{})
	)
	for range claimers {
		wg.Go(func() {
			<-barrier
			for {
				claimed, err := store.ClaimDeliveries(t.Context(), base, time.Minute, limit)
				if err != nil {
					t.Errorf("ClaimDeliveries: %v", err)
					return
				}
				if len(claimed) > limit {
					t.Errorf("ClaimDeliveries returned %d deliveries, want at most %d", len(claimed), limit)
				}
				if len(claimed) == 0 {
					return
				}
				mu.Lock()
				for _, d := range claimed {
					counts[d.JobID]++
				}
				mu.Unlock()
			}
		})
	}
	close(barrier)
	wg.Wait()

	for id, n := range counts {
		if n != 1 {
			t.Errorf("delivery of %s was claimed %d times, want once", id, n)
		}
	}
	if len(counts) != deliveries {
		t.Errorf("%d deliveries were claimed, want all %d", len(counts), deliveries)
	}
	if left := claim(t, store, base, deliveries); len(left) != 0 {
		t.Errorf("%d deliveries were still claimable after the claimers stopped, want none", len(left))
	}
}

func testRecordAttempt(t *testing.T, store engine.JobStore) {
	base := baseTime()
	d := scheduleJob(t, store, base)
	attempts := []engine.Attempt{
		{At: base, StatusCode: 500, DurationMs: 12},
		{At: base.Add(time.Second), Error: "timed out after 10s", DurationMs: 10000},
		{At: base.Add(2 * time.Second), StatusCode: 200, DurationMs: 5},
	}
	for _, a := range attempts {
		if err := store.RecordAttempt(t.Context(), d.JobID, a); err != nil {
			t.Fatalf("RecordAttempt: %v", err)
		}
	}

	got := get(t, store, d.JobID).Attempts
	if len(got) != len(attempts) {
		t.Fatalf("job has %d attempts, want %d", len(got), len(attempts))
	}
	for i, want := range attempts {
		a := got[i]
		if !a.At.Equal(want.At) || a.StatusCode != want.StatusCode || a.Error != want.Error || a.DurationMs != want.DurationMs {
			t.Errorf("attempt %d = {At:%s StatusCode:%d Error:%q DurationMs:%d}, want {At:%s StatusCode:%d Error:%q DurationMs:%d}",
				i+1, a.At.Format(time.RFC3339Nano), a.StatusCode, a.Error, a.DurationMs,
				want.At.Format(time.RFC3339Nano), want.StatusCode, want.Error, want.DurationMs)
		}
	}
}

func testRecordAttemptConcurrently(t *testing.T, store engine.JobStore) {
	const writers = 10
	base := baseTime()
	d := scheduleJob(t, store, base)

	var wg sync.WaitGroup
	for i := range writers {
		wg.Go(func() {
			if err := store.RecordAttempt(t.Context(), d.JobID, engine.Attempt{At: base, StatusCode: 500 + i}); err != nil {
				t.Errorf("RecordAttempt: %v", err)
			}
		})
	}
	wg.Wait()

	var codes []int
	for _, a := range get(t, store, d.JobID).Attempts {
		codes = append(codes, a.StatusCode)
	}
	slices.Sort(codes)
	want := make([]int, 0, writers)
	for i := range writers {
		want = append(want, 500+i)
	}
	if !slices.Equal(codes, want) {
		t.Errorf("status codes of the recorded attempts = %v, want %v: an attempt was lost", codes, want)
	}
}

func testFinishDelivered(t *testing.T, store engine.JobStore) {
	base := baseTime()
	d := scheduleJob(t, store, base)
	if claimed := claim(t, store, base, 10); len(claimed) != 1 {
		t.Fatalf("claimed %d deliveries, want 1", len(claimed))
	}

	before := time.Now()
	if err := store.FinishDelivery(t.Context(), d.JobID, true, nil); err != nil {
		t.Fatalf("FinishDelivery: %v", err)
	}
	after := time.Now()

	got := get(t, store, d.JobID)
	assertState(t, got, engine.StateDelivered)
	assertWithin(t, "DeliveredAt", got.DeliveredAt, before, after)
	if got.NextAttemptAt != nil {
		t.Errorf("NextAttemptAt = %v, want nil once the delivery ended", got.NextAttemptAt)
	}
	if got.Error != nil {
		t.Errorf("Error = %s, want nil", describeError(got.Error))
	}
	if claimed := claim(t, store, base.Add(time.Hour), 10); len(claimed) != 0 {
		t.Errorf("claimed %v after the delivery ended, want none", jobIDs(claimed))
	}
	assertDelivery(t, "PendingDelivery of an ended delivery", pendingDelivery(t, store, d.JobID), d)
}

func testFinishFailed(t *testing.T, store engine.JobStore) {
	base := baseTime()
	d := scheduleJob(t, store, base)
	reason := engine.Errorf("delivery_failed", "webhook delivery failed after 10 attempts; last: HTTP 503")
	want := *reason

	if err := store.FinishDelivery(t.Context(), d.JobID, false, reason); err != nil {
		t.Fatalf("FinishDelivery: %v", err)
	}
	reason.Message = "changed after FinishDelivery"

	got := get(t, store, d.JobID)
	assertState(t, got, engine.StateFailed)
	if got.Error == nil || *got.Error != want {
		t.Errorf("Error = %s, want %s", describeError(got.Error), describeError(&want))
	}
	if got.DeliveredAt != nil {
		t.Errorf("DeliveredAt = %v, want nil for a failed delivery", got.DeliveredAt)
	}
	if got.NextAttemptAt != nil {
		t.Errorf("NextAttemptAt = %v, want nil once the delivery ended", got.NextAttemptAt)
	}
	if claimed := claim(t, store, base.Add(time.Hour), 10); len(claimed) != 0 {
		t.Errorf("claimed %v after the delivery failed, want none", jobIDs(claimed))
	}
	assertDelivery(t, "PendingDelivery of a failed delivery", pendingDelivery(t, store, d.JobID), d)
}

func testFinishFailedKeepsRenderError(t *testing.T, store engine.JobStore) {
	base := baseTime()
	rec := createJob(t, store, engine.ModeAsync, base)
	renderError := engine.Errorf("navigation_failed", "navigation to http://127.0.0.1:9/ failed")
	result := &engine.Result{JobID: rec.JobID, RequestID: rec.RequestID, Status: engine.StatusError, Error: renderError}
	if err := store.SetResult(t.Context(), rec.JobID, result); err != nil {
		t.Fatalf("SetResult: %v", err)
	}
	if err := store.ScheduleDelivery(t.Context(), newDelivery(rec.JobID), base); err != nil {
		t.Fatalf("ScheduleDelivery: %v", err)
	}
	reason := engine.Errorf("delivery_failed", "webhook receiver answered 410 Gone on attempt 1; delivery stopped")
	if err := store.FinishDelivery(t.Context(), rec.JobID, false, reason); err != nil {
		t.Fatalf("FinishDelivery: %v", err)
	}

	got := get(t, store, rec.JobID)
	assertState(t, got, engine.StateFailed)
	if got.Error == nil || *got.Error != *renderError {
		t.Errorf("Error = %s, want the render error %s", describeError(got.Error), describeError(renderError))
	}
}

// testRedeliver follows a redelivery on request: the ended delivery is read
// back and scheduled again from attempt 0.
func testRedeliver(t *testing.T, store engine.JobStore) {
	base := baseTime()
	d := scheduleJob(t, store, base)
	reason := engine.Errorf("delivery_failed", "webhook delivery failed after 1 attempts; last: HTTP 500")
	if err := store.FinishDelivery(t.Context(), d.JobID, false, reason); err != nil {
		t.Fatalf("FinishDelivery: %v", err)
	}

	again := pendingDelivery(t, store, d.JobID)
	again.Attempt = 0
	due := base.Add(time.Minute)
	if err := store.ScheduleDelivery(t.Context(), again, due); err != nil {
		t.Fatalf("ScheduleDelivery of the redelivery: %v", err)
	}
	got := get(t, store, d.JobID)
	assertState(t, got, engine.StateNotifying)
	assertTime(t, "NextAttemptAt", got.NextAttemptAt, due)
	claimed := claim(t, store, due, 10)
	if len(claimed) != 1 {
		t.Fatalf("claimed %d deliveries after the redelivery was scheduled, want 1", len(claimed))
	}
	assertDelivery(t, "claimed redelivery", claimed[0], again)
}

func testPendingDeliveryMissing(t *testing.T, store engine.JobStore) {
	rec := createJob(t, store, engine.ModeAsync, baseTime())
	_, err := store.PendingDelivery(t.Context(), rec.JobID)
	assertNotFound(t, "PendingDelivery of a job without a delivery", err)
}

func answer(key, idempotencyKey, fingerprint string, createdAt time.Time) *engine.IdempotentAnswer {
	return &engine.IdempotentAnswer{Key: key, IdempotencyKey: idempotencyKey, Fingerprint: fingerprint, CreatedAt: createdAt}
}

func begin(t *testing.T, store engine.JobStore, a *engine.IdempotentAnswer) *engine.IdempotentAnswer {
	t.Helper()
	existing, err := store.BeginIdempotent(t.Context(), a)
	if err != nil {
		t.Fatalf("BeginIdempotent(%s, %s): %v", a.Key, a.IdempotencyKey, err)
	}
	return existing
}

func testIdempotency(t *testing.T, store engine.JobStore) {
	ctx := t.Context()
	base := baseTime()

	if existing := begin(t, store, answer("billing", "order-1", "fp-1", base)); existing != nil {
		t.Fatalf("first BeginIdempotent returned %+v, want nil for a free slot", existing)
	}
	existing := begin(t, store, answer("billing", "order-1", "fp-2", base.Add(time.Second)))
	switch {
	case existing == nil:
		t.Fatal("second BeginIdempotent returned nil, want the pending answer")
	case !existing.Pending || existing.Fingerprint != "fp-1" || !existing.CreatedAt.Equal(base):
		t.Errorf("second BeginIdempotent returned %+v, want the first request's pending answer, fingerprint fp-1, created at %s", existing, base)
	case existing.Key != "billing" || existing.IdempotencyKey != "order-1":
		t.Errorf("second BeginIdempotent returned slot %q/%q, want billing/order-1", existing.Key, existing.IdempotencyKey)
	}

	completedAt := base.Add(2 * time.Second)
	complete := &engine.IdempotentAnswer{
		Key: "billing", IdempotencyKey: "order-1", Fingerprint: "fp-1",
		Status: 200, ContentType: "application/json", Body: []byte(`{"renderStatus":"SUCCESS"}`), CreatedAt: completedAt,
	}
	if err := store.CompleteIdempotent(ctx, complete); err != nil {
		t.Fatalf("CompleteIdempotent: %v", err)
	}
	existing = begin(t, store, answer("billing", "order-1", "fp-1", base.Add(3*time.Second)))
	switch {
	case existing == nil:
		t.Fatal("BeginIdempotent after CompleteIdempotent returned nil, want the stored answer")
	case existing.Pending:
		t.Errorf("stored answer is pending, want complete")
	case existing.Status != 200 || existing.ContentType != "application/json" || string(existing.Body) != `{"renderStatus":"SUCCESS"}`:
		t.Errorf("stored answer = status %d, content type %q, body %q, want 200, application/json, the completed body",
			existing.Status, existing.ContentType, existing.Body)
	case existing.Fingerprint != "fp-1" || !existing.CreatedAt.Equal(completedAt):
		t.Errorf("stored answer has fingerprint %q, created at %s, want fp-1, %s", existing.Fingerprint, existing.CreatedAt, completedAt)
	}

	if err := store.ForgetIdempotent(ctx, "billing", "order-1"); err != nil {
		t.Fatalf("ForgetIdempotent: %v", err)
	}
	if existing := begin(t, store, answer("billing", "order-1", "fp-3", base.Add(4*time.Second))); existing != nil {
		t.Errorf("BeginIdempotent after ForgetIdempotent returned %+v, want nil for a freed slot", existing)
	}
	if existing := begin(t, store, answer("billing", "order-1", "fp-4", base.Add(5*time.Second))); existing == nil || existing.Fingerprint != "fp-3" {
		t.Errorf("BeginIdempotent on the slot taken again returned %+v, want the pending answer with fingerprint fp-3", existing)
	}
	if err := store.ForgetIdempotent(ctx, "billing", "never-used"); err != nil {
		t.Errorf("ForgetIdempotent of a free slot: %v, want nil", err)
	}
}

func testIdempotencySlotsPerKey(t *testing.T, store engine.JobStore) {
	base := baseTime()
	for _, slot := range [][2]string{{"billing", "order-1"}, {"reports", "order-1"}, {"billing", "order-2"}} {
		if existing := begin(t, store, answer(slot[0], slot[1], "fp", base)); existing != nil {
			t.Errorf("BeginIdempotent(%s, %s) returned %+v, want nil: slots differ by key name and idempotency key", slot[0], slot[1], existing)
		}
	}
}

func testIdempotencyCopies(t *testing.T, store engine.JobStore) {
	body := []byte(`{"renderStatus":"SUCCESS"}`)
	complete := &engine.IdempotentAnswer{
		Key: "billing", IdempotencyKey: "order-1", Fingerprint: "fp-1",
		Status: 200, ContentType: "application/json", Body: body, CreatedAt: baseTime(),
	}
	if err := store.CompleteIdempotent(t.Context(), complete); err != nil {
		t.Fatalf("CompleteIdempotent: %v", err)
	}
	body[0] = 'X'

	first := begin(t, store, answer("billing", "order-1", "fp-1", baseTime()))
	if first == nil || string(first.Body) != `{"renderStatus":"SUCCESS"}` {
		t.Fatalf("stored answer = %+v, want the body given to CompleteIdempotent", first)
	}
	first.Body[0] = 'Y'
	second := begin(t, store, answer("billing", "order-1", "fp-1", baseTime()))
	if second == nil || string(second.Body) != `{"renderStatus":"SUCCESS"}` {
		t.Errorf("stored answer after the caller changed a returned body = %+v, want it unchanged", second)
	}
}

func testConcurrentBeginIdempotent(t *testing.T, store engine.JobStore) {
	const callers = 20
	base := baseTime()
	results := make([]*engine.IdempotentAnswer, callers)
	var (
		wg      sync.WaitGroup
		barrier = make(chan struct{})
	)
	for i := range callers {
		wg.Go(func() {
			<-barrier
			existing, err := store.BeginIdempotent(t.Context(), answer("billing", "order-1", fmt.Sprintf("fp-%d", i), base))
			if err != nil {
				t.Errorf("BeginIdempotent of caller %d: %v", i, err)
			}
			results[i] = existing
		})
	}
	close(barrier)
	wg.Wait()

	winner := -1
	for i, existing := range results {
		if existing == nil {
			if winner >= 0 {
				t.Errorf("callers %d and %d both got the slot", winner, i)
			}
			winner = i
		}
	}
	if winner < 0 {
		t.Fatal("no caller got the slot")
	}
	for i, existing := range results {
		if i == winner || existing == nil {
			continue
		}
		if !existing.Pending || existing.Fingerprint != fmt.Sprintf("fp-%d", winner) {
			t.Errorf("caller %d got %+v, want the pending answer of caller %d", i, existing, winner)
		}
	}
}

func testDeleteBefore(t *testing.T, store engine.JobStore) {
	ctx := t.Context()
	cutoff := baseTime().Add(-time.Hour)
	old := cutoff.Add(-time.Minute)

	stored := createJob(t, store, engine.ModeSync, old)
	if err := store.SetResult(ctx, stored.JobID, &engine.Result{JobID: stored.JobID, Status: engine.StatusSuccess}); err != nil {
		t.Fatalf("SetResult: %v", err)
	}
	delivered := scheduleJob(t, store, old)
	if err := store.FinishDelivery(ctx, delivered.JobID, true, nil); err != nil {
		t.Fatalf("FinishDelivery: %v", err)
	}
	pending := scheduleJob(t, store, old)
	atCutoff := createJob(t, store, engine.ModeSync, cutoff)
	recent := createJob(t, store, engine.ModeSync, baseTime())

	oldAnswer := &engine.IdempotentAnswer{Key: "billing", IdempotencyKey: "old", Fingerprint: "fp", Status: 200, CreatedAt: old}
	if err := store.CompleteIdempotent(ctx, oldAnswer); err != nil {
		t.Fatalf("CompleteIdempotent: %v", err)
	}
	if existing := begin(t, store, answer("billing", "recent", "fp", baseTime())); existing != nil {
		t.Fatalf("BeginIdempotent of a free slot returned %+v, want nil", existing)
	}

	deleted, err := store.DeleteBefore(ctx, cutoff)
	if err != nil {
		t.Fatalf("DeleteBefore: %v", err)
	}
	if deleted != 3 {
		t.Errorf("DeleteBefore deleted %d jobs and answers, want 3: two finished old jobs and one old answer", deleted)
	}
	for _, id := range []string{stored.JobID, delivered.JobID} {
		_, err := store.Get(ctx, id)
		assertNotFound(t, "Get of an old finished job", err)
	}
	for _, id := range []string{pending.JobID, atCutoff.JobID, recent.JobID} {
		if _, err := store.Get(ctx, id); err != nil {
			t.Errorf("Get(%s) after DeleteBefore: %v, want the job kept", id, err)
		}
	}
	if existing := begin(t, store, answer("billing", "old", "fp", baseTime())); existing != nil {
		t.Errorf("old idempotent answer survived DeleteBefore: %+v", existing)
	}
	if existing := begin(t, store, answer("billing", "recent", "fp", baseTime())); existing == nil {
		t.Error("recent idempotent answer was deleted by DeleteBefore")
	}

	if err := store.FinishDelivery(ctx, pending.JobID, true, nil); err != nil {
		t.Fatalf("FinishDelivery: %v", err)
	}
	deleted, err = store.DeleteBefore(ctx, cutoff)
	if err != nil {
		t.Fatalf("second DeleteBefore: %v", err)
	}
	if deleted != 1 {
		t.Errorf("second DeleteBefore deleted %d, want 1: the old job whose delivery ended", deleted)
	}
	_, err = store.Get(ctx, pending.JobID)
	assertNotFound(t, "Get of the old job whose delivery ended", err)
}

func testCountQueued(t *testing.T, store engine.JobStore) {
	now := baseTime()
	first := createJob(t, store, engine.ModeAsync, now)
	createJob(t, store, engine.ModeSync, now)
	createJob(t, store, engine.ModeSync, now.Add(-2*time.Hour))
	other := &engine.JobRecord{JobID: newJobID(), RequestID: "doppioreq_other", Key: "reports", Mode: engine.ModeSync, Kind: engine.KindPDF, CreatedAt: now}
	if err := store.Create(t.Context(), other); err != nil {
		t.Fatal(err)
	}

	since := now.Add(-time.Hour)
	total, forKey, err := store.CountQueued(t.Context(), "billing", since)
	if err != nil {
		t.Fatal(err)
	}
	if total != 3 || forKey != 2 {
		t.Errorf("CountQueued = %d total, %d for billing; want 3 and 2 (the job older than since is left out)", total, forKey)
	}

	if err := store.SetState(t.Context(), first.JobID, engine.StateRendering); err != nil {
		t.Fatal(err)
	}
	total, forKey, err = store.CountQueued(t.Context(), "billing", since)
	if err != nil {
		t.Fatal(err)
	}
	if total != 2 || forKey != 1 {
		t.Errorf("after a render started: %d total, %d for billing; want 2 and 1", total, forKey)
	}
}
