package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
	"github.com/google/uuid"
)

// Role selects which halves of the pipeline a process runs.
type Role string

const (
	// RoleAll accepts, renders and delivers in one process.
	RoleAll Role = "all"
	// RoleAPI accepts requests and waits for results; it runs no browser.
	RoleAPI Role = "api"
	// RoleWorker renders and delivers; it accepts no render requests.
	RoleWorker Role = "worker"
)

// Options assembles an Engine. Renderer, Storage and Notifier are needed
// by the worker role only.
type Options struct {
	Role      Role
	Transport Transport
	Renderer  Renderer
	Storage   Storage
	Notifier  Notifier
	// Jobs keeps job state, webhook attempts and pending deliveries. A
	// fleet of processes must share one durable store.
	Jobs     JobStore
	Delivery DeliveryPolicy
	// Retention is how long finished jobs stay in the job store. Default 7 days.
	Retention time.Duration
	// Concurrency bounds the render handlers running at once in this
	// process; messages beyond it wait in the transport. Default 4.
	Concurrency int
	Logger      *slog.Logger
	// Metrics receives the pipeline's Prometheus series; nil records nothing.
	Metrics *Metrics
	// Queue bounds the jobs waiting to render; zero values mean no bound.
	Queue QueueLimits
	// Limits bound the documents this process renders; the zero value
	// means DefaultLimits.
	Limits Limits
	// ShutdownTimeout bounds how long Close waits for running handlers.
	// Default 30s.
	ShutdownTimeout time.Duration
}

// QueueLimits bound the jobs that wait to render, so that a burst gets
// "retry later" instead of a queue that grows without bound.
type QueueLimits struct {
	// MaxQueued bounds the queued jobs of all keys. 0 means no bound.
	MaxQueued int `koanf:"max_queued"`
	// MaxQueuedPerKey bounds the queued jobs of one API key. 0 means no bound.
	MaxQueuedPerKey int `koanf:"max_queued_per_key"`
}

// QueueFullError is returned by Submit and Do when a queue bound is reached.
type QueueFullError struct {
	// PerKey is true when the key's own bound was reached, false for the
	// bound of all keys.
	PerKey bool
	Limit  int
}

func (e *QueueFullError) Error() string {
	if e.PerKey {
		return fmt.Sprintf("this API key already has %d jobs waiting to render (limits.max_queued_per_key)", e.Limit)
	}
	return fmt.Sprintf("%d jobs are already waiting to render (limits.max_queued)", e.Limit)
}

// staleQueuedAfter is the age after which a queued job no longer counts
// against the queue bounds: it was most likely lost with a crashed process.
const staleQueuedAfter = time.Hour

// Engine runs a Watermill router with the halves of the pipeline that its
// role needs, and is what the HTTP front and embedding programs call.
type Engine struct {
	opts           Options
	router         *message.Router
	dispatcher     *Dispatcher
	worker         *Worker
	deliverer      *Deliverer
	instanceID     string
	stopDeliveries context.CancelFunc
	deliveriesDone chan struct{}

	// pending counts jobs submitted by this process that a worker of this
	// process has not finished yet; Close waits for it to reach zero when
	// the process runs both roles.
	pendingMu sync.Mutex
	pending   map[string]struct{}
	drained   chan struct{}
}

