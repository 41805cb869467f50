package chromium

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/presso-dev/presso/engine"
)

// Chromium starts in about a second here; these bounds leave room for a
// loaded machine.
const (
	restartWithin = 10 * time.Second
	drainWithin   = 20 * time.Second
)

// lifecycleRenderer starts a renderer of its own whose user data dirs all
// lie in a temporary directory of the test, so that the test can find
// every Chromium process of this renderer, those of recycled browsers
// included, by that directory. It is closed when the test ends.
func lifecycleRenderer(t *testing.T, cfg Config) (*Renderer, string) {
	t.Helper()
	requireChromium(t)
	tmp := t.TempDir()
	// os.MkdirTemp reads TMPDIR at every call, so each browser started
	// while the test runs puts its user data dir there.
	t.Setenv("TMPDIR", tmp)
	cfg.Guard = loopbackGuard()
	cfg.Chromium.Bin = testBin()
	r, err := NewWithConfig(cfg, testLogger())
	if err != nil {
		t.Fatalf("NewWithConfig: %v", err)
	}
	t.Cleanup(func() { r.Close() })
	return r, tmp
}

// blockingServer serves /block, which responds only once release is
// closed, and /quick, which responds after 200 ms. Every request to /block
// is reported on blocked.
type blockingServer struct {
	*httptest.Server
	blocked chan struct{}
	release chan struct{}
}

func newBlockingServer(t *testing.T) *blockingServer {
	t.Helper()
	s := &blockingServer{blocked: make(chan struct{}, 16), release: make(chan struct{})}
	mux := http.NewServeMux()
	mux.HandleFunc("/block", func(w http.ResponseWriter, r *http.Request) {
		s.blocked <- struct{}{}
		select {
		case <-s.release:
		case <-r.Context().Done():
			return
		}
		fmt.Fprint(w, "<h1>Released page</h1>")
	})
	mux.HandleFunc("/quick", func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(200 * time.Millisecond)
		fmt.Fprint(w, "<h1>Quick page</h1>")
	})
	s.Server = httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s
}

// waitBlocked waits until the server holds a request to /block.
func (s *blockingServer) waitBlocked(t *testing.T) {
	t.Helper()
	select {
	case <-s.blocked:
	case <-time.After(defaultTestTimeout):
		t.Fatal("the page never requested /block")
	}
}

// restarts reads presso_browser_restarts_total from reg.
func restarts(t *testing.T, reg *prometheus.Registry) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, family := range families {
		if family.GetName() == "presso_browser_restarts_total" {
			return family.GetMetric()[0].GetCounter().GetValue()
		}
	}
	t.Fatal("presso_browser_restarts_total is not registered")
	return 0
}

