package httpapi

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/presso-dev/presso/engine"
	"github.com/presso-dev/presso/engine/jobstore"
)

// countingRunner records how many jobs reach the engine, to prove that a
// rejected request queues nothing.
type countingRunner struct {
	jobs atomic.Int32
}

func (r *countingRunner) Submit(context.Context, *engine.Job) error {
	r.jobs.Add(1)
	return nil
}

func (r *countingRunner) Do(_ context.Context, job *engine.Job) (*engine.Result, error) {
	r.jobs.Add(1)
	return &engine.Result{JobID: job.ID, RequestID: job.RequestID, Status: engine.StatusSuccess, DocumentURL: "http://127.0.0.1/doc"}, nil
}

func (r *countingRunner) Ready() bool { return true }

func (r *countingRunner) Job(context.Context, string, string) (*engine.JobRecord, error) {
	return nil, engine.ErrJobNotFound
}

func (r *countingRunner) Redeliver(context.Context, string, string) error {
	return engine.ErrJobNotFound
}

func (r *countingRunner) Jobs() engine.JobStore { return jobstore.NewMemory() }

const testKey = "test-key"

func newTestServer(t *testing.T, runner Runner) *httptest.Server {
	t.Helper()
	keys, err := engine.NewKeyring([]engine.APIKey{{Name: "tests", Key: testKey, SigningSecret: engine.NewSigningSecret()}}, "")
	if err != nil {
		t.Fatal(err)
	}
	api := New(Options{Engine: runner, Keys: keys, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), MaxBodyBytes: 64 << 10})
	server := httptest.NewServer(api.Handler())
	t.Cleanup(server.Close)
	return server
}

func post(t *testing.T, url, key, body string) (*http.Response, Problem) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var problem Problem
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 400 {
		if err := json.Unmarshal(data, &problem); err != nil {
			t.Fatalf("error body is not a problem document: %v: %s", err, data)
		}
	}
	return resp, problem
}

func TestRejectedRequestsNameTheField(t *testing.T) {
	runner := &countingRunner{}
	server := newTestServer(t, runner)
	html := `"PGh0bWw+CjxwPnRlc3Q8L3A+CjwvaHRtbD4="`
	cases := []struct {
		name, route, body, want string
	}{
		{"goto and setContent", "pdf/sync", `{"page":{"goto":{"url":"https://example.com"},"setContent":{"html":` + html + `}}}`, "page must contain exactly one of goto and setContent, not both"},
		{"neither source", "pdf/sync", `{"page":{}}`, "page must contain exactly one of goto"},
		{"html not base64", "pdf/direct", `{"page":{"setContent":{"html":"<p>hello</p>"}}}`, "page.setContent.html must be base64 encoded"},
		{"invalid url", "pdf/sync", `{"page":{"goto":{"url":"not a url"}}}`, "page.goto.url must be an absolute http or https URL"},
		{"unknown field", "pdf/sync", `{"page":{"setContent":{"html":` + html + `},"viewport":{}}}`, "property page.viewport should not exist"},
		{"async without webhook", "pdf/async", `{"page":{"setContent":{"html":` + html + `}}}`, "doppio.webhook is required on async routes"},
		{"bad enum", "screenshot/sync", `{"page":{"setContent":{"html":` + html + `},"screenshot":{"type":"gif"}}}`, "page.screenshot.type"},
		{"scale out of range", "pdf/sync", `{"page":{"setContent":{"html":` + html + `},"pdf":{"scale":3}}}`, "page.pdf.scale"},
		{"malformed json", "pdf/sync", `{"page":`, "unexpected end of JSON input"},
		{"wrong type", "pdf/sync", `{"page":{"goto":{"url":5}}}`, "page.goto.url"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, problem := post(t, server.URL+"/v1/render/"+tc.route, testKey, tc.body)
			if resp.StatusCode != http.StatusBadRequest {
				t.Fatalf("status %d, want 400; messages %v", resp.StatusCode, problem.Message)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
				t.Errorf("Content-Type %q", ct)
			}
			if problem.StatusCode != 400 || problem.Status != 400 || problem.ErrorName != "Bad Request" {
				t.Errorf("problem fields: %+v", problem)
			}
			if !strings.Contains(strings.Join(problem.Message, "\n"), tc.want) {
				t.Errorf("messages %q do not contain %q", problem.Message, tc.want)
			}
		})
	}
	if n := runner.jobs.Load(); n != 0 {
		t.Fatalf("%d rejected requests reached the engine", n)
	}
}

