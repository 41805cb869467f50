package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/presso-dev/presso/configs"
	"github.com/presso-dev/presso/engine"
)

const (
	testKey     = "e2e-test-key"
	testKeyName = "e2e"
)

// requireTools fails (in CI) or skips (elsewhere) when Chromium or
// poppler-utils is missing, since every test here renders for real.
func requireTools(t *testing.T) {
	t.Helper()
	for _, tool := range []string{"/usr/bin/chromium", "pdftotext", "pdfinfo"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s is missing: run make test, which installs it", tool)
			}
			t.Skipf("%s is missing: run make test, which installs it", tool)
		}
	}
}

// testService is a full Presso on the embedded defaults (memory transport,
// local storage, Chromium, webhook notifier), served on a loopback port.
type testService struct {
	url    string
	secret string
	svc    *service
}

func startService(t *testing.T, overrides map[string]any) *testService {
	t.Helper()
	return startServiceWithLog(t, overrides, testWriter{t}, slog.LevelWarn)
}

// startServiceWithLog is startService with the service's log lines written
// to logs from level up.
func startServiceWithLog(t *testing.T, overrides map[string]any, logs io.Writer, level slog.Level) *testService {
	t.Helper()
	requireTools(t)
	server := httptest.NewUnstartedServer(nil)
	publicURL := "http://" + server.Listener.Addr().String()
	secret := newSecret()
	settings := map[string]any{
		"server.public_url": publicURL,
		"storage.local.dir": t.TempDir(),
		"templates.dir":     t.TempDir(),
		// The tests' pages and receivers run on loopback, which the guard
		// refuses by default; the guard's own test sets a narrower list.
		"outbound.allow": "127.0.0.0/8",
		"auth.keys": []any{
			map[string]any{"name": testKeyName, "key": testKey, "signing_secret": secret},
		},
		"renderer.chromium.max_pages": 2,
		"renderer.timeout":            "15s",
		"webhook.initial_backoff":     "50ms",
		"webhook.max_backoff":         "200ms",
		"webhook.max_attempts":        3,
		"webhook.timeout":             "5s",
		"log.level":                   "warn",
	}
	for k, v := range overrides {
		settings[k] = v
	}
	cfg, err := configs.Load("", settings)
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: level}))
	svc, err := newService(context.Background(), cfg, engine.RoleAll, logger)
	if err != nil {
		t.Fatal(err)
	}
	server.Config.Handler = svc.api.Handler()
	server.Start()
	t.Cleanup(func() {
		server.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := svc.shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return &testService{url: publicURL, secret: secret, svc: svc}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// call posts body to route and returns the status and the answer.
func (s *testService) call(t *testing.T, route string, body any) (int, []byte, http.Header) {
	t.Helper()
	data, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, s.url+route, bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+testKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, answer, resp.Header
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func invoiceHTML(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile("testdata/invoice.html")
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// webhookCall is one request a receiver got.
type webhookCall struct {
	header http.Header
	body   []byte
	at     time.Time
}

// receiver is a real HTTP server that records webhook calls and answers
// with the statuses in plan, then 200.
type receiver struct {
	*httptest.Server
	mu    sync.Mutex
	calls []webhookCall
	plan  []int
	got   chan struct{}
}

func newReceiver(t *testing.T, plan ...int) *receiver {
	r := newUnstartedReceiver(t, plan...)
	r.Start()
	return r
}

// newUnstartedReceiver returns a receiver whose Listener may be replaced
// before Start.
func newUnstartedReceiver(t *testing.T, plan ...int) *receiver {
	r := &receiver{plan: plan, got: make(chan struct{}, 100)}
	r.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.calls = append(r.calls, webhookCall{header: req.Header.Clone(), body: body, at: time.Now()})
		status := http.StatusOK
		if len(r.calls) <= len(r.plan) {
			status = r.plan[len(r.calls)-1]
		}
		r.mu.Unlock()
		w.WriteHeader(status)
		r.got <- struct{}{}
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) wait(t *testing.T, n int) []webhookCall {
	t.Helper()
	deadline := time.After(45 * time.Second)
	for {
		r.mu.Lock()
		count := len(r.calls)
		r.mu.Unlock()
		if count >= n {
			break
		}
		select {
		case <-r.got:
		case <-deadline:
			t.Fatalf("receiver got %d webhook calls, want %d", count, n)
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]webhookCall(nil), r.calls...)
}

func (r *receiver) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.calls)
}

func download(t *testing.T, url string) (int, []byte, http.Header) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, data, resp.Header
}

// pdfText returns the text of a PDF as pdftotext extracts it.
func pdfText(t *testing.T, pdf []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "document.pdf")
	if err := os.WriteFile(path, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("pdftotext", "-layout", path, "-").CombinedOutput()
	if err != nil {
		t.Fatalf("pdftotext: %v: %s", err, out)
	}
	return string(out)
}

var pageSizePattern = regexp.MustCompile(`Page size:\s+([\d.]+) x ([\d.]+) pts`)

// pdfPageSize returns the first page's width and height in points, and the
// page count, as pdfinfo reports them.
func pdfPageSize(t *testing.T, pdf []byte) (width, height float64, pages int) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "document.pdf")
	if err := os.WriteFile(path, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("pdfinfo", path).CombinedOutput()
	if err != nil {
		t.Fatalf("pdfinfo: %v: %s", err, out)
	}
	m := pageSizePattern.FindStringSubmatch(string(out))
	if m == nil {
		t.Fatalf("pdfinfo printed no page size: %s", out)
	}
	width, _ = strconv.ParseFloat(m[1], 64)
	height, _ = strconv.ParseFloat(m[2], 64)
	if pm := regexp.MustCompile(`Pages:\s+(\d+)`).FindStringSubmatch(string(out)); pm != nil {
		pages, _ = strconv.Atoi(pm[1])
	}
	return width, height, pages
}

func near(got, want float64) bool { return got > want-1.5 && got < want+1.5 }
