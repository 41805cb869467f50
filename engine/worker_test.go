package engine_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/presso-dev/presso/engine"
	"github.com/presso-dev/presso/engine/jobstore"
	"github.com/presso-dev/presso/transports/memory"
)

// TestWorkerSkipsJobsWithAnOutcome hands the worker direct and sync jobs
// that must not render: one the job store no longer has, and one whose
// caller left while it was queued. The worker has no renderer, so a render
// would panic.
func TestWorkerSkipsJobsWithAnOutcome(t *testing.T) {
	ctx := context.Background()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	transport := memory.New(logger)
	t.Cleanup(func() { _ = transport.Close() })
	store := jobstore.NewMemory()
	worker := engine.NewWorker(nil, nil, store, nil, transport.Publisher(), logger)
	var finished []string
	worker.OnFinished = func(id string) { finished = append(finished, id) }

	req := engine.RenderRequest{}
	req.Page.SetContent = &engine.SetContentOptions{HTML: "PHA+aGk8L3A+"}
	forgotten := engine.NewJob(engine.KindPDF, engine.ModeSync, engine.AnonymousKey, req)
	abandoned := engine.NewJob(engine.KindPDF, engine.ModeDirect, engine.AnonymousKey, req)
	if err := store.Create(ctx, &engine.JobRecord{JobID: abandoned.ID, RequestID: abandoned.RequestID, Mode: abandoned.Mode, Kind: abandoned.Kind, CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	cancelled := engine.FailedResult(abandoned, engine.Errorf(engine.CodeCancelled, "the caller closed the request before the render ended"))
	if err := store.SetResult(ctx, abandoned.ID, cancelled); err != nil {
		t.Fatal(err)
	}

	for _, job := range []*engine.Job{forgotten, abandoned} {
		payload, err := json.Marshal(job)
		if err != nil {
			t.Fatal(err)
		}
		if err := worker.HandleRender(message.NewMessage(job.ID, payload)); err != nil {
			t.Errorf("HandleRender(%s job): %v", job.Mode, err)
		}
	}
	if len(finished) != 2 || finished[0] != forgotten.ID || finished[1] != abandoned.ID {
		t.Errorf("finished jobs = %v, want both, in order", finished)
	}
	rec, err := store.Get(ctx, abandoned.ID)
	if err != nil || rec.Error == nil || rec.Error.Code != engine.CodeCancelled {
		t.Errorf("abandoned job record = %+v, %v; want it still cancelled", rec, err)
	}
}
