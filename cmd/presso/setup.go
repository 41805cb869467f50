package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/presso-dev/presso/configs"
	"github.com/presso-dev/presso/engine"
	"github.com/presso-dev/presso/engine/outbound"
	"github.com/presso-dev/presso/engine/templates"
	"github.com/presso-dev/presso/storages/presigned"
	"github.com/presso-dev/presso/storages/selector"

	// Every implementation that configuration can choose by name.
	_ "github.com/presso-dev/presso/engine/jobstore"
	_ "github.com/presso-dev/presso/notifiers/webhook"
	_ "github.com/presso-dev/presso/renderers/chromium"
	_ "github.com/presso-dev/presso/storages/local"
	_ "github.com/presso-dev/presso/storages/s3"
	_ "github.com/presso-dev/presso/transports/kafka"
	_ "github.com/presso-dev/presso/transports/memory"
	_ "github.com/presso-dev/presso/transports/postgres"
)

// setFlags collects repeated --set key=value flags.
type setFlags map[string]any

func (s setFlags) String() string { return "" }

func (s setFlags) Set(v string) error {
	key, value, ok := strings.Cut(v, "=")
	if !ok || key == "" {
		return fmt.Errorf("--set takes key=value, such as --set server.addr=0.0.0.0:8080; got %q", v)
	}
	s[key] = value
	return nil
}

type authConfig struct {
	Keys                       []engine.APIKey `koanf:"keys"`
	AnonymousSigningSecret     string          `koanf:"anonymous_signing_secret"`
	AnonymousSigningSecretFile string          `koanf:"anonymous_signing_secret_file"`
}

func newLogger(cfg *configs.Config) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.String("log.level"))); err != nil {
		return nil, fmt.Errorf("log.level %q is invalid: use debug, info, warn or error", cfg.String("log.level"))
	}
	opts := &slog.HandlerOptions{Level: level, ReplaceAttr: readableDuration}
	switch cfg.String("log.format") {
	case "json":
		return slog.New(slog.NewJSONHandler(os.Stderr, opts)), nil
	case "text":
		return slog.New(slog.NewTextHandler(os.Stderr, opts)), nil
	default:
		return nil, fmt.Errorf("log.format %q is invalid: use json or text", cfg.String("log.format"))
	}
}

// readableDuration writes durations as Go writes them ("1.25s"), because
// slog's JSON handler writes them as integer nanoseconds.
func readableDuration(_ []string, a slog.Attr) slog.Attr {
	if a.Value.Kind() == slog.KindDuration {
		a.Value = slog.StringValue(a.Value.Duration().String())
	}
	return a
}

func loadKeyring(cfg *configs.Config, logger *slog.Logger) (*engine.Keyring, error) {
	var auth authConfig
	if err := cfg.Unmarshal("auth", &auth); err != nil {
		return nil, err
	}
	secret := auth.AnonymousSigningSecret
	if len(auth.Keys) == 0 && secret == "" {
		var err error
		secret, err = readOrCreateSecret(auth.AnonymousSigningSecretFile, logger)
		if err != nil {
			return nil, err
		}
	}
	return engine.NewKeyring(auth.Keys, secret)
}