// waitReady waits until r is ready, and fails after within.
func waitReady(t *testing.T, r *Renderer, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !r.Ready() {
		if time.Now().After(deadline) {
			t.Fatalf("Ready() stayed false for %s", within)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestKilledChromiumIsRestarted(t *testing.T) {
	reg := prometheus.NewRegistry()
	r, _ := lifecycleRenderer(t, Config{Chromium: ChromiumConfig{MaxPages: 2}, Metrics: engine.NewMetrics(reg)})
	server := newBlockingServer(t)
	old := r.browsers.currentBrowser()

	failed := make(chan error, 1)
	go func() {
		_, err := renderJob(t, r, engine.KindPDF, gotoRequest(server.URL+"/block"), defaultTestTimeout)
		failed <- err
	}()
	server.waitBlocked(t)
	if err := syscall.Kill(old.pid, syscall.SIGKILL); err != nil {
		t.Fatalf("killing Chromium (pid %d): %v", old.pid, err)
	}
	killed := time.Now()

	select {
	case err := <-failed:
		jobErr := requireJobError(t, err, engine.CodeRenderFailed)
		if want := "Chromium exited during the render; retry the request"; jobErr.Message != want {
			t.Errorf("message = %q, want %q", jobErr.Message, want)
		}
		if elapsed := time.Since(killed); elapsed > 5*time.Second {
			t.Errorf("the render failed %s after the kill, want at once", elapsed)
		}
	case <-time.After(defaultTestTimeout):
		t.Fatal("the render on the killed Chromium did not end")
	}

	waitReady(t, r, restartWithin)
	t.Logf("ready again %s after the kill", time.Since(killed))
	current := r.browsers.currentBrowser()
	if current == old || current.pid == old.pid {
		t.Fatalf("the renderer still uses the killed Chromium (pid %d)", old.pid)
	}
	requireNoProcesses(t, old.dataDir, "after the kill and the restart")
	requireNoZombies(t, "after the kill and the restart")
	if got := restarts(t, reg); got != 1 {
		t.Errorf("presso_browser_restarts_total = %g, want 1", got)
	}

	out, err := renderJob(t, r, engine.KindPDF, htmlRequest("<p>after the restart</p>"), defaultTestTimeout)
	if err != nil {
		t.Fatalf("render after the restart: %v", err)
	}
	if text := pdfText(t, out, 0, 0); !strings.Contains(text, "after the restart") {
		t.Errorf("the PDF after the restart reads %q", text)
	}
}

func TestHungChromiumIsRestarted(t *testing.T) {
	reg := prometheus.NewRegistry()
	cfg := Config{Chromium: ChromiumConfig{MaxPages: 1, healthInterval: 300 * time.Millisecond, pingTimeout: 300 * time.Millisecond}, Metrics: engine.NewMetrics(reg)}
	r, _ := lifecycleRenderer(t, cfg)
	old := r.browsers.currentBrowser()

	// A stopped process keeps its connection open but responds to nothing,
	// as a hung Chromium does.
	if err := syscall.Kill(old.pid, syscall.SIGSTOP); err != nil {
		t.Fatalf("stopping Chromium (pid %d): %v", old.pid, err)
	}
	stopped := time.Now()
	waitReady(t, r, restartWithin)
	t.Logf("ready again %s after SIGSTOP", time.Since(stopped))

	if r.browsers.currentBrowser() == old {
		t.Fatal("the renderer still uses the stopped Chromium")
	}
	requireNoProcesses(t, old.dataDir, "after the restart of the stopped Chromium")
	requireNoZombies(t, "after the restart of the stopped Chromium")
	if got := restarts(t, reg); got != 1 {
		t.Errorf("presso_browser_restarts_total = %g, want 1", got)
	}
	if _, err := renderJob(t, r, engine.KindPDF, htmlRequest("<p>after the hang</p>"), defaultTestTimeout); err != nil {
		t.Errorf("render after the restart: %v", err)
	}
}

// TestRecycleDrainsRenders recycles after every 3 renders while 8 renders
// run, 2 at a time. The render that triggers the first recycle stays
// blocked on the old browser until the new one serves renders, so the old
// one must drain it before it stops.
func TestRecycleDrainsRenders(t *testing.T) {
	reg := prometheus.NewRegistry()
	r, tmp := lifecycleRenderer(t, Config{Chromium: ChromiumConfig{MaxPages: 2, RecycleAfter: intPointer(3)}, Metrics: engine.NewMetrics(reg)})
	server := newBlockingServer(t)
	first := r.browsers.currentBrowser()

	for i := range 2 {
		if _, err := renderJob(t, r, engine.KindPDF, gotoRequest(server.URL+"/quick"), defaultTestTimeout); err != nil {
			t.Fatalf("render %d: %v", i+1, err)
		}
	}
	blocked := make(chan error, 1)
	go func() {
		out, err := renderJob(t, r, engine.KindPDF, gotoRequest(server.URL+"/block"), defaultTestTimeout)
		if err == nil && !strings.Contains(pdfText(t, out, 0, 0), "Released page") {
			err = errors.New("the PDF lacks the released page")
		}
		blocked <- err
	}()
	server.waitBlocked(t)

	deadline := time.Now().Add(restartWithin)
	for r.browsers.currentBrowser() == first {
		if time.Now().After(deadline) {
			t.Fatal("the third render did not recycle Chromium")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !r.Ready() {
		t.Error("Ready() = false during a recycle, want true")
	}

	var wg sync.WaitGroup
	errs := make(chan error, 5)
	for i := range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := renderJob(t, r, engine.KindPDF, gotoRequest(server.URL+"/quick"), defaultTestTimeout); err != nil {
				errs <- fmt.Errorf("render %d: %w", i+4, err)
			}
		}()
	}
	// The old browser must not stop while its render is blocked.
	time.Sleep(300 * time.Millisecond)
	if first.hasExited() {
		t.Fatal("the recycled Chromium stopped before its render ended")
	}
	close(server.release)
	if err := <-blocked; err != nil {
		t.Errorf("the render on the recycled Chromium failed: %v", err)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	waitDrained(t, r)
	current := r.browsers.currentBrowser()
	if launched := r.browsers.launches.Load(); launched < 2 {
		t.Errorf("%d browsers started, want at least 2", launched)
	}
	if got, want := restarts(t, reg), float64(r.browsers.launches.Load()-1); got != want {
		t.Errorf("presso_browser_restarts_total = %g, want %g, one per recycle", got, want)
	}
	for _, p := range processesMentioning(tmp) {
		if !strings.Contains(p.cmdline, current.dataDir) {
			t.Errorf("a process of a recycled Chromium is left: %v", p)
		}
	}
	requireNoProcesses(t, first.dataDir, "after the recycle")
	requireNoZombies(t, "after the recycle")
	if _, err := os.Stat(first.dataDir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the recycled Chromium's user data dir %s still exists", first.dataDir)
	}
}

// TestRecycleByMemory sets a memory limit that every Chromium exceeds, so
// that the first health check recycles the browser.
func TestRecycleByMemory(t *testing.T) {
	reg := prometheus.NewRegistry()
	cfg := Config{Chromium: ChromiumConfig{MaxPages: 1, RecycleMemoryMB: 1, healthInterval: 200 * time.Millisecond}, Metrics: engine.NewMetrics(reg)}
	r, tmp := lifecycleRenderer(t, cfg)
	first := r.browsers.currentBrowser()
	if rss := treeRSS(first.pid); rss < 10<<20 {
		t.Fatalf("the RSS of Chromium's process tree reads %d bytes, want at least 10 MiB", rss)
	}

	deadline := time.Now().Add(restartWithin)
	for r.browsers.currentBrowser() == first {
		if time.Now().After(deadline) {
			t.Fatal("Chromium was not recycled over the memory limit")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := renderJob(t, r, engine.KindPDF, htmlRequest("<p>after the recycle</p>"), defaultTestTimeout); err != nil {
		t.Errorf("render after the recycle: %v", err)
	}
	if got := restarts(t, reg); got < 1 {
		t.Errorf("presso_browser_restarts_total = %g, want at least 1", got)
	}

	if err := r.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	requireNoProcesses(t, tmp, "after recycles and Close")
	requireNoZombies(t, "after recycles and Close")
}

// waitDrained waits until no recycled browser is left.
func waitDrained(t *testing.T, r *Renderer) {
	t.Helper()
	deadline := time.Now().Add(drainWithin)
	for {
		r.browsers.mu.Lock()
		left := len(r.browsers.retiring)
		r.browsers.mu.Unlock()
		if left == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d recycled browsers still drain after %s", left, drainWithin)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestCloseLeavesNoProcess(t *testing.T) {
	r, tmp := lifecycleRenderer(t, Config{Chromium: ChromiumConfig{MaxPages: 1, PreparedPages: intPointer(2)}})
	if _, err := renderJob(t, r, engine.KindPDF, htmlRequest("<p>before close</p>"), defaultTestTimeout); err != nil {
		t.Fatalf("render: %v", err)
	}
	if len(processesMentioning(tmp)) == 0 {
		t.Fatalf("found no Chromium process mentioning %s; the checks below would prove nothing", tmp)
	}

	if err := r.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	requireNoProcesses(t, tmp, "after Close")
	requireNoZombies(t, "after Close")
	if entries, _ := os.ReadDir(tmp); len(entries) > 0 {
		var names []string
		for _, entry := range entries {
			names = append(names, filepath.Join(tmp, entry.Name()))
		}
		for _, name := range names {
			if strings.Contains(name, dataDirPrefix) {
				t.Errorf("user data dir %s left after Close", name)
			}
		}
	}
}