// New builds an engine; Start runs it.
func New(opts Options) (*Engine, error) {
	if opts.Role == "" {
		opts.Role = RoleAll
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 4
	}
	if opts.Retention <= 0 {
		opts.Retention = 7 * 24 * time.Hour
	}
	if opts.Limits == (Limits{}) {
		opts.Limits = DefaultLimits()
	}
	if opts.ShutdownTimeout <= 0 {
		opts.ShutdownTimeout = 30 * time.Second
	}
	if opts.Transport == nil {
		return nil, errors.New("engine: a transport is required")
	}
	if opts.Jobs == nil {
		return nil, errors.New("engine: a job store is required")
	}
	runsWorker := opts.Role == RoleAll || opts.Role == RoleWorker
	if runsWorker && (opts.Renderer == nil || opts.Storage == nil || opts.Notifier == nil) {
		return nil, fmt.Errorf("engine: role %s needs a renderer, a storage and a notifier", opts.Role)
	}

	router, err := message.NewRouter(message.RouterConfig{CloseTimeout: opts.ShutdownTimeout}, watermill.NewSlogLogger(opts.Logger.With("component", "router")))
	if err != nil {
		return nil, fmt.Errorf("engine: create router: %w", err)
	}
	e := &Engine{
		opts:       opts,
		router:     router,
		instanceID: uuid.NewString(),
		pending:    map[string]struct{}{},
	}
	publisher := opts.Transport.Publisher()

	poison, err := middleware.PoisonQueue(publisher, TopicPoison)
	if err != nil {
		return nil, fmt.Errorf("engine: poison queue: %w", err)
	}
	// A handler error means the outcome could not be published. It is
	// retried with growing pauses, then parked on the poison topic, so a
	// failing message never spins in a tight redelivery loop.
	retry := middleware.Retry{
		MaxRetries:          5,
		InitialInterval:     200 * time.Millisecond,
		MaxInterval:         10 * time.Second,
		Multiplier:          2,
		RandomizationFactor: 0.3,
		Logger:              watermill.NewSlogLogger(opts.Logger),
	}
	router.AddMiddleware(middleware.CorrelationID, poison, retry.Middleware, middleware.Recoverer)

	if opts.Role == RoleAll || opts.Role == RoleAPI {
		e.dispatcher = NewDispatcher(publisher, opts.Logger)
		sub, err := opts.Transport.Subscriber(GroupAPIPrefix + e.instanceID)
		if err != nil {
			return nil, fmt.Errorf("engine: subscribe to results: %w", err)
		}
		router.AddConsumerHandler("results", TopicResults, sub, e.dispatcher.HandleResult)
	}
	if runsWorker {
		e.deliverer = NewDeliverer(opts.Jobs, opts.Notifier, opts.Delivery, publisher, opts.Logger)
		e.deliverer.OnFinished = e.finish
		e.deliverer.metrics = opts.Metrics
		e.worker = NewWorker(opts.Renderer, opts.Storage, opts.Jobs, e.deliverer, publisher, opts.Logger)
		e.worker.OnFinished = e.finish
		e.worker.metrics = opts.Metrics
		e.worker.limits = opts.Limits
		sub, err := opts.Transport.Subscriber(GroupWorkers)
		if err != nil {
			return nil, fmt.Errorf("engine: subscribe to render jobs: %w", err)
		}
		slots := newRenderSlots(opts.Concurrency)
		router.AddConsumerHandler("render", TopicRender, sub, limit(slots, false, opts.Metrics, e.worker.HandleRender))
		router.AddConsumerHandler("render-interactive", TopicRenderInteractive, sub, limit(slots, true, opts.Metrics, e.worker.HandleRender))
		router.AddConsumerHandler("notify", TopicNotify, sub, e.worker.HandleNotify)
	}
	return e, nil
}

// limit bounds how many calls of handler run at once, because an in-memory
// transport hands every queued message to the router at the same time.
// interactive marks the handler of direct and sync jobs, which get a free
// slot before async jobs do.
func limit(slots *renderSlots, interactive bool, metrics *Metrics, handler message.NoPublishHandlerFunc) message.NoPublishHandlerFunc {
	return func(msg *message.Message) error {
		metrics.AddQueueDepth(1)
		err := slots.acquire(msg.Context(), interactive)
		metrics.AddQueueDepth(-1)
		if err != nil {
			return err
		}
		metrics.AddRendersInFlight(1)
		defer func() {
			metrics.AddRendersInFlight(-1)
			slots.release()
		}()
		return handler(msg)
	}
}

