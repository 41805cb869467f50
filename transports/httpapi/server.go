package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"

	"github.com/presso-dev/presso/engine"
	"github.com/presso-dev/presso/engine/outbound"
	"github.com/presso-dev/presso/engine/templates"
)

// Runner is what the HTTP front needs from the engine.
type Runner interface {
	// Submit accepts an async job.
	Submit(ctx context.Context, job *engine.Job) error
	// Do runs a direct or sync job and waits for its result until ctx ends.
	Do(ctx context.Context, job *engine.Job) (*engine.Result, error)
	// Ready reports whether jobs can be taken now.
	Ready() bool
	// Job returns a job of the named key, or engine.ErrJobNotFound.
	Job(ctx context.Context, key, jobID string) (*engine.JobRecord, error)
	// Redeliver sends an async job's webhook again.
	Redeliver(ctx context.Context, key, jobID string) error
	// Jobs returns the job store, which also keeps idempotent answers.
	Jobs() engine.JobStore
}

// Options configures the HTTP front.
type Options struct {
	Engine Runner
	Keys   *engine.Keyring
	// Documents serves stored documents under engine.DocumentPath; nil
	// when the storage hands out its own URLs.
	Documents http.Handler
	// RenderTimeout is the time limit of one render. Direct and sync
	// requests wait for it plus QueueWait. Default 30s.
	RenderTimeout time.Duration
	// QueueWait is how long a direct or sync job may wait for a free
	// renderer before its render starts. Default 15s.
	QueueWait time.Duration
	// Metrics serves GET /metrics in the Prometheus format; nil leaves the
	// route out.
	Metrics http.Handler
	// Guard checks doppio.webhook.url and doppio.presignedUrl when a request
	// arrives, so that an internal target is refused with a 400 at once;
	// nil skips the check (the notifier and uploader still enforce it).
	Guard *outbound.Guard
	// Templates keeps the stored templates; nil keeps them in memory.
	Templates templates.Store
	// Limits bound what one request may ask for; the zero value means
	// engine.DefaultLimits.
	Limits engine.Limits
	// RateLimit bounds the render requests of each API key.
	RateLimit RateLimit
	// MaxBodyBytes bounds request bodies; larger ones get 413. Default 10 MiB.
	MaxBodyBytes int64
	// BodyReadTimeout bounds the time a client takes to send a request
	// body; a slower one gets 408. Default 60s, time for 10 MiB at about
	// 1.4 Mbit/s.
	BodyReadTimeout time.Duration
	Logger          *slog.Logger
	Version         string
}

// Server is the HTTP front.
type Server struct {
	opts    Options
	limiter *keyLimiter
	// busy counts the API operations running, for WaitIdle.
	busy    atomic.Int64
	mux     *http.ServeMux
	api     huma.API
	handler http.Handler
}

// New builds the routes.
func New(opts Options) *Server {
	if opts.RenderTimeout <= 0 {
		opts.RenderTimeout = 30 * time.Second
	}
	if opts.QueueWait <= 0 {
		opts.QueueWait = 15 * time.Second
	}
	if opts.BodyReadTimeout <= 0 {
		opts.BodyReadTimeout = 60 * time.Second
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = 10 << 20
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Limits == (engine.Limits{}) {
		opts.Limits = engine.DefaultLimits()
	}
	if opts.Version == "" {
		opts.Version = "dev"
	}

	s := &Server{opts: opts, mux: http.NewServeMux(), limiter: newKeyLimiter(opts.RateLimit)}
	config := huma.DefaultConfig("Presso", opts.Version)
	config.Info.Description = apiDescription
	config.DocsPath = ""
	// huma adds a "$schema" link to JSON answers by default; the Doppio
	// answers and webhook payloads have a fixed set of fields.
	config.CreateHooks = nil
	config.Components.SecuritySchemes = map[string]*huma.SecurityScheme{
		"bearer": {Type: "http", Scheme: "bearer", Description: "An API key of auth.keys, sent as `Authorization: Bearer <key>`."},
	}
	s.api = humago.New(s.mux, config)
	s.api.UseMiddleware(s.countBusy, s.authenticate, s.limitRate)

	s.registerRenderRoutes()
	s.registerJobRoutes()
	s.registerTemplateRoutes()
	s.registerHealthRoutes()
	s.mux.Handle("GET /docs", docsHandler())
	s.mux.Handle("GET /docs/assets/", docsAssetsHandler())
	if opts.Metrics != nil {
		s.mux.Handle("GET /metrics", opts.Metrics)
	}
	if opts.Documents != nil {
		s.mux.Handle(engine.DocumentPath, opts.Documents)
	}
	s.handler = s.withRequestID(s.withRouteProblems(s.mux))
	return s
}

func (s *Server) countBusy(ctx huma.Context, next func(huma.Context)) {
	s.busy.Add(1)
	defer s.busy.Add(-1)
	next(ctx)
}

// WaitIdle returns once no API operation is running, or when ctx ends.
func (s *Server) WaitIdle(ctx context.Context) {
	ticker := time.NewTicker(20 * time.Millisecond)
	defer ticker.Stop()
	for s.busy.Load() > 0 {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

// Handler returns the root handler, with request ids and access logs.
func (s *Server) Handler() http.Handler { return s.handler }

// API returns the huma API, for tests and for adding routes.
func (s *Server) API() huma.API { return s.api }

const apiDescription = `Presso renders HTML or a URL to a PDF or a screenshot with Chromium.
It speaks the render API of the hosted service Doppio: a client written for
that API switches to Presso by changing its base URL and key.

Each render comes in three modes: **direct** answers with the document,
**sync** stores it and answers with its URL, **async** answers at once and
later calls the request's webhook with the URL, signed with the key's
signing secret (headers x-doppio-payload-signature, and webhook-id,
webhook-timestamp and webhook-signature as in Standard Webhooks).

Errors are problem documents (application/problem+json) that also carry the
Doppio fields statusCode, error and message; each message names the field
at fault. Unknown fields are rejected, so that a typo does not silently
change a document.`
