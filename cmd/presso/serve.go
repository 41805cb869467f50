package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os/signal"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/presso-dev/presso/configs"
	"github.com/presso-dev/presso/engine"
	"github.com/presso-dev/presso/transports/httpapi"
)

type serverConfig struct {
	Addr            string        `koanf:"addr"`
	PublicURL       string        `koanf:"public_url"`
	MaxBodyBytes    int64         `koanf:"max_body_bytes"`
	BodyReadTimeout time.Duration `koanf:"body_read_timeout"`
	ShutdownTimeout time.Duration `koanf:"shutdown_timeout"`
}

type workerConfig struct {
	Addr string `koanf:"addr"`
}

func runServe(args []string) error {
	fs := flag.NewFlagSet("presso serve", flag.ContinueOnError)
	configFile := fs.String("config", "", "YAML configuration file; every key and default is in configs/presso.yaml")
	roleFlag := fs.String("role", "all", "what this process runs: all (API and rendering), api (HTTP front, no browser) or worker (rendering and webhooks, health and metrics only)")
	sets := setFlags{}
	fs.Var(sets, "set", "override one configuration key, key=value; repeatable")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	role := engine.Role(*roleFlag)
	if role != engine.RoleAll && role != engine.RoleAPI && role != engine.RoleWorker {
		return fmt.Errorf("--role %q is invalid: use all, api or worker", *roleFlag)
	}
	cfg, err := configs.Load(*configFile, sets)
	if err != nil {
		return err
	}
	logger, err := newLogger(cfg)
	if err != nil {
		return err
	}
	logger = logger.With("role", string(role))

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	svc, err := newService(ctx, cfg, role, logger)
	if err != nil {
		return err
	}

	var addr string
	var handler http.Handler
	if role == engine.RoleWorker {
		var worker workerConfig
		if err := cfg.Unmarshal("worker", &worker); err != nil {
			svc.shutdown(context.Background())
			return err
		}
		addr, handler = worker.Addr, svc.healthHandler()
	} else {
		addr, handler = svc.server.Addr, svc.api.Handler()
		if err := checkListenAddress(addr, svc.keys, logger); err != nil {
			svc.shutdown(context.Background())
			return err
		}
	}
	listener, err := net.Listen("tcp", addr)
	if err != nil {
		svc.shutdown(context.Background())
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	httpServer := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- httpServer.Serve(listener) }()
	logger.Info("presso started", "addr", listener.Addr().String(), "publicUrl", svc.server.PublicURL,
		"transport", cfg.String("transport.kind"), "storage", cfg.String("storage.kind"), "jobStore", cfg.String("jobs.store"), "version", version)

	select {
	case err := <-serveErr:
		svc.shutdown(context.Background())
		return fmt.Errorf("http server stopped: %w", err)
	case <-ctx.Done():
	}
	stop() // a second signal stops the process at once

	logger.Info("stopping: finishing requests and jobs", "timeout", svc.server.ShutdownTimeout.String())
	shutdownCtx, cancel := context.WithTimeout(context.Background(), svc.server.ShutdownTimeout)
	defer cancel()
	// New render requests get 503 with Retry-After while the
	// requests and jobs already running finish; only then does the
	// listener close.
	svc.engine.StopAccepting()
	if svc.api != nil {
		svc.api.WaitIdle(shutdownCtx)
	}
	svc.engine.Drain(shutdownCtx)
	httpErr := httpServer.Shutdown(shutdownCtx)
	if err := errors.Join(httpErr, svc.shutdown(shutdownCtx)); err != nil {
		logger.Warn("stopped with errors", "error", err)
	}
	logger.Info("presso stopped")
	return nil
}

// service is a running engine with its HTTP front, without a listener.
type service struct {
	*components
	api    *httpapi.Server
	server serverConfig
}

// newService builds the implementations named in cfg for role, starts the
// engine and builds the HTTP front.
func newService(ctx context.Context, cfg *configs.Config, role engine.Role, logger *slog.Logger) (*service, error) {
	var server serverConfig
	if err := cfg.Unmarshal("server", &server); err != nil {
		return nil, err
	}
	var renderer struct {
		Timeout time.Duration `koanf:"timeout"`
	}
	if err := cfg.Unmarshal("renderer", &renderer); err != nil {
		return nil, err
	}
	var rateLimit httpapi.RateLimit
	if err := cfg.Unmarshal("limits", &rateLimit); err != nil {
		return nil, err
	}

	limits, err := loadLimits(cfg)
	if err != nil {
		return nil, err
	}
	guard, err := newGuard(cfg, logger)
	if err != nil {
		return nil, err
	}
	c, err := build(cfg, role, logger)
	if err != nil {
		return nil, err
	}
	if err := c.engine.Start(ctx); err != nil {
		c.close()
		return nil, err
	}
	svc := &service{components: c, server: server}
	if role == engine.RoleWorker {
		return svc, nil
	}

	var documents http.Handler
	if ds, ok := c.storage.(engine.DocumentServer); ok {
		documents = ds.DocumentHandler()
	}
	svc.api = httpapi.New(httpapi.Options{
		Engine:          c.engine,
		Keys:            c.keys,
		Documents:       documents,
		Templates:       c.templates,
		Guard:           guard,
		Metrics:         promhttp.HandlerFor(c.registry, promhttp.HandlerOpts{}),
		RenderTimeout:   renderer.Timeout,
		RateLimit:       rateLimit,
		Limits:          limits,
		MaxBodyBytes:    server.MaxBodyBytes,
		BodyReadTimeout: server.BodyReadTimeout,
		Logger:          logger,
		Version:         version,
	})
	return svc, nil
}

// healthHandler serves what a worker exposes: liveness, readiness and metrics.
func (s *service) healthHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"status":"ok"}`))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if !s.engine.Ready() {
			w.Header().Set("Retry-After", "5")
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte(`{"status":"not ready"}`))
			return
		}
		w.Write([]byte(`{"status":"ready"}`))
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{}))
	return mux
}

// shutdown drains the engine until ctx ends, then releases every component.
func (s *service) shutdown(ctx context.Context) error {
	return errors.Join(s.engine.Close(ctx), s.close())
}

// checkListenAddress refuses a non-loopback address while authentication
// is off, because anyone who reaches the port could then render with the
// operator's browser and network.
func checkListenAddress(addr string, keys *engine.Keyring, logger *slog.Logger) error {
	if keys.Enabled() {
		return nil
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("server.addr %q is invalid: use host:port, such as 127.0.0.1:8080", addr)
	}
	ip := net.ParseIP(host)
	if host == "localhost" || (ip != nil && ip.IsLoopback()) {
		logger.Warn("authentication is off: no auth.keys configured; listening on loopback only", "addr", addr)
		return nil
	}
	return fmt.Errorf("refusing to listen on %s without authentication: configure auth.keys, or listen on a loopback address such as 127.0.0.1:8080", addr)
}
