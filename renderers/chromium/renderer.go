package chromium

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-rod/rod/lib/proto"

	"github.com/presso-dev/presso/engine"
	"github.com/presso-dev/presso/engine/outbound"
)

func init() {
	engine.Renderers.Register("chromium", New)
}

var _ engine.Renderer = (*Renderer)(nil)

// errClosed is returned by Render after Close.
var errClosed = fmt.Errorf("chromium renderer is closed: %w", engine.ErrShuttingDown)

// Renderer renders jobs in one long-lived Chromium process, at most
// Config.Chromium.MaxPages at once, each in a fresh incognito tab. Its
// supervisor replaces the process when it is lost or due for a recycle.
type Renderer struct {
	cfg      Config
	logger   *slog.Logger
	browsers *supervisor
	guard    *outbound.Guard
	// proxy is the guard's egress proxy that Chromium must use.
	proxy *outbound.Proxy
	// slots holds one value per render under way, from the wait for a
	// browser to the closing of its tab.
	slots chan struct{}

	closed    atomic.Bool
	closeOnce sync.Once
	closeErr  error
}

// New builds a renderer from the "renderer" section of deps.Config. It is
// the factory registered under the name "chromium".
func New(deps engine.Deps) (engine.Renderer, error) {
	var cfg Config
	var guardConfig outbound.Config
	if deps.Config != nil {
		if err := deps.Config.Unmarshal("renderer", &cfg); err != nil {
			return nil, fmt.Errorf("reading the renderer configuration failed: %w", err)
		}
		if err := deps.Config.Unmarshal("outbound", &guardConfig); err != nil {
			return nil, fmt.Errorf("reading the outbound configuration failed: %w", err)
		}
		var failOn struct {
			FailOnRefusal *bool `koanf:"fail_on_refusal"`
		}
		if err := deps.Config.Unmarshal("outbound", &failOn); err != nil {
			return nil, err
		}
		cfg.FailOnRefusal = failOn.FailOnRefusal == nil || *failOn.FailOnRefusal
	}
	guard, err := outbound.New(guardConfig, deps.Logger)
	if err != nil {
		return nil, err
	}
	cfg.Guard = guard
	cfg.Metrics = deps.Metrics
	r, err := NewWithConfig(cfg, deps.Logger)
	if err != nil {
		return nil, err
	}
	return r, nil
}

// NewWithConfig fills the defaults of cfg, checks it and starts Chromium.
// A nil logger logs to slog.Default(). The caller must call Close.
func NewWithConfig(cfg Config, logger *slog.Logger) (*Renderer, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.Default()
	}
	logger = logger.With("renderer", "chromium")

	guard := cfg.Guard
	if guard == nil {
		// Safe without configuration: only public addresses are reachable.
		if guard, err = outbound.New(outbound.Config{}, logger); err != nil {
			return nil, err
		}
	}
	proxy, err := guard.StartProxy(context.Background())
	if err != nil {
		return nil, fmt.Errorf("starting the outbound proxy failed: %w", err)
	}
	browsers, err := startSupervisor(cfg, logger, proxy)
	if err != nil {
		proxy.Close()
		return nil, err
	}
	b := browsers.currentBrowser()
	logger.Info("chromium started", "version", b.version, "pid", b.pid, "maxPages", cfg.Chromium.MaxPages, "timeout", cfg.Timeout,
		"recycleAfter", *cfg.Chromium.RecycleAfter, "recycleMemoryMB", cfg.Chromium.RecycleMemoryMB, "preparedPages", *cfg.Chromium.PreparedPages)
	return &Renderer{
		cfg:      cfg,
		logger:   logger,
		browsers: browsers,
		guard:    guard,
		proxy:    proxy,
		slots:    make(chan struct{}, cfg.Chromium.MaxPages),
	}, nil
}

