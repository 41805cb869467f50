package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
)

// Worker is the rendering side of the pipeline. It consumes TopicRender,
// renders and stores documents, publishes the results of direct and sync
// jobs on TopicResults, and queues the webhooks of async jobs from
// TopicNotify.
type Worker struct {
	renderer  Renderer
	storage   Storage
	store     JobStore
	deliverer *Deliverer
	publisher message.Publisher
	logger    *slog.Logger
	metrics   *Metrics
	limits    Limits
	// TempDir receives documents between rendering and storage; empty
	// means the system's temporary folder.
	TempDir string
	// OnFinished, when set, is called once a job needs nothing more from
	// this worker: its result is published or its webhook settled.
	OnFinished func(jobID string)

	// running holds the cancel functions of the renders under way, by job
	// id, so that Cancel can stop the render of a caller that went away.
	runningMu sync.Mutex
	running   map[string]context.CancelCauseFunc
}

// errCallerGone is the cause of a render that Cancel stopped.
var errCallerGone = errors.New("the caller stopped waiting")

// Cancel stops the render of a direct or sync job under way in this
// worker, if there is one: its caller stopped waiting for it.
func (w *Worker) Cancel(jobID string) {
	w.runningMu.Lock()
	cancel := w.running[jobID]
	w.runningMu.Unlock()
	if cancel != nil {
		cancel(errCallerGone)
	}
}

// hasOutcome reports whether a direct or sync job already has an outcome
// in the job store: its caller stopped waiting while it was queued, or the
// transport delivered its message twice. A job the store no longer has
// counts too: the engine records every job before it publishes it, and
// the store deletes finished jobs only.
func (w *Worker) hasOutcome(ctx context.Context, jobID string) bool {
	rec, err := w.store.Get(ctx, jobID)
	if errors.Is(err, ErrJobNotFound) {
		return true
	}
	return err == nil && rec.RenderedAt != nil
}

// NewWorker returns a worker that publishes results and deliveries with
// publisher and hands webhook deliveries to deliverer.
func NewWorker(renderer Renderer, storage Storage, store JobStore, deliverer *Deliverer, publisher message.Publisher, logger *slog.Logger) *Worker {
	return &Worker{
		renderer:  renderer,
		storage:   storage,
		store:     store,
		deliverer: deliverer,
		publisher: publisher,
		logger:    logger,
		running:   map[string]context.CancelCauseFunc{},
	}
}

// HandleRender is the handler of TopicRender and TopicRenderInteractive. A job that fails to render is
// a result, not a handler error: its result has renderStatus ERROR and the
// message is acknowledged. Only a failure to publish the outcome returns an error, so
// that the message is retried.
func (w *Worker) HandleRender(msg *message.Message) error {
	var job Job
	if err := json.Unmarshal(msg.Payload, &job); err != nil {
		w.logger.Error("dropping undecodable render message", "messageId", msg.UUID, "error", err)
		return nil
	}
	log := w.logger.With("jobId", job.ID, "requestId", job.RequestID)

	if job.Mode != ModeAsync && !job.Deadline.IsZero() && time.Now().After(job.Deadline) {
		log.Warn("job skipped: its caller stopped waiting", "deadline", job.Deadline)
		skipped := FailedResult(&job, Errorf(CodeTimeout, "job waited in the queue past its caller's deadline %s", job.Deadline.Format(time.RFC3339)))
		if err := w.store.SetResult(msg.Context(), job.ID, skipped); err != nil && !errors.Is(err, ErrJobNotFound) {
			log.Error("could not record the skipped job", "error", err)
		}
		w.finished(job.ID)
		return nil
	}

	if job.Mode != ModeAsync && w.hasOutcome(msg.Context(), job.ID) {
		log.Info("job skipped: it already has an outcome, or its caller stopped waiting")
		w.finished(job.ID)
		return nil
	}

	ctx := msg.Context()
	if !job.Deadline.IsZero() {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, job.Deadline)
		defer cancel()
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	if job.Mode != ModeAsync {
		w.runningMu.Lock()
		w.running[job.ID] = cancel
		w.runningMu.Unlock()
		defer func() {
			w.runningMu.Lock()
			delete(w.running, job.ID)
			w.runningMu.Unlock()
		}()
	}
	w.setState(ctx, job.ID, StateRendering, log)
	w.metrics.ObserveStage(job.Kind, "queue", time.Since(job.CreatedAt))
	result := w.process(ctx, &job, log)
	w.metrics.CountJob(&job, result.Status)
	// The render's context may have ended, by its deadline or its caller's
	// departure, and the outcome must be recorded all the same.
	if err := w.store.SetResult(context.WithoutCancel(ctx), job.ID, result); err != nil && !errors.Is(err, ErrJobNotFound) {
		log.Error("could not record the render result", "error", err)
	}

	if job.Mode == ModeAsync {
		return w.publishDelivery(&job, result)
	}
	if err := w.publishJSON(TopicResults, job.ID, result); err != nil {
		return err
	}
	w.finished(job.ID)
	return nil
}

func (w *Worker) setState(ctx context.Context, jobID string, state JobState, log *slog.Logger) {
	if err := w.store.SetState(ctx, jobID, state); err != nil && !errors.Is(err, ErrJobNotFound) {
		log.Error("could not record the job state", "state", state, "error", err)
	}
}

