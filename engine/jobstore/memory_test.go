package jobstore_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/presso-dev/presso/engine"
	"github.com/presso-dev/presso/engine/jobstore"
	"github.com/presso-dev/presso/engine/jobstore/jobstoretest"
)

func TestMemoryConformance(t *testing.T) {
	jobstoretest.Run(t, func(t *testing.T) engine.JobStore {
		store := jobstore.NewMemory()
		t.Cleanup(func() { _ = store.Close() })
		return store
	})
}

func TestMemoryRegistered(t *testing.T) {
	store, err := engine.JobStores.New("memory", engine.Deps{})
	if err != nil {
		t.Fatalf(`JobStores.New("memory"): %v`, err)
	}
	if _, ok := store.(*jobstore.Memory); !ok {
		t.Errorf(`JobStores.New("memory") returned %T, want *jobstore.Memory`, store)
	}
}

func newJob(t *testing.T, store *jobstore.Memory, id string, mode engine.Mode) {
	t.Helper()
	rec := &engine.JobRecord{JobID: id, RequestID: "doppioreq_" + id, Key: "tests", Mode: mode, Kind: engine.KindPDF, CreatedAt: time.Now().UTC()}
	if err := store.Create(context.Background(), rec); err != nil {
		t.Fatalf("Create %s: %v", id, err)
	}
}

func exists(store *jobstore.Memory, id string) bool {
	_, err := store.Get(context.Background(), id)
	return err == nil
}

func TestMemoryMaxJobsForgetsOldestFinished(t *testing.T) {
	ctx := context.Background()
	store, err := jobstore.NewMemoryWithConfig(jobstore.MemoryConfig{MaxJobs: 3})
	if err != nil {
		t.Fatal(err)
	}
	// old-queued never finishes, old-async waits for its webhook, and
	// old-done is finished: only old-done may go.
	newJob(t, store, "old-queued", engine.ModeSync)
	newJob(t, store, "old-async", engine.ModeAsync)
	if err := store.SetResult(ctx, "old-async", &engine.Result{JobID: "old-async", Status: engine.StatusSuccess}); err != nil {
		t.Fatal(err)
	}
	if err := store.ScheduleDelivery(ctx, &engine.Delivery{JobID: "old-async"}, time.Now()); err != nil {
		t.Fatal(err)
	}
	newJob(t, store, "old-done", engine.ModeDirect)
	if err := store.SetResult(ctx, "old-done", &engine.Result{JobID: "old-done", Status: engine.StatusSuccess}); err != nil {
		t.Fatal(err)
	}

	newJob(t, store, "new", engine.ModeDirect)
	if err := store.SetResult(ctx, "new", &engine.Result{JobID: "new", Status: engine.StatusSuccess}); err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]bool{"old-queued": true, "old-async": true, "old-done": false, "new": true} {
		if got := exists(store, id); got != want {
			t.Errorf("after the fourth job, %s kept = %v, want %v", id, got, want)
		}
	}
	claimed, err := store.ClaimDeliveries(ctx, time.Now().Add(time.Second), time.Minute, 10)
	if err != nil || len(claimed) != 1 || claimed[0].JobID != "old-async" {
		t.Fatalf("ClaimDeliveries = %v, %v; want the delivery of old-async", claimed, err)
	}

	// Unfinished jobs are kept over the bound rather than lost.
	newJob(t, store, "newer", engine.ModeSync)
	newJob(t, store, "newest", engine.ModeSync)
	for _, id := range []string{"old-queued", "old-async", "newer", "newest"} {
		if !exists(store, id) {
			t.Errorf("unfinished job %s was forgotten", id)
		}
	}
	if exists(store, "new") {
		t.Error("finished job new is kept over the bound")
	}

	// Once delivered, the async job may go too.
	if err := store.FinishDelivery(ctx, "old-async", true, nil); err != nil {
		t.Fatal(err)
	}
	newJob(t, store, "last", engine.ModeSync)
	if exists(store, "old-async") {
		t.Error("the delivered async job is kept over the bound")
	}
	if claimed, _ := store.ClaimDeliveries(ctx, time.Now().Add(time.Hour), time.Minute, 10); len(claimed) != 0 {
		t.Errorf("ClaimDeliveries after the delivery = %v, want none", claimed)
	}
}

func TestMemoryIdempotentBytesBound(t *testing.T) {
	ctx := context.Background()
	store, err := jobstore.NewMemoryWithConfig(jobstore.MemoryConfig{MaxIdempotentMB: 1})
	if err != nil {
		t.Fatal(err)
	}
	answer := func(key string) *engine.IdempotentAnswer {
		return &engine.IdempotentAnswer{Key: "tests", IdempotencyKey: key, Fingerprint: "f", Status: 200, Body: make([]byte, 400<<10)}
	}
	for _, key := range []string{"a", "b", "c"} {
		if existing, err := store.BeginIdempotent(ctx, answer(key)); err != nil || existing != nil {
			t.Fatalf("BeginIdempotent %s = %v, %v", key, existing, err)
		}
		if err := store.CompleteIdempotent(ctx, answer(key)); err != nil {
			t.Fatal(err)
		}
	}
	// 3 × 400 KiB is over 1 MiB, so the oldest answer is deleted.
	if existing, _ := store.BeginIdempotent(ctx, answer("a")); existing != nil {
		t.Error("the oldest answer is kept over the bound")
	}
	for _, key := range []string{"b", "c"} {
		existing, err := store.BeginIdempotent(ctx, answer(key))
		if err != nil || existing == nil || len(existing.Body) != 400<<10 {
			t.Errorf("answer %s: %v, %v; want it kept", key, existing, err)
		}
	}
}

func TestMemoryConfigRejectsNegativeBounds(t *testing.T) {
	for _, cfg := range []jobstore.MemoryConfig{{MaxJobs: -1}, {MaxIdempotentMB: -1}} {
		if _, err := jobstore.NewMemoryWithConfig(cfg); err == nil || !strings.Contains(err.Error(), "jobs.memory.") {
			t.Errorf("NewMemoryWithConfig(%+v) error = %v, want one naming the key", cfg, err)
		}
	}
}