// Render loads the job's page and writes its PDF or screenshot to w. It
// first waits for a free page for as long as ctx allows. The render itself
// is bounded by Config.Timeout or the deadline of ctx, whichever is sooner,
// and so is a wait for Chromium to start again after it was lost. The tab
// is closed after Render returns.
func (r *Renderer) Render(ctx context.Context, job *engine.Job, w io.Writer) error {
	if r.closed.Load() {
		return errClosed
	}
	logger := r.logger.With("jobId", job.ID, "requestId", job.RequestID)
	plan, err := newRenderPlan(job)
	if err != nil {
		return err
	}

	select {
	case r.slots <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("waiting for a free chromium page: %w", ctx.Err())
	}
	releaseSlot := func() { <-r.slots }

	limit := r.cfg.Timeout
	if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < limit {
		limit = max(time.Until(deadline), 0)
	}
	renderCtx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()

	b, err := r.browsers.acquire(renderCtx)
	if err != nil {
		releaseSlot()
		switch {
		case errors.Is(renderCtx.Err(), context.DeadlineExceeded) && ctx.Err() == nil:
			return engine.Errorf(engine.CodeTimeout, "timed out after %s waiting for Chromium to start again", limit.Round(time.Millisecond))
		case ctx.Err() != nil:
			return fmt.Errorf("render cancelled while waiting for Chromium to start again: %w", ctx.Err())
		}
		return err
	}
	// A render on a browser that exits ends at once instead of at its
	// time limit.
	renderCtx, cancelCause := context.WithCancelCause(renderCtx)
	defer cancelCause(nil)
	go func() {
		select {
		case <-b.exited:
			cancelCause(errBrowserLost)
		case <-renderCtx.Done():
		}
	}()

	started := time.Now()
	counter := &countingWriter{w: w}
	p, err := r.render(renderCtx, b, job, plan, counter, limit, logger)
	// The caller waits for the document only. Closing the tab, about 20 ms,
	// happens meanwhile and still holds the slot and the browser. The next
	// prepared tab is started only now, because preparing it while this
	// render ran made the render slower by about as much as the prepared
	// tab saved, on a machine with 2 cores.
	go func() {
		b.pool.fill()
		if p != nil {
			// Close may stop Chromium while the tab closes, which fails then.
			if err := p.close(); err != nil && !r.closed.Load() && !b.isLost() && !b.processGone() {
				logger.Warn("closing the render's tab failed", "error", err)
			}
		}
		b.active.Done()
		releaseSlot()
	}()
	if err != nil && ctx.Err() == nil && b.diedDuring(renderCtx, err) {
		err = engine.Errorf(engine.CodeRenderFailed, "Chromium %s during the render; retry the request", b.lostReason())
	}
	if err != nil {
		logger.Debug("render failed", "kind", job.Kind, "duration", time.Since(started), "error", err)
		return err
	}
	logger.Debug("render finished", "kind", job.Kind, "duration", time.Since(started), "bytes", counter.n)
	return nil
}

// renderPlan is a job's request, checked and decoded before any tab is
// opened.
type renderPlan struct {
	content  content
	setup    pageSetup
	waits    []waitTask
	printing printJob
	shooting screenshotJob
	// stage names the output step in timeouts: print or screenshot.
	stage string
}

// newRenderPlan checks the job's request; its errors are invalid_request
// JobErrors.
func newRenderPlan(job *engine.Job) (*renderPlan, error) {
	req := &job.Request
	if errs := req.ValidatePage(job.Kind); len(errs) > 0 {
		return nil, invalidRequest(errs)
	}
	plan := &renderPlan{}
	var err error
	if plan.content, err = contentOf(req); err != nil {
		return nil, err
	}
	if plan.setup, err = newPageSetup(req); err != nil {
		return nil, err
	}
	if plan.waits, err = newWaitTasks(&req.Page); err != nil {
		return nil, err
	}
	switch job.Kind {
	case engine.KindPDF:
		plan.printing, err = newPrintJob(req.Page.PDF)
		plan.stage = "print"
	case engine.KindScreenshot:
		plan.shooting, err = newScreenshotJob(req)
		plan.stage = "screenshot"
	default:
		err = engine.Errorf(engine.CodeInvalidRequest, "unknown job kind %q: use pdf or screenshot", job.Kind)
	}
	if err != nil {
		return nil, err
	}
	return plan, nil
}

