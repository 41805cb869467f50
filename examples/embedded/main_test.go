package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/presso-dev/presso/renderers/chromium"
)

func requireTools(t *testing.T) {
	t.Helper()
	for _, tool := range []string{chromium.DefaultBin, "pdftotext", "pdfinfo"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s is missing in CI: %v", tool, err)
			}
			t.Skipf("%s is missing; run make prepare", tool)
		}
	}
}

func TestEmbeddedRendersPDF(t *testing.T) {
	requireTools(t)
	dir := t.TempDir()
	html := filepath.Join(dir, "page.html")
	if err := os.WriteFile(html, []byte(`<h1>Embedded in Go</h1><p>Ticket 7731</p>`), 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "page.pdf")
	var logs bytes.Buffer
	if err := run(context.Background(), []string{"-html", html, "-format", "Letter", "-o", out}, &logs); err != nil {
		t.Fatalf("run: %v; logs:\n%s", err, logs.String())
	}

	text, err := exec.Command("pdftotext", out, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	for _, want := range []string{"Embedded in Go", "Ticket 7731"} {
		if !strings.Contains(string(text), want) {
			t.Errorf("PDF text %q lacks %q", text, want)
		}
	}
	info, err := exec.Command("pdfinfo", out).Output()
	if err != nil {
		t.Fatalf("pdfinfo: %v", err)
	}
	if !strings.Contains(string(info), "612 x 792 pts (letter)") {
		t.Errorf("pdfinfo does not show one Letter page:\n%s", info)
	}
	if logs.Len() > 0 {
		t.Errorf("the engine logged warnings:\n%s", logs.String())
	}
}

func TestEmbeddedSampleAndBadFlags(t *testing.T) {
	requireTools(t)
	out := filepath.Join(t.TempDir(), "sample.pdf")
	if err := run(context.Background(), []string{"-o", out}, os.Stderr); err != nil {
		t.Fatalf("run: %v", err)
	}
	text, err := exec.Command("pdftotext", out, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	if !strings.Contains(string(text), "Invoice 2026-0042") {
		t.Errorf("sample PDF reads %q", text)
	}

	if err := run(context.Background(), nil, os.Stderr); err == nil || !strings.Contains(err.Error(), "-o is required") {
		t.Errorf("run without -o returned %v", err)
	}
	err = run(context.Background(), []string{"-format", "B9", "-o", out}, os.Stderr)
	if err == nil || !strings.Contains(err.Error(), "page.pdf.format") {
		t.Errorf("run with an unknown format returned %v", err)
	}
}