// readOrCreateSecret keeps the signing secret of unauthenticated use in a
// file, so that webhook receivers keep verifying across restarts.
func readOrCreateSecret(path string, logger *slog.Logger) (string, error) {
	if path == "" {
		return "", errors.New("auth.anonymous_signing_secret_file is empty: set it, or set auth.anonymous_signing_secret")
	}
	data, err := os.ReadFile(path)
	if err == nil {
		return strings.TrimSpace(string(data)), nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("read auth.anonymous_signing_secret_file: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", fmt.Errorf("create folder of auth.anonymous_signing_secret_file: %w", err)
	}
	secret := engine.NewSigningSecret()
	if err := os.WriteFile(path, []byte(secret+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("write auth.anonymous_signing_secret_file: %w", err)
	}
	logger.Info("created the webhook signing secret of unauthenticated requests", "file", path)
	return secret, nil
}

func newSecret() string { return engine.NewSigningSecret() }

// components are the parts of an engine built from configuration.
type components struct {
	keys      *engine.Keyring
	transport engine.Transport
	renderer  engine.Renderer
	storage   engine.Storage
	notifier  engine.Notifier
	jobs      engine.JobStore
	templates templates.Store
	engine    *engine.Engine
	// registry holds the Prometheus series served at /metrics.
	registry *prometheus.Registry
}

// build creates the implementations named in the configuration and an
// engine running role.
func build(cfg *configs.Config, role engine.Role, logger *slog.Logger) (*components, error) {
	keys, err := loadKeyring(cfg, logger)
	if err != nil {
		return nil, err
	}
	registry := prometheus.NewRegistry()
	registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	metrics := engine.NewMetrics(registry)
	deps := engine.Deps{Config: cfg, Logger: logger, Keys: keys, Metrics: metrics}
	c := &components{keys: keys, registry: registry}

	if c.transport, err = engine.Transports.New(cfg.String("transport.kind"), deps); err != nil {
		return nil, fmt.Errorf("transport.kind: %w", err)
	}
	if c.jobs, err = engine.JobStores.New(cfg.String("jobs.store"), deps); err != nil {
		c.close()
		return nil, fmt.Errorf("jobs.store: %w", err)
	}
	// Every role builds the storage: API processes serve the local
	// storage's document links, workers write documents.
	if c.storage, err = buildStorage(cfg, deps, logger); err != nil {
		c.close()
		return nil, err
	}
	// Only processes that serve the API read and write templates.
	if role != engine.RoleWorker {
		if c.templates, err = buildTemplateStore(cfg, deps); err != nil {
			c.close()
			return nil, err
		}
	}
	concurrency := 0
	if role != engine.RoleAPI {
		if c.renderer, err = engine.Renderers.New(cfg.String("renderer.kind"), deps); err != nil {
			c.close()
			return nil, kindError("renderer", err)
		}
		if c.notifier, err = engine.Notifiers.New(cfg.String("notifier.kind"), deps); err != nil {
			c.close()
			return nil, kindError("notifier", err)
		}
		var chromium struct {
			MaxPages int `koanf:"max_pages"`
		}
		if err := cfg.Unmarshal("renderer.chromium", &chromium); err != nil {
			c.close()
			return nil, err
		}
		concurrency = chromium.MaxPages
		if concurrency <= 0 {
			concurrency = runtime.NumCPU()
		}
	}

	var policy engine.DeliveryPolicy
	if err := cfg.CheckNotNegative("webhook"); err != nil {
		c.close()
		return nil, err
	}
	if err := cfg.Unmarshal("webhook", &policy); err != nil {
		c.close()
		return nil, err
	}
	var jobs struct {
		Retention time.Duration `koanf:"retention"`
	}
	if err := cfg.Unmarshal("jobs", &jobs); err != nil {
		c.close()
		return nil, err
	}
	var queue engine.QueueLimits
	if err := cfg.Unmarshal("limits", &queue); err != nil {
		c.close()
		return nil, err
	}
	limits, err := loadLimits(cfg)
	if err != nil {
		c.close()
		return nil, err
	}
	var server serverConfig
	if err := cfg.Unmarshal("server", &server); err != nil {
		c.close()
		return nil, err
	}
	c.engine, err = engine.New(engine.Options{
		Role:      role,
		Transport: c.transport,
		Renderer:  c.renderer,
		Storage:   c.storage,
		Notifier:  c.notifier,
		Jobs:      c.jobs,
		Delivery:  policy,
		Retention: jobs.Retention,
		Metrics:   metrics,
		Queue:     queue,
		Limits:    limits,
		// A stopping worker lets its renders finish within the shutdown timeout.
		ShutdownTimeout: server.ShutdownTimeout,
		Concurrency:     concurrency,
		Logger:          logger,
	})
	if err != nil {
		c.close()
		return nil, err
	}
	return c, nil
}

// loadLimits reads the limits section over the built-in bounds.
// kindError names section.kind when no implementation has the configured
// name, and the section otherwise: the implementation's own errors name
// their keys.
func kindError(section string, err error) error {
	if errors.Is(err, engine.ErrUnknownKind) {
		return fmt.Errorf("%s.kind: %w", section, err)
	}
	return fmt.Errorf("%s: %w", section, err)
}

func loadLimits(cfg *configs.Config) (engine.Limits, error) {
	limits := engine.DefaultLimits()
	// 0 turns a bound off, and a negative one is a mistake, not another way
	// of saying so.
	if err := cfg.CheckNotNegative("limits"); err != nil {
		return limits, err
	}
	if err := cfg.Unmarshal("limits", &limits); err != nil {
		return limits, err
	}
	return limits, nil
}

// newGuard builds the outbound guard from the outbound section.
func newGuard(cfg *configs.Config, logger *slog.Logger) (*outbound.Guard, error) {
	var guardConfig outbound.Config
	if err := cfg.Unmarshal("outbound", &guardConfig); err != nil {
		return nil, err
	}
	return outbound.New(guardConfig, logger)
}

// buildStorage wraps the configured default storage in a selector that
// sends each document to the caller's presigned URL, to its key's own
// bucket, or to the default storage.
func buildStorage(cfg *configs.Config, deps engine.Deps, logger *slog.Logger) (engine.Storage, error) {
	defaultStorage, err := engine.Storages.New(cfg.String("storage.kind"), deps)
	if err != nil {
		return nil, fmt.Errorf("storage.kind: %w", err)
	}
	var auth authConfig
	if err := cfg.Unmarshal("auth", &auth); err != nil {
		defaultStorage.Close()
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	perKey, err := selector.PerKeyFromConfig(ctx, auth.Keys, logger)
	if err != nil {
		defaultStorage.Close()
		return nil, err
	}
	var uploaderConfig presigned.Config
	if err := cfg.Unmarshal("storage.presigned", &uploaderConfig); err != nil {
		selector.New(defaultStorage, perKey, nil).Close()
		return nil, err
	}
	// Uploads to the caller's presigned URL go through the outbound guard.
	guard, err := newGuard(cfg, logger)
	if err != nil {
		selector.New(defaultStorage, perKey, nil).Close()
		return nil, err
	}
	uploaderConfig.Transport = guard.HTTPTransport()
	uploader, err := presigned.NewUploader(uploaderConfig, logger)
	if err != nil {
		selector.New(defaultStorage, perKey, nil).Close()
		return nil, fmt.Errorf("storage.presigned: %w", err)
	}
	return selector.New(defaultStorage, perKey, uploader), nil
}

// buildTemplateStore opens the template store that templates.store names,
// by default the same kind as storage.kind.
func buildTemplateStore(cfg *configs.Config, deps engine.Deps) (templates.Store, error) {
	kind := cfg.String("templates.store")
	if kind == "" {
		kind = cfg.String("storage.kind")
	}
	store, err := templates.Stores.New(kind, deps)
	if err != nil {
		return nil, fmt.Errorf("templates.store: %w", err)
	}
	return store, nil
}

// close releases what build created, renderer last so that no job is cut
// off by a browser going away under it.
func (c *components) close() error {
	var errs []error
	if c.notifier != nil {
		errs = append(errs, c.notifier.Close())
	}
	if c.storage != nil {
		errs = append(errs, c.storage.Close())
	}
	if c.templates != nil {
		errs = append(errs, c.templates.Close())
	}
	if c.renderer != nil {
		errs = append(errs, c.renderer.Close())
	}
	if c.jobs != nil {
		errs = append(errs, c.jobs.Close())
	}
	if c.engine == nil && c.transport != nil {
		errs = append(errs, c.transport.Close())
	}
	return errors.Join(errs...)
}

func parseFlags(fs *flag.FlagSet, args []string) error {
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0) // the flag package printed the usage already
	}
	if err == nil && fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q: see %s -h", fs.Arg(0), fs.Name())
	}
	return err
}
