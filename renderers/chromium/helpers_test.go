package chromium

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/presso-dev/presso/engine"
	"github.com/presso-dev/presso/engine/outbound"
)

// shared is the renderer of every test that does not need one of its own,
// started on first use: starting Chromium costs about a second.
var shared struct {
	once     sync.Once
	renderer *Renderer
	err      error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.renderer != nil {
		if err := shared.renderer.Close(); err != nil {
			fmt.Fprintln(os.Stderr, "closing the shared renderer:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// requireChromium skips the test when Chromium is not installed, except in
// CI (the CI variable set), where a missing Chromium must fail the run.
func requireChromium(t testing.TB) {
	t.Helper()
	bin := testBin()
	if _, err := os.Stat(bin); err != nil {
		if os.Getenv("CI") == "" {
			t.Skipf("%s is missing; install Chromium (make prepare) to run this test", bin)
		}
		t.Fatalf("%s is missing in CI: %v", bin, err)
	}
}

// testBin is the Chromium that the tests run: DefaultBin, or the build
// that PRESSO_TEST_CHROMIUM_BIN names, so that the suite can be run
// against chromium-headless-shell as well.
func testBin() string {
	if bin := os.Getenv("PRESSO_TEST_CHROMIUM_BIN"); bin != "" {
		return bin
	}
	return DefaultBin
}

// testLogger logs warnings and errors only, so that a failing run shows
// what the renderer reported without the per-render lines.
func testLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// defaultTestTimeout bounds one render in the tests, far above the few
// hundred milliseconds that a render takes.
const defaultTestTimeout = 30 * time.Second

func sharedRenderer(t testing.TB) *Renderer {
	t.Helper()
	requireChromium(t)
	shared.once.Do(func() {
		shared.renderer, shared.err = NewWithConfig(Config{Chromium: ChromiumConfig{Bin: testBin(), MaxPages: 4}, Guard: loopbackGuard()}, testLogger())
	})
	if shared.err != nil {
		t.Fatalf("starting the shared renderer: %v", shared.err)
	}
	return shared.renderer
}

// htmlRequest returns a request that loads html with page.setContent.
func htmlRequest(html string) engine.RenderRequest {
	return engine.RenderRequest{Page: engine.PageOptions{
		SetContent: &engine.SetContentOptions{HTML: base64.StdEncoding.EncodeToString([]byte(html))},
	}}
}

// gotoRequest returns a request that loads url with page.goto.
func gotoRequest(url string, waitUntil ...string) engine.RenderRequest {
	req := engine.RenderRequest{Page: engine.PageOptions{Goto: &engine.GotoOptions{URL: url}}}
	if len(waitUntil) > 0 {
		req.Page.Goto.Options = &engine.WaitOptions{WaitUntil: waitUntil}
	}
	return req
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func length(t *testing.T, s string) *engine.Length {
	t.Helper()
	l, err := engine.ParseLength(s)
	if err != nil {
		t.Fatal(err)
	}
	return &l
}

// renderJob renders req with r within timeout and returns the output.
func renderJob(t testing.TB, r *Renderer, kind engine.Kind, req engine.RenderRequest, timeout time.Duration) ([]byte, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var out bytes.Buffer
	err := r.Render(ctx, engine.NewJob(kind, engine.ModeDirect, "test", req), &out)
	return out.Bytes(), err
}

// mustRender renders req with the shared renderer and fails on error.
func mustRender(t *testing.T, kind engine.Kind, req engine.RenderRequest) []byte {
	t.Helper()
	out, err := renderJob(t, sharedRenderer(t), kind, req, defaultTestTimeout)
	if err != nil {
		t.Fatalf("render failed: %v", err)
	}
	if len(out) == 0 {
		t.Fatal("render wrote nothing")
	}
	return out
}

// requireJobError fails unless err is a *engine.JobError with code.
func requireJobError(t *testing.T, err error, code string) *engine.JobError {
	t.Helper()
	var jobErr *engine.JobError
	if !errors.As(err, &jobErr) {
		t.Fatalf("error = %v (%T), want a *engine.JobError with code %s", err, err, code)
	}
	if jobErr.Code != code {
		t.Fatalf("error code = %s (%s), want %s", jobErr.Code, jobErr.Message, code)
	}
	return jobErr
}

// writeTemp writes data to a file in the test's temp dir.
func writeTemp(t *testing.T, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// poppler runs a poppler-utils tool and returns its standard output.
func poppler(t *testing.T, tool string, args ...string) string {
	t.Helper()
	out, err := exec.Command(tool, args...).Output()
	if err != nil {
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			t.Fatalf("%s %v failed: %v: %s", tool, args, err, exitErr.Stderr)
		}
		t.Fatalf("%s failed: %v; install poppler-utils (make prepare)", tool, err)
	}
	return string(out)
}

// pdfText returns the text of pages first to last of pdf, all pages when
// first is 0.
func pdfText(t *testing.T, pdf []byte, first, last int) string {
	t.Helper()
	path := writeTemp(t, "doc.pdf", pdf)
	args := []string{"-layout"}
	if first > 0 {
		args = append(args, "-f", strconv.Itoa(first), "-l", strconv.Itoa(last))
	}
	return poppler(t, "pdftotext", append(args, path, "-")...)
}

// pdfInfo returns the fields that pdfinfo prints, by name.
func pdfInfo(t *testing.T, pdf []byte) map[string]string {
	t.Helper()
	fields := map[string]string{}
	for _, line := range strings.Split(poppler(t, "pdfinfo", writeTemp(t, "doc.pdf", pdf)), "\n") {
		name, value, ok := strings.Cut(line, ":")
		if ok {
			fields[name] = strings.TrimSpace(value)
		}
	}
	return fields
}

var pageSizePattern = regexp.MustCompile(`^([\d.]+) x ([\d.]+) pts`)

// pdfPageSize returns the size of the first page in points.
func pdfPageSize(t *testing.T, pdf []byte) (width, height float64) {
	t.Helper()
	size := pdfInfo(t, pdf)["Page size"]
	m := pageSizePattern.FindStringSubmatch(size)
	if m == nil {
		t.Fatalf("pdfinfo printed no page size: %q", size)
	}
	width, _ = strconv.ParseFloat(m[1], 64)
	height, _ = strconv.ParseFloat(m[2], 64)
	return width, height
}

// requirePageSize fails unless the first page of pdf measures width x
// height points, give or take one point: Chromium 156 prints A4 as
// 595.92 x 841.92 pts where the exact size is 595.28 x 841.89.
func requirePageSize(t *testing.T, pdf []byte, width, height float64) {
	t.Helper()
	gotWidth, gotHeight := pdfPageSize(t, pdf)
	if math.Abs(gotWidth-width) > 1 || math.Abs(gotHeight-height) > 1 {
		t.Errorf("page size = %g x %g pts, want %g x %g", gotWidth, gotHeight, width, height)
	}
}

// pdfPages returns the page count that pdfinfo reads.
func pdfPages(t *testing.T, pdf []byte) int {
	t.Helper()
	pages, err := strconv.Atoi(pdfInfo(t, pdf)["Pages"])
	if err != nil {
		t.Fatalf("pdfinfo printed no page count: %v", err)
	}
	return pages
}

var wordPattern = regexp.MustCompile(`<word xMin="(-?[\d.]+)" yMin="(-?[\d.]+)" xMax="(-?[\d.]+)" yMax="(-?[\d.]+)">([^<]*)</word>`)

// wordBox returns the bounding box, in points, of the first occurrence of
// word in pdf, as pdftotext -bbox reads it.
func wordBox(t *testing.T, pdf []byte, word string) (xMin, yMin, xMax, yMax float64) {
	t.Helper()
	html := poppler(t, "pdftotext", "-bbox", writeTemp(t, "doc.pdf", pdf), "-")
	for _, m := range wordPattern.FindAllStringSubmatch(html, -1) {
		if m[5] != word {
			continue
		}
		values := make([]float64, 4)
		for i := range values {
			values[i], _ = strconv.ParseFloat(m[i+1], 64)
		}
		return values[0], values[1], values[2], values[3]
	}
	t.Fatalf("word %q not found in the PDF", word)
	return
}

// loopbackGuard lets pages reach the tests' own servers on loopback, which
// the default guard refuses; the guard's own tests cover what it refuses.
func loopbackGuard() *outbound.Guard {
	guard, err := outbound.New(outbound.Config{Allow: []string{"127.0.0.0/8", "::1/128"}}, testLogger())
	if err != nil {
		panic(err)
	}
	return guard
}
