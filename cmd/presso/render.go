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
	"time"

	"github.com/presso-dev/presso/configs"
	"github.com/presso-dev/presso/engine"
)

// runRender renders one document through the same engine as the service,
// on the in-memory transport, for scripts.
func runRender(args []string) error {
	fs := flag.NewFlagSet("presso render", flag.ContinueOnError)
	pageURL := fs.String("url", "", "URL of the page to render")
	htmlFile := fs.String("html", "", "HTML file to render; - reads standard input")
	screenshot := fs.Bool("screenshot", false, "take a PNG screenshot instead of printing a PDF")
	output := fs.String("o", "", "output file; - writes standard output")
	format := fs.String("format", "", "paper format of the PDF, such as A4 or Letter (default Letter)")
	landscape := fs.Bool("landscape", false, "print the PDF in landscape orientation")
	width := fs.Int("width", 0, "viewport width in CSS pixels (default 800)")
	height := fs.Int("height", 0, "viewport height in CSS pixels (default 600)")
	fullPage := fs.Bool("full-page", false, "capture the whole page, not only the viewport")
	configFile := fs.String("config", "", "YAML configuration file, for renderer settings")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if (*pageURL == "") == (*htmlFile == "") {
		return errors.New("give exactly one of --url and --html")
	}
	if *output == "" {
		return errors.New("-o is required: the output file, or - for standard output")
	}

	req := engine.RenderRequest{}
	if *pageURL != "" {
		req.Page.Goto = &engine.GotoOptions{URL: *pageURL}
	} else {
		html, err := readInput(*htmlFile)
		if err != nil {
			return err
		}
		req.Page.SetContent = &engine.SetContentOptions{HTML: base64.StdEncoding.EncodeToString(html)}
	}
	kind := engine.KindPDF
	if *screenshot {
		kind = engine.KindScreenshot
		req.Page.Screenshot = &engine.ScreenshotOptions{FullPage: *fullPage}
	} else {
		req.Page.PDF = &engine.PDFOptions{Format: *format, Landscape: *landscape}
	}
	if *width > 0 || *height > 0 {
		req.Launch = &engine.LaunchOptions{DefaultViewport: &engine.Viewport{Width: *width, Height: *height}}
	}
	if errs := req.Validate(kind, engine.ModeDirect); len(errs) > 0 {
		return errs[0]
	}

	// The in-process engine needs no queue, no stored documents and no
	// signing secret of its own, whatever the configuration file says.
	cfg, err := configs.Load(*configFile, map[string]any{
		"transport.kind":                "memory",
		"auth.keys":                     []any{},
		"auth.anonymous_signing_secret": engine.NewSigningSecret(),
		"log.level":                     "warn",
	})
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	c, err := build(cfg, engine.RoleAll, logger)
	if err != nil {
		return err
	}
	defer c.close()
	ctx := context.Background()
	if err := c.engine.Start(ctx); err != nil {
		return err
	}
	defer c.engine.Close(ctx)

	var timeout struct {
		Timeout time.Duration `koanf:"timeout"`
	}
	if err := cfg.Unmarshal("renderer", &timeout); err != nil {
		return err
	}
	runCtx, cancel := context.WithTimeout(ctx, timeout.Timeout+5*time.Second)
	defer cancel()
	result, err := c.engine.Do(runCtx, engine.NewJob(kind, engine.ModeDirect, engine.AnonymousKey, req))
	if err != nil {
		return err
	}
	if result.Status != engine.StatusSuccess {
		return fmt.Errorf("render failed (%s): %s", result.Error.Code, result.Error.Message)
	}
	return writeOutput(*output, result.Document)
}

func readInput(path string) ([]byte, error) {
	if path == "-" {
		return io.ReadAll(os.Stdin)
	}
	return os.ReadFile(path)
}

func writeOutput(path string, data []byte) error {
	if path == "-" {
		_, err := os.Stdout.Write(data)
		return err
	}
	return os.WriteFile(path, data, 0o644)
}
