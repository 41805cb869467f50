package transporttest

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/presso-dev/presso/engine"
	"github.com/presso-dev/presso/engine/jobstore"
)

// RunEngineRoundTrip runs an API process and a worker process of the real
// engine on two transports from factory. It checks that the worker renders
// a direct job that the API accepted, and that the API receives the result.
// It uses the engine's own topic and group names, so a durable backend
// must not be shared with another run of it at the same time.
func RunEngineRoundTrip(t *testing.T, factory Factory) {
	t.Helper()
	logger := slog.New(slog.DiscardHandler)
	// A fleet shares one durable job store, so both processes get the
	// same in-memory store here.
	jobs := jobstore.NewMemory()
	api, err := engine.New(engine.Options{Role: engine.RoleAPI, Transport: open(t, factory), Jobs: jobs, Logger: logger})
	if err != nil {
		t.Fatalf("new API engine: %v", err)
	}
	worker, err := engine.New(engine.Options{
		Role: engine.RoleWorker, Transport: open(t, factory), Jobs: jobs, Logger: logger,
		Renderer: fixedRenderer{}, Storage: unusedStorage{}, Notifier: unusedNotifier{},
	})
	if err != nil {
		t.Fatalf("new worker engine: %v", err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), deliveryTimeout)
	defer cancel()
	for name, e := range map[string]*engine.Engine{"API": api, "worker": worker} {
		if err := e.Start(ctx); err != nil {
			t.Fatalf("start %s engine: %v", name, err)
		}
		t.Cleanup(func() {
			closeCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			e.Close(closeCtx)
		})
	}

	job := engine.NewJob(engine.KindPDF, engine.ModeDirect, "test-key", engine.RenderRequest{})
	result, err := api.Do(ctx, job)
	if err != nil {
		t.Fatalf("direct job through the transport: %v", err)
	}
	if result.Status != engine.StatusSuccess {
		t.Errorf("status = %s, want %s (error %+v)", result.Status, engine.StatusSuccess, result.Error)
	}
	if string(result.Document) != renderedDocument {
		t.Errorf("document = %q, want %q", result.Document, renderedDocument)
	}
}

const renderedDocument = "%PDF-1.7 rendered by the test worker"

type fixedRenderer struct{}

func (fixedRenderer) Render(_ context.Context, _ *engine.Job, w io.Writer) error {
	_, err := io.WriteString(w, renderedDocument)
	return err
}
func (fixedRenderer) Ready() bool  { return true }
func (fixedRenderer) Close() error { return nil }

// unusedStorage and unusedNotifier stand in for parts that a direct job
// never reaches.
type unusedStorage struct{}

func (unusedStorage) Store(context.Context, engine.Document) (engine.StoredDocument, error) {
	return engine.StoredDocument{}, io.ErrUnexpectedEOF
}
func (unusedStorage) Close() error { return nil }

type unusedNotifier struct{}

func (unusedNotifier) Deliver(context.Context, *engine.Delivery) engine.Attempt {
	return engine.Attempt{Error: "not used"}
}
func (unusedNotifier) Close() error { return nil }