// Start runs the router and returns once every subscription is live, so
// that no message published afterwards is missed.
func (e *Engine) Start(ctx context.Context) error {
	errc := make(chan error, 1)
	go func() { errc <- e.router.Run(context.WithoutCancel(ctx)) }()
	select {
	case <-e.router.Running():
		if e.deliverer != nil {
			var deliveriesCtx context.Context
			deliveriesCtx, e.stopDeliveries = context.WithCancel(context.WithoutCancel(ctx))
			e.deliveriesDone = make(chan struct{})
			go func() {
				defer close(e.deliveriesDone)
				go e.sweepJobs(deliveriesCtx)
				e.deliverer.Run(deliveriesCtx)
			}()
		}
		return nil
	case err := <-errc:
		return fmt.Errorf("engine: router stopped at start: %w", err)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// sweepJobs deletes jobs older than the retention, once at start and then
// every tenth of the retention (at most hourly).
func (e *Engine) sweepJobs(ctx context.Context) {
	interval := min(e.opts.Retention/10, time.Hour)
	for {
		deleted, err := e.opts.Jobs.DeleteBefore(ctx, time.Now().Add(-e.opts.Retention))
		switch {
		case err != nil && ctx.Err() == nil:
			e.opts.Logger.Error("could not delete expired jobs", "error", err)
		case deleted > 0:
			e.opts.Logger.Info("deleted expired jobs", "count", deleted)
		}
		if sleep(ctx, interval) != nil {
			return
		}
	}
}

// Submit accepts an async job.
func (e *Engine) Submit(ctx context.Context, job *Job) error {
	if e.dispatcher == nil {
		return errors.New("engine: this process runs the worker role and accepts no jobs")
	}
	if err := e.record(ctx, job); err != nil {
		return err
	}
	e.track(job.ID)
	if err := e.dispatcher.Submit(ctx, job); err != nil {
		e.finish(job.ID)
		return err
	}
	return nil
}

// Do runs a direct or sync job and waits for its result until ctx ends.
func (e *Engine) Do(ctx context.Context, job *Job) (*Result, error) {
	if e.dispatcher == nil {
		return nil, errors.New("engine: this process runs the worker role and accepts no jobs")
	}
	if deadline, ok := ctx.Deadline(); ok {
		job.Deadline = deadline
	}
	if err := e.record(ctx, job); err != nil {
		return nil, err
	}
	e.track(job.ID)
	result, err := e.dispatcher.Do(ctx, job)
	if err != nil {
		if ctx.Err() != nil {
			e.abandon(ctx, job)
		}
		e.finish(job.ID)
	}
	return result, err
}

// abandon records that the caller of a direct or sync job stopped waiting,
// so that a worker that has not started it skips it. When the caller closed
// its request, it also stops the render if it runs in this process. A
// worker of another process that is rendering it goes on until the job's
// deadline.
func (e *Engine) abandon(ctx context.Context, job *Job) {
	reason := cancelledError()
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		// The worker's render ends at the same deadline by itself.
		reason = Errorf(CodeTimeout, "the caller's deadline passed before the render ended")
	} else if e.worker != nil {
		e.worker.Cancel(job.ID)
	}
	ctx = context.WithoutCancel(ctx)
	rec, err := e.opts.Jobs.Get(ctx, job.ID)
	if err != nil || rec.RenderedAt != nil {
		return
	}
	if err := e.opts.Jobs.SetResult(ctx, job.ID, FailedResult(job, reason)); err != nil && !errors.Is(err, ErrJobNotFound) {
		e.opts.Logger.Error("could not record that the caller stopped waiting", "jobId", job.ID, "requestId", job.RequestID, "error", err)
	}
}

func (e *Engine) record(ctx context.Context, job *Job) error {
	if err := e.checkQueue(ctx, job.Key); err != nil {
		return err
	}
	err := e.opts.Jobs.Create(ctx, &JobRecord{
		JobID: job.ID, RequestID: job.RequestID, Key: job.Key,
		Mode: job.Mode, Kind: job.Kind, CreatedAt: job.CreatedAt,
	})
	if err != nil {
		return fmt.Errorf("record job %s: %w", job.ID, err)
	}
	return nil
}

// checkQueue refuses a job once a queue bound is reached. The count and the
// creation that follows are not atomic, so concurrent requests may pass a
// bound by a few jobs.
func (e *Engine) checkQueue(ctx context.Context, key string) error {
	limits := e.opts.Queue
	if limits.MaxQueued <= 0 && limits.MaxQueuedPerKey <= 0 {
		return nil
	}
	total, forKey, err := e.opts.Jobs.CountQueued(ctx, key, time.Now().Add(-staleQueuedAfter))
	if err != nil {
		return fmt.Errorf("count queued jobs: %w", err)
	}
	if limits.MaxQueuedPerKey > 0 && forKey >= limits.MaxQueuedPerKey {
		return &QueueFullError{PerKey: true, Limit: limits.MaxQueuedPerKey}
	}
	if limits.MaxQueued > 0 && total >= limits.MaxQueued {
		return &QueueFullError{Limit: limits.MaxQueued}
	}
	return nil
}

// Job returns the state of a job of the named key. A job of another key is
// reported as ErrJobNotFound, so that ids of other keys cannot be probed.
func (e *Engine) Job(ctx context.Context, key, jobID string) (*JobRecord, error) {
	rec, err := e.opts.Jobs.Get(ctx, jobID)
	if err != nil {
		return nil, err
	}
	if rec.Key != key {
		return nil, ErrJobNotFound
	}
	return rec, nil
}

// Redeliver sends an async job's webhook again, in a new round of attempts.
func (e *Engine) Redeliver(ctx context.Context, key, jobID string) error {
	rec, err := e.Job(ctx, key, jobID)
	if err != nil {
		return err
	}
	if rec.Mode != ModeAsync {
		return ErrNoWebhook
	}
	if e.deliverer != nil {
		return e.deliverer.Redeliver(ctx, jobID)
	}
	// An API process without a deliverer queues the delivery in the shared
	// store, where the workers' deliverers find it.
	d, err := e.opts.Jobs.PendingDelivery(ctx, jobID)
	if err != nil {
		return err
	}
	d.Attempt = 0
	return e.opts.Jobs.ScheduleDelivery(ctx, d, time.Now())
}

// Jobs returns the engine's job store.
func (e *Engine) Jobs() JobStore { return e.opts.Jobs }

// StopAccepting makes Submit and Do fail with ErrShuttingDown, so that
// callers retry elsewhere while the process drains.
func (e *Engine) StopAccepting() {
	if e.dispatcher != nil {
		e.dispatcher.Close()
	}
}

// Ready reports whether the engine can take jobs: its renderer is up when
// it renders, and it is not shutting down.
func (e *Engine) Ready() bool {
	if e.dispatcher != nil && e.dispatcher.closing.Load() {
		return false
	}
	if e.opts.Renderer != nil && e.worker != nil {
		return e.opts.Renderer.Ready()
	}
	return true
}

func (e *Engine) track(jobID string) {
	if e.opts.Role != RoleAll {
		return
	}
	e.pendingMu.Lock()
	e.pending[jobID] = struct{}{}
	e.pendingMu.Unlock()
}

func (e *Engine) finish(jobID string) {
	e.pendingMu.Lock()
	defer e.pendingMu.Unlock()
	delete(e.pending, jobID)
	if len(e.pending) == 0 && e.drained != nil {
		close(e.drained)
		e.drained = nil
	}
}

// Drain stops accepting jobs and, when the process runs both roles, waits
// until ctx ends for the jobs it accepted: their renders and webhooks.
func (e *Engine) Drain(ctx context.Context) {
	e.StopAccepting()
	if e.opts.Role != RoleAll {
		return
	}
	e.pendingMu.Lock()
	var wait chan struct{}
	if n := len(e.pending); n > 0 {
		wait = make(chan struct{})
		e.drained = wait
		e.opts.Logger.Info("draining jobs before stopping", "jobs", n)
	}
	e.pendingMu.Unlock()
	if wait == nil {
		return
	}
	select {
	case <-wait:
	case <-ctx.Done():
		e.pendingMu.Lock()
		e.opts.Logger.Warn("stopping with unfinished jobs", "jobs", len(e.pending))
		e.drained = nil
		e.pendingMu.Unlock()
	}
}

// Close drains (see Drain), then stops the router, which waits up to
// Options.ShutdownTimeout for running handlers, the deliverer and the
// transport. Jobs still queued are lost on the in-memory transport and stay
// in the broker on the durable ones.
func (e *Engine) Close(ctx context.Context) error {
	e.Drain(ctx)
	if e.stopDeliveries != nil {
		e.stopDeliveries()
		<-e.deliveriesDone
	}
	return errors.Join(e.router.Close(), e.opts.Transport.Close())
}
