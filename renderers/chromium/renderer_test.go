package chromium

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/presso-dev/presso/engine"
)

func TestRegisteredAsChromium(t *testing.T) {
	if !slices.Contains(engine.Renderers.Names(), "chromium") {
		t.Errorf("engine.Renderers.Names() = %v, want it to contain chromium", engine.Renderers.Names())
	}
}

// configSource decodes nothing but records what New asked for and
// applies set to the output, as a koanf-backed source would.
type configSource struct {
	paths []string
	set   func(cfg *Config)
	err   error
}

func (s *configSource) Unmarshal(path string, out any) error {
	s.paths = append(s.paths, path)
	if s.err != nil {
		return s.err
	}
	if cfg, ok := out.(*Config); ok {
		s.set(cfg)
	}
	return nil
}

func TestNewReadsRendererSection(t *testing.T) {
	source := &configSource{set: func(cfg *Config) { cfg.Chromium.Bin = "/nonexistent/chromium" }}

	_, err := New(engine.Deps{Config: source})

	if !slices.Equal(source.paths, []string{"renderer", "outbound", "outbound"}) {
		t.Errorf("New read the configuration paths %q, want renderer, then outbound for the guard", source.paths)
	}
	if err == nil || !strings.Contains(err.Error(), `renderer.chromium.bin "/nonexistent/chromium"`) {
		t.Errorf("error = %v, want one naming renderer.chromium.bin and the path", err)
	}
}

func TestNewReportsConfigError(t *testing.T) {
	source := &configSource{err: errors.New("configuration renderer: 'timeout' time: invalid duration")}

	_, err := New(engine.Deps{Config: source})

	if err == nil || !strings.Contains(err.Error(), "invalid duration") {
		t.Errorf("error = %v, want the source's error", err)
	}
}

func TestNewRejectsInvalidConfig(t *testing.T) {
	_, err := NewWithConfig(Config{Timeout: 30}, nil)

	if err == nil || !strings.Contains(err.Error(), "renderer.timeout") {
		t.Errorf("error = %v, want one naming renderer.timeout", err)
	}
}

// TestLifecycle starts a renderer of its own with one page, checks that a
// second render waits for that page, then closes it and checks that no
// Chromium process is left.
func TestLifecycle(t *testing.T) {
	requireChromium(t)
	server := newTestServer(t)
	r, err := NewWithConfig(Config{Timeout: 5 * time.Second, Chromium: ChromiumConfig{MaxPages: 1}, Guard: loopbackGuard()}, testLogger())
	if err != nil {
		t.Fatalf("NewWithConfig: %v", err)
	}
	dataDir := r.browsers.currentBrowser().dataDir
	if !r.Ready() {
		t.Error("Ready() = false after start, want true")
	}
	if processes := chromiumProcesses(t, dataDir); len(processes) == 0 {
		t.Fatalf("found no Chromium process with --user-data-dir=%s; the check below would prove nothing", dataDir)
	}

	// The one page is busy with a document that never responds, so a
	// second render must give up waiting when its context ends.
	busy := make(chan error, 1)
	go func() {
		_, err := renderJob(t, r, engine.KindPDF, gotoRequest(server.URL+"/hang"), 2*time.Second)
		busy <- err
	}()
	time.Sleep(300 * time.Millisecond)
	_, err = renderJob(t, r, engine.KindPDF, htmlRequest("<p>waiting</p>"), 300*time.Millisecond)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "waiting for a free chromium page") {
		t.Errorf("render while the page is busy: error = %v, want the wait for a page to end with the context", err)
	}
	requireJobError(t, <-busy, engine.CodeTimeout)

	if _, err := renderJob(t, r, engine.KindPDF, htmlRequest("<p>free again</p>"), defaultTestTimeout); err != nil {
		t.Errorf("render after the page was freed: %v", err)
	}

	if err := r.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := r.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if processes := chromiumProcesses(t, dataDir); len(processes) > 0 {
		t.Errorf("Chromium processes left after Close:\n%s", strings.Join(processes, "\n"))
	}
	if _, err := os.Stat(dataDir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("user data dir %s still exists after Close (stat error %v)", dataDir, err)
	}
	if r.Ready() {
		t.Error("Ready() = true after Close, want false")
	}
	if _, err := renderJob(t, r, engine.KindPDF, htmlRequest("<p>late</p>"), defaultTestTimeout); !errors.Is(err, engine.ErrShuttingDown) {
		t.Errorf("render after Close: error = %v, want engine.ErrShuttingDown", err)
	}
}

// chromiumProcesses lists the processes whose command line names dataDir
// as the user data dir, as pgrep -af prints them.
func chromiumProcesses(t *testing.T, dataDir string) []string {
	t.Helper()
	out, err := exec.Command("pgrep", "-af", "user-data-dir="+dataDir).Output()
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) && exitErr.ExitCode() == 1 {
		return nil // pgrep found nothing
	}
	if err != nil {
		t.Fatalf("pgrep failed: %v", err)
	}
	return strings.Split(strings.TrimSpace(string(out)), "\n")
}

// TestRenderRetainsNoDocument renders documents of 1 MiB each and checks
// that the Go heap does not keep them, as it would if commands went
// through rod.Browser.Call, which records every command's parameters.
func TestRenderRetainsNoDocument(t *testing.T) {
	const renders, size = 8, 1 << 20
	r := sharedRenderer(t)
	if _, err := renderJob(t, r, engine.KindPDF, htmlRequest("<p>warm-up</p>"), defaultTestTimeout); err != nil {
		t.Fatalf("warm-up render: %v", err)
	}
	before := heapInUse()

	for i := range renders {
		// A distinct comment per render, so that no two documents share memory.
		html := fmt.Sprintf("<p>render %d</p><!-- %d %s -->", i, i, strings.Repeat("x", size))
		if _, err := renderJob(t, r, engine.KindPDF, htmlRequest(html), defaultTestTimeout); err != nil {
			t.Fatalf("render %d: %v", i, err)
		}
	}

	limit := int64(renders * size / 2)
	if grown := int64(heapInUse()) - int64(before); grown > limit {
		t.Errorf("the heap grew by %d MiB over %d renders of 1 MiB documents, want under %d MiB: something keeps the documents", grown>>20, renders, limit>>20)
	}
}

func heapInUse() uint64 {
	runtime.GC()
	var stats runtime.MemStats
	runtime.ReadMemStats(&stats)
	return stats.HeapInuse
}