// render runs one job in a fresh tab of b: take a prepared tab or open
// one, set it up, load the content, wait for what the request waits for,
// write the output. It returns the tab, which the caller closes, or nil
// if none was opened.
func (r *Renderer) render(ctx context.Context, b *browser, job *engine.Job, plan *renderPlan, w io.Writer, limit time.Duration, logger *slog.Logger) (*page, error) {
	req := &job.Request
	c, setup := plan.content, plan.setup
	if req.Page.Goto != nil {
		if err := r.checkMainURL(ctx, req.Page.Goto.URL); err != nil {
			return nil, err
		}
	}
	p, err := r.openTab(ctx, b, job, logger)
	if err != nil {
		return nil, stageError(ctx, "navigation", limit, err)
	}

	if err := p.prepare(req.Viewport(), needsNetwork(c.waitUntil) || setup.needsNetwork()); err != nil {
		return p, stageError(ctx, "navigation", limit, err)
	}
	var auth *authenticator
	if setup.credentials != nil {
		auth = watchAuthentication(ctx, p, *setup.credentials, logger)
	}
	if err := setup.apply(p, auth); err != nil {
		return p, stageError(ctx, "navigation", limit, err)
	}
	watcher := watchPage(ctx, p, logger)
	if err := load(ctx, p, watcher, c); err != nil {
		// A refused main page fails as a tunnel error; say why instead.
		if refused := r.checkRefusals(p); refused != nil {
			return p, refused
		}
		return p, stageError(ctx, "navigation", limit, err)
	}
	for _, task := range plan.waits {
		if err := task.run(ctx, p, setup.scriptsDisabled); err != nil {
			return p, stageError(ctx, task.stage, limit, err)
		}
	}
	if err := r.checkRefusals(p); err != nil {
		return p, err
	}
	// Chromium prints and captures only once the document has loaded.
	// When the request waited for less, such as domcontentloaded, a
	// resource that never finishes would hold the render until its time
	// limit, so the loads still running are stopped, as the browser's stop
	// button does.
	if !watcher.hasLoaded() {
		if err := (proto.PageStopLoading{}).Call(p.session); err != nil {
			return p, stageError(ctx, plan.stage, limit, err)
		}
	}

	if job.Kind == engine.KindPDF {
		err = printPDF(p, plan.printing, w)
	} else {
		err = capture(p, plan.shooting, w)
	}
	if err != nil {
		return p, stageError(ctx, plan.stage, limit, err)
	}
	// Requests made while printing count too: the document is discarded.
	return p, r.checkRefusals(p)
}

// openTab returns a tab for the job: a prepared one when b has one ready,
// otherwise a new one with a proxy session of its own.
func (r *Renderer) openTab(ctx context.Context, b *browser, job *engine.Job, logger *slog.Logger) (*page, error) {
	if p := b.pool.take(ctx); p != nil {
		// The proxy session got its label before the job was known, so
		// this line ties the label to the job.
		logger.Debug("rendering in a prepared tab", "proxySession", p.proxyLabel)
		return p, nil
	}
	session, err := newProxySession(r.proxy, r.cfg.Metrics, job.ID)
	if err != nil {
		return nil, err
	}
	return openPage(ctx, b, session)
}

// stageError turns the error of one render stage into the error Render
// returns: JobErrors unchanged, a timeout JobError when the render's
// deadline has passed, and the caller's cancellation as it is.
func stageError(ctx context.Context, stage string, limit time.Duration, err error) error {
	var jobErr *engine.JobError
	switch {
	case errors.As(err, &jobErr):
		return jobErr
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return engine.Errorf(engine.CodeTimeout, "timed out after %s waiting for %s", limit.Round(time.Millisecond), stage)
	case ctx.Err() != nil:
		return fmt.Errorf("render cancelled during %s: %w", stage, ctx.Err())
	}
	return fmt.Errorf("chromium %s stage failed: %w", stage, err)
}

// invalidRequest joins the violations that engine.RenderRequest.ValidatePage
// found into one invalid_request JobError.
func invalidRequest(errs []engine.FieldError) *engine.JobError {
	messages := make([]string, len(errs))
	for i, fe := range errs {
		messages[i] = fe.Message
	}
	return engine.Errorf(engine.CodeInvalidRequest, "%s", strings.Join(messages, "; "))
}

// Ready reports whether a Chromium process is there for new renders and
// responds to a DevTools command. It sends one command, so it takes up to
// two seconds when Chromium hangs. It is false while Chromium is being
// started again after it was lost, not during a recycle.
func (r *Renderer) Ready() bool {
	if r.closed.Load() {
		return false
	}
	b := r.browsers.currentBrowser()
	return b != nil && b.ping(r.cfg.Chromium.pingTimeout)
}

// Close stops every Chromium process of the renderer and removes their
// user data dirs. Renders still under way fail; callers stop submitting
// jobs and let the running ones finish first. Close is safe to call more
// than once.
func (r *Renderer) Close() error {
	r.closeOnce.Do(func() {
		r.closed.Store(true)
		r.closeErr = errors.Join(r.browsers.close(), r.proxy.Close())
		if r.closeErr != nil {
			r.logger.Error("stopping chromium failed", "error", r.closeErr)
			return
		}
		r.logger.Info("chromium stopped", "browsersStarted", r.browsers.launches.Load())
	})
	return r.closeErr
}

// countingWriter counts the bytes written through it, for the log.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
