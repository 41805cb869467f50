package local

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/presso-dev/presso/engine"
)

const testPublicURL = "http://127.0.0.1:8080"

// staticConfig is an engine.ConfigSource that copies a whole prepared
// struct into the output for each known path.
type staticConfig map[string]any

func (c staticConfig) Unmarshal(path string, out any) error {
	if value, ok := c[path]; ok {
		reflect.ValueOf(out).Elem().Set(reflect.ValueOf(value))
	}
	return nil
}

// fakeClock is a settable clock, safe to read from the sweep goroutine.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock {
	// Real time, so that files written during a test are not already
	// older than the TTL by the fake clock.
	return &fakeClock{now: time.Now().UTC().Truncate(time.Second)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// newTestStorage returns a storage in a fresh folder whose sweep runs only
// at start, closed when the test ends.
func newTestStorage(t *testing.T, cfg Config, clock *fakeClock) *Storage {
	t.Helper()
	if cfg.Dir == "" {
		cfg.Dir = t.TempDir()
	}
	if cfg.PublicURL == "" {
		cfg.PublicURL = testPublicURL
	}
	if cfg.SweepInterval == 0 {
		cfg.SweepInterval = time.Hour
	}
	s, err := newStorage(cfg, testLogger(t), clock.Now)
	if err != nil {
		t.Fatalf("newStorage: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func pdfJob() *engine.Job {
	return engine.NewJob(engine.KindPDF, engine.ModeSync, engine.AnonymousKey, engine.RenderRequest{})
}

func jpegAttachmentJob() *engine.Job {
	return engine.NewJob(engine.KindScreenshot, engine.ModeAsync, engine.AnonymousKey, engine.RenderRequest{
		Doppio: &engine.DoppioOptions{ContentDisposition: "attachment"},
		Page:   engine.PageOptions{Screenshot: &engine.ScreenshotOptions{Type: "jpeg"}},
	})
}

func store(t *testing.T, s *Storage, job *engine.Job, content []byte) engine.StoredDocument {
	t.Helper()
	stored, err := s.Store(context.Background(), engine.Document{Job: job, Body: bytes.NewReader(content), Size: int64(len(content))})
	if err != nil {
		t.Fatalf("Store: %v", err)
	}
	return stored
}

// get sends a request for rawURL, which may be absolute, to the storage's
// handler.
func get(t *testing.T, s *Storage, method, rawURL string, header http.Header) *httptest.ResponseRecorder {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatalf("parse %q: %v", rawURL, err)
	}
	req := httptest.NewRequest(method, u.RequestURI(), nil)
	for name, values := range header {
		req.Header[name] = values
	}
	rec := httptest.NewRecorder()
	s.DocumentHandler().ServeHTTP(rec, req)
	return rec
}