// HandleNotify is the handler of TopicNotify: it queues the delivery in the
// job store, whose deliverer makes the calls, and acknowledges the message
// once the delivery is queued.
func (w *Worker) HandleNotify(msg *message.Message) error {
	var d Delivery
	if err := json.Unmarshal(msg.Payload, &d); err != nil {
		w.logger.Error("dropping undecodable notify message", "messageId", msg.UUID, "error", err)
		return nil
	}
	return w.deliverer.Enqueue(msg.Context(), &d)
}

func (w *Worker) process(ctx context.Context, job *Job, log *slog.Logger) *Result {
	started := time.Now()
	log.Info("render started", "mode", job.Mode, "kind", job.Kind)

	if job.Mode == ModeDirect {
		var buf bytes.Buffer
		out := &limitWriter{w: &buf, max: w.limits.MaxOutputBytes}
		if err := w.renderer.Render(ctx, job, out); err != nil {
			return w.failed(ctx, job, w.limits.renderError(out, err), log, "render failed")
		}
		if err := w.limits.checkOutput(job, bytes.NewReader(buf.Bytes())); err != nil {
			return w.failed(ctx, job, err, log, "render refused")
		}
		elapsed := time.Since(started)
		w.metrics.ObserveStage(job.Kind, "render", elapsed)
		log.Info("rendered", "durationMs", elapsed.Milliseconds(), "bytes", buf.Len())
		return &Result{
			JobID: job.ID, RequestID: job.RequestID, Status: StatusSuccess,
			ContentType: job.ContentType(), Document: buf.Bytes(), RenderDuration: elapsed,
		}
	}

	// Sync and async documents go through a temporary file, so that a large
	// document is never held in memory twice on its way to storage.
	file, err := os.CreateTemp(w.TempDir, "presso-*."+job.Extension())
	if err != nil {
		return w.failed(ctx, job, fmt.Errorf("create temporary file: %w", err), log, "render failed")
	}
	defer func() {
		file.Close()
		os.Remove(file.Name())
	}()
	out := &limitWriter{w: file, max: w.limits.MaxOutputBytes}
	if err := w.renderer.Render(ctx, job, out); err != nil {
		return w.failed(ctx, job, w.limits.renderError(out, err), log, "render failed")
	}
	elapsed := time.Since(started)
	size, err := file.Seek(0, io.SeekCurrent)
	if err == nil {
		_, err = file.Seek(0, io.SeekStart)
	}
	if err != nil {
		return w.failed(ctx, job, fmt.Errorf("rewind temporary file: %w", err), log, "render failed")
	}
	if err := w.limits.checkOutput(job, file); err != nil {
		return w.failed(ctx, job, err, log, "render refused")
	}
	w.metrics.ObserveStage(job.Kind, "render", elapsed)
	log.Info("rendered", "durationMs", elapsed.Milliseconds(), "bytes", size)

	storeStarted := time.Now()
	stored, err := w.storage.Store(ctx, Document{Job: job, Body: file, Size: size})
	if err != nil {
		return w.failed(ctx, job, err, log, "store failed")
	}
	w.metrics.ObserveStage(job.Kind, "store", time.Since(storeStarted))
	log.Info("stored", "durationMs", time.Since(storeStarted).Milliseconds(), "documentKey", stored.Key, "customBucket", stored.IsCustomBucket)
	return &Result{
		JobID: job.ID, RequestID: job.RequestID, Status: StatusSuccess,
		DocumentURL: stored.URL, IsCustomBucket: stored.IsCustomBucket, RenderDuration: elapsed,
	}
}

func (w *Worker) failed(ctx context.Context, job *Job, err error, log *slog.Logger, what string) *Result {
	if errors.Is(context.Cause(ctx), errCallerGone) {
		log.Info("render stopped: its caller closed the request")
		return FailedResult(job, cancelledError())
	}
	result := FailedResult(job, err)
	log.Warn(what, "code", result.Error.Code, "error", result.Error.Message)
	return result
}

func (w *Worker) publishDelivery(job *Job, result *Result) error {
	webhook := job.Request.Webhook()
	if webhook == nil {
		// Validation requires a webhook on async routes; a job without one
		// can only come from a client of the engine that skipped Validate.
		w.logger.Error("async job has no webhook; result dropped", "jobId", job.ID, "requestId", job.RequestID)
		w.finished(job.ID)
		return nil
	}
	delivery := &Delivery{
		JobID:     job.ID,
		RequestID: job.RequestID,
		Key:       job.Key,
		Webhook:   *webhook,
		Payload:   result.Payload(true),
	}
	return w.publishJSON(TopicNotify, job.ID, delivery)
}

func (w *Worker) publishJSON(topic, jobID string, v any) error {
	payload, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode message for %s: %w", topic, err)
	}
	msg := message.NewMessage(jobID+"-"+topic, payload)
	middleware.SetCorrelationID(jobID, msg)
	msg.Metadata.Set(MetadataPartitionKey, jobID)
	if err := w.publisher.Publish(topic, msg); err != nil {
		return fmt.Errorf("publish on %s for job %s: %w", topic, jobID, err)
	}
	return nil
}

func (w *Worker) finished(jobID string) {
	if w.OnFinished != nil {
		w.OnFinished(jobID)
	}
}
