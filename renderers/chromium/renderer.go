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
// Config.Chromium.MaxPages at once, each in a fresh incognito tab.
type Renderer struct {
	cfg     Config
	logger  *slog.Logger
	browser *browser
	guard   *outbound.Guard
	// proxy is the guard's egress proxy that Chromium must use.
	proxy *outbound.Proxy
	// slots holds one value per render under way.
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
	b, err := launchBrowser(cfg, proxy.URL())
	if err != nil {
		proxy.Close()
		return nil, err
	}
	logger.Info("chromium started", "version", b.version, "pid", b.pid, "maxPages", cfg.Chromium.MaxPages, "timeout", cfg.Timeout)
	return &Renderer{
		cfg:     cfg,
		logger:  logger,
		browser: b,
		guard:   guard,
		proxy:   proxy,
		slots:   make(chan struct{}, cfg.Chromium.MaxPages),
	}, nil
}

// Render loads the job's page and writes its PDF or screenshot to w. It
// first waits for a free page for as long as ctx allows. The render itself
// is bounded by Config.Timeout or the deadline of ctx, whichever is sooner.
func (r *Renderer) Render(ctx context.Context, job *engine.Job, w io.Writer) error {
	if r.closed.Load() {
		return errClosed
	}
	logger := r.logger.With("jobId", job.ID, "requestId", job.RequestID)

	select {
	case r.slots <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("waiting for a free chromium page: %w", ctx.Err())
	}
	defer func() { <-r.slots }()

	limit := r.cfg.Timeout
	if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < limit {
		limit = max(time.Until(deadline), 0)
	}
	renderCtx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()

	started := time.Now()
	counter := &countingWriter{w: w}
	err := r.render(renderCtx, job, counter, limit, logger)
	if err != nil {
		logger.Debug("render failed", "kind", job.Kind, "duration", time.Since(started), "error", err)
		return err
	}
	logger.Debug("render finished", "kind", job.Kind, "duration", time.Since(started), "bytes", counter.n)
	return nil
}

// render runs one job in a fresh tab: check the request, open the tab,
// set it up, load the content, wait for what the request waits for, write
// the output.
func (r *Renderer) render(ctx context.Context, job *engine.Job, w io.Writer, limit time.Duration, logger *slog.Logger) error {
	req := &job.Request
	if errs := req.ValidatePage(job.Kind); len(errs) > 0 {
		return invalidRequest(errs)
	}
	c, err := contentOf(req)
	if err != nil {
		return err
	}
	setup, err := newPageSetup(req)
	if err != nil {
		return err
	}
	waits, err := newWaitTasks(&req.Page)
	if err != nil {
		return err
	}
	var (
		printing printJob
		shooting screenshotJob
		stage    string
	)
	switch job.Kind {
	case engine.KindPDF:
		printing, err = newPrintJob(req.Page.PDF)
		stage = "print"
	case engine.KindScreenshot:
		shooting, err = newScreenshotJob(req)
		stage = "screenshot"
	default:
		err = engine.Errorf(engine.CodeInvalidRequest, "unknown job kind %q: use pdf or screenshot", job.Kind)
	}
	if err != nil {
		return err
	}

	if req.Page.Goto != nil {
		if err := r.checkMainURL(ctx, req.Page.Goto.URL); err != nil {
			return err
		}
	}
	session, err := r.newProxySession(job)
	if err != nil {
		return err
	}
	p, err := openPage(ctx, r.browser, session)
	if err != nil {
		return stageError(ctx, "navigation", limit, err)
	}
	defer func() {
		if err := p.close(); err != nil {
			logger.Warn("closing the render's tab failed", "error", err)
		}
	}()

	if err := p.prepare(req.Viewport(), needsNetwork(c.waitUntil) || setup.needsNetwork()); err != nil {
		return stageError(ctx, "navigation", limit, err)
	}
	var auth *authenticator
	if setup.credentials != nil {
		auth = watchAuthentication(ctx, p, *setup.credentials, logger)
	}
	if err := setup.apply(p, auth); err != nil {
		return stageError(ctx, "navigation", limit, err)
	}
	watcher := watchPage(ctx, p, logger)
	if err := load(ctx, p, watcher, c); err != nil {
		// A refused main page fails as a tunnel error; say why instead.
		if refused := r.checkRefusals(p); refused != nil {
			return refused
		}
		return stageError(ctx, "navigation", limit, err)
	}
	for _, task := range waits {
		if err := task.run(ctx, p, setup.scriptsDisabled); err != nil {
			return stageError(ctx, task.stage, limit, err)
		}
	}
	if err := r.checkRefusals(p); err != nil {
		return err
	}

	if job.Kind == engine.KindPDF {
		err = printPDF(p, printing, w)
	} else {
		err = capture(p, shooting, w)
	}
	if err != nil {
		return stageError(ctx, stage, limit, err)
	}
	// Requests made while printing count too: the document is discarded.
	return r.checkRefusals(p)
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

// Ready reports whether Chromium is running and responds to DevTools
// commands. It sends one command, so it takes up to two seconds when
// Chromium hangs.
func (r *Renderer) Ready() bool {
	return !r.closed.Load() && r.browser.ping()
}

// Close stops Chromium and removes its user data dir. Renders still under
// way fail; callers stop submitting jobs and let the running ones finish
// first. Close is safe to call more than once.
func (r *Renderer) Close() error {
	r.closeOnce.Do(func() {
		r.closed.Store(true)
		r.closeErr = errors.Join(r.browser.close(), r.proxy.Close())
		if r.closeErr != nil {
			r.logger.Error("stopping chromium failed", "pid", r.browser.pid, "error", r.closeErr)
			return
		}
		r.logger.Info("chromium stopped", "pid", r.browser.pid)
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