// TestOneMessagePerBadField checks fields that both the schema and
// Presso's own checks reject: the response has one line for the field, and
// it names the fix.
func TestOneMessagePerBadField(t *testing.T) {
	runner := &countingRunner{}
	server := newTestServer(t, runner)
	html := `"PGgxPmhpPC9oMT4="`
	cases := []struct {
		name, pdf, want string
	}{
		{"length without a known unit", `{"margin":{"top":"2pt"}}`, `page.pdf.margin.top: invalid length "2pt": use a number of pixels or a number with the unit px, in, cm or mm`},
		{"length of words", `{"width":"wide"}`, `page.pdf.width: invalid length "wide"`},
		{"negative length", `{"height":-5}`, "page.pdf.height must not be negative, got -5"},
		{"length of another type", `{"margin":{"left":true}}`, `page.pdf.margin.left must be a number of pixels or a string with the unit px, in, cm or mm, such as "20mm"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			body := `{"page":{"setContent":{"html":` + html + `},"pdf":` + tc.pdf + `}}`
			resp, problem := post(t, server.URL+"/v1/render/pdf/direct", testKey, body)
			if resp.StatusCode != http.StatusBadRequest {
				t.Fatalf("status %d, want 400; messages %v", resp.StatusCode, problem.Message)
			}
			if len(problem.Message) != 1 {
				t.Fatalf("messages = %q, want one", problem.Message)
			}
			if !strings.HasPrefix(problem.Message[0], tc.want) {
				t.Errorf("message = %q, want it to start with %q", problem.Message[0], tc.want)
			}
		})
	}
	if n := runner.jobs.Load(); n != 0 {
		t.Fatalf("%d rejected requests reached the engine", n)
	}
}

func TestAuthentication(t *testing.T) {
	runner := &countingRunner{}
	server := newTestServer(t, runner)
	body := `{"page":{"setContent":{"html":"PHA+aGk8L3A+"}}}`

	resp, problem := post(t, server.URL+"/v1/render/pdf/sync", "", body)
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(problem.Message[0], "missing API key") {
		t.Errorf("without a key: %d %v", resp.StatusCode, problem.Message)
	}
	if resp.Header.Get("WWW-Authenticate") == "" {
		t.Error("401 without WWW-Authenticate")
	}
	resp, problem = post(t, server.URL+"/v1/render/pdf/sync", "wrong-key", body)
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(problem.Message[0], "invalid API key") {
		t.Errorf("with a wrong key: %d %v", resp.StatusCode, problem.Message)
	}
	if n := runner.jobs.Load(); n != 0 {
		t.Fatalf("%d unauthenticated requests reached the engine", n)
	}
	resp, _ = post(t, server.URL+"/v1/render/pdf/sync", testKey, body)
	if resp.StatusCode != http.StatusOK || runner.jobs.Load() != 1 {
		t.Errorf("with the right key: %d, %d jobs", resp.StatusCode, runner.jobs.Load())
	}
}

func TestBodyOverLimit(t *testing.T) {
	server := newTestServer(t, &countingRunner{})
	big := `{"page":{"setContent":{"html":"` + strings.Repeat("A", 100<<10) + `"}}}`
	resp, problem := post(t, server.URL+"/v1/render/pdf/sync", testKey, big)
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d, want 413 (%v)", resp.StatusCode, problem.Message)
	}
}

func TestOpenAPIAndDocs(t *testing.T) {
	server := newTestServer(t, &countingRunner{})
	for path, want := range map[string]string{
		"/openapi.json":                      `"/v1/render/pdf/async"`,
		"/openapi.yaml":                      "/v1/render/screenshot/direct",
		"/docs":                              "elements-api",
		"/docs/assets/web-components.min.js": "",
		"/healthz":                           `"ok"`,
	} {
		resp, err := http.Get(server.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(data), want) {
			t.Errorf("GET %s: %d, body lacks %q", path, resp.StatusCode, want)
		}
	}
}

func TestKeysAreCaseSensitiveAndUnique(t *testing.T) {
	runner := &countingRunner{}
	server := newTestServer(t, runner)
	html := `"PGh0bWw+CjxwPnRlc3Q8L3A+CjwvaHRtbD4="`
	cases := []struct{ name, body, want string }{
		{"other case", `{"page":{"setContent":{"html":` + html + `}},"launch":{"defaultViewport":{"width":800,"Width":100000,"height":10}}}`, "launch.defaultViewport.Width should not exist: property names are case-sensitive, use launch.defaultViewport.width"},
		{"other case at top", `{"Page":{"setContent":{"html":` + html + `}}}`, "use page"},
		{"duplicate", `{"page":{"setContent":{"html":` + html + `},"pdf":{"scale":1,"scale":50}}}`, "page.pdf.scale appears twice"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, problem := post(t, server.URL+"/v1/render/pdf/sync", testKey, tc.body)
			if resp.StatusCode != http.StatusBadRequest || !strings.Contains(strings.Join(problem.Message, "\n"), tc.want) {
				t.Errorf("answered %d %q, want 400 with %q", resp.StatusCode, problem.Message, tc.want)
			}
		})
	}
	if n := runner.jobs.Load(); n != 0 {
		t.Fatalf("%d rejected requests reached the engine", n)
	}
}

func TestMissingPageIsOneMessage(t *testing.T) {
	server := newTestServer(t, &countingRunner{})
	for _, route := range []string{"pdf/direct", "screenshot/sync"} {
		resp, problem := post(t, server.URL+"/v1/render/"+route, testKey, `{}`)
		if resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("%s: status %d, want 400", route, resp.StatusCode)
		}
		if len(problem.Message) != 1 || !strings.HasPrefix(problem.Message[0], "page must contain exactly one of goto") {
			t.Errorf("%s: messages = %q, want one that says what page must contain", route, problem.Message)
		}
	}
}
