// Command embedded renders a PDF with Presso's engine inside the program
// itself: no HTTP server and no broker, only the in-memory transport and a
// Chromium process that the renderer starts and stops.
//
//	go run ./examples/embedded -o example.pdf
//	go run ./examples/embedded -html invoice.html -format A4 -o invoice.pdf
//
// It builds every part from its package, as a program that embeds Presso
// would: the Chromium renderer, local storage (where sync and async jobs
// keep their documents), the webhook notifier (for async jobs), the
// in-memory job store and transport, and the engine that joins them.
package main

import (
	"context"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/presso-dev/presso/engine"
	"github.com/presso-dev/presso/engine/jobstore"
	"github.com/presso-dev/presso/engine/outbound"
	"github.com/presso-dev/presso/notifiers/webhook"
	"github.com/presso-dev/presso/renderers/chromium"
	"github.com/presso-dev/presso/storages/local"
	"github.com/presso-dev/presso/transports/memory"
)

// sampleHTML is rendered when no -html file is given.
const sampleHTML = `<!doctype html>
<html><head><meta charset="utf-8"><title>Embedded Presso</title>
<style>body { font-family: sans-serif; margin: 2cm; } td { padding: 4px 12px; }</style></head>
<body>
<h1>Invoice 2026-0042</h1>
<p>Rendered by Presso's engine, embedded in a Go program.</p>
<table><tr><td>Rendering</td><td>1</td><td>EUR 12.00</td></tr></table>
</body></html>`

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "embedded:", err)
		os.Exit(1)
	}
}

// run parses args, renders the PDF and writes it to the -o file. Warnings
// and errors of the engine go to logs.
func run(ctx context.Context, args []string, logs io.Writer) error {
	flags := flag.NewFlagSet("embedded", flag.ContinueOnError)
	output := flags.String("o", "", "output PDF file (required)")
	htmlFile := flags.String("html", "", "HTML file to render (default: a sample invoice)")
	format := flags.String("format", "A4", "paper format, such as A4 or Letter")
	bin := flags.String("chromium", chromium.DefaultBin, "Chromium executable")
	if err := flags.Parse(args); err != nil {
		return err
	}
	if *output == "" {
		return errors.New("-o is required: the file to write the PDF to")
	}
	html := []byte(sampleHTML)
	if *htmlFile != "" {
		var err error
		if html, err = os.ReadFile(*htmlFile); err != nil {
			return err
		}
	}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn}))

	req := engine.RenderRequest{}
	req.Page.SetContent = &engine.SetContentOptions{HTML: base64.StdEncoding.EncodeToString(html)}
	req.Page.PDF = &engine.PDFOptions{Format: *format, PrintBackground: true}
	// Validate returns the field errors for which the HTTP API responds 400.
	if errs := req.Validate(engine.KindPDF, engine.ModeDirect); len(errs) > 0 {
		return errs[0]
	}

	presso, err := start(ctx, *bin, logger)
	if err != nil {
		return err
	}
	defer presso.close()

	renderCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	result, err := presso.engine.Do(renderCtx, engine.NewJob(engine.KindPDF, engine.ModeDirect, engine.AnonymousKey, req))
	if err != nil {
		return err
	}
	if result.Status != engine.StatusSuccess {
		return fmt.Errorf("render failed (%s): %s", result.Error.Code, result.Error.Message)
	}
	return os.WriteFile(*output, result.Document, 0o644)
}

// embedded is a running engine and the parts it must close.
type embedded struct {
	engine   *engine.Engine
	renderer *chromium.Renderer
	storage  *local.Storage
	dataDir  string
}

// start builds the parts and starts the engine. The caller calls close.
func start(ctx context.Context, bin string, logger *slog.Logger) (*embedded, error) {
	// Pages and webhooks may reach public addresses only, as in the service.
	guard, err := outbound.New(outbound.Config{}, logger)
	if err != nil {
		return nil, err
	}

	renderer, err := chromium.NewWithConfig(chromium.Config{Guard: guard, Chromium: chromium.ChromiumConfig{Bin: bin}}, logger)
	if err != nil {
		return nil, err
	}

	e := &embedded{renderer: renderer}
	if e.dataDir, err = os.MkdirTemp("", "presso-embedded-"); err != nil {
		e.close()
		return nil, err
	}

	// Sync and async jobs store their documents here; the URLs point at a
	// server that this program does not run.
	e.storage, err = local.NewWithConfig(local.Config{Dir: filepath.Join(e.dataDir, "documents"), PublicURL: "http://127.0.0.1:8080"}, logger)
	if err != nil {
		e.close()
		return nil, err
	}

	// Async jobs are signed with this secret; direct ones need none.
	keys, err := engine.NewKeyring(nil, engine.NewSigningSecret())
	if err != nil {
		e.close()
		return nil, err
	}

	notifier, err := webhook.NewWithConfig(webhook.Config{Transport: guard.HTTPTransport()}, keys, logger)
	if err != nil {
		e.close()
		return nil, err
	}

	e.engine, err = engine.New(engine.Options{
		Role:        engine.RoleAll,
		Transport:   memory.New(logger),
		Renderer:    renderer,
		Storage:     e.storage,
		Notifier:    notifier,
		Jobs:        jobstore.NewMemory(),
		Concurrency: 2,
		Logger:      logger,
	})
	if err != nil {
		e.close()
		return nil, err
	}

	if err := e.engine.Start(ctx); err != nil {
		e.close()
		return nil, err
	}
	return e, nil
}

// close stops the engine and its transport, then Chromium and the storage's
// sweeper, and removes the data dir.
func (e *embedded) close() {
	if e.engine != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = e.engine.Close(ctx)
	}
	_ = e.renderer.Close()
	if e.storage != nil {
		_ = e.storage.Close()
	}
	if e.dataDir != "" {
		_ = os.RemoveAll(e.dataDir)
	}
}
