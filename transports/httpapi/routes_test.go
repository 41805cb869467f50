package httpapi

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/presso-dev/presso/engine"
)

func TestUnknownRoutesAnswerProblems(t *testing.T) {
	server, _ := newTemplateServer(t, nil)
	cases := []struct {
		name, method, path string
		status             int
		allow, message     string
	}{
		{"unknown path", http.MethodGet, "/v1/render/docx/direct", http.StatusNotFound, "", "no route for GET /v1/render/docx/direct"},
		{"unknown root path", http.MethodPost, "/nothing", http.StatusNotFound, "", "GET /docs"},
		{"wrong method", http.MethodGet, "/v1/render/pdf/direct", http.StatusMethodNotAllowed, "POST", "GET is not allowed on /v1/render/pdf/direct: use POST"},
		{"wrong method on a job", http.MethodPost, "/v1/jobs/doppioreq_x", http.StatusMethodNotAllowed, "GET", "use GET"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := call(t, tc.method, server.URL+tc.path, testKey, "")
			if resp.StatusCode != tc.status {
				t.Fatalf("status = %d, want %d: %s", resp.StatusCode, tc.status, body)
			}
			if got := resp.Header.Get("Content-Type"); got != "application/problem+json" {
				t.Errorf("Content-Type = %q, want application/problem+json", got)
			}
			if got := resp.Header.Get("Allow"); !strings.Contains(got, tc.allow) || (tc.allow == "") != (got == "") {
				t.Errorf("Allow = %q, want %q", got, tc.allow)
			}
			var problem Problem
			if err := json.Unmarshal(body, &problem); err != nil {
				t.Fatalf("body is not a problem document: %v: %s", err, body)
			}
			if problem.StatusCode != tc.status || problem.Status != tc.status {
				t.Errorf("statusCode = %d, status = %d, want %d", problem.StatusCode, problem.Status, tc.status)
			}
			if len(problem.Message) != 1 || !strings.Contains(problem.Message[0], tc.message) {
				t.Errorf("message = %q, want one line with %q", problem.Message, tc.message)
			}
		})
	}

	// Known routes are untouched.
	resp, body := call(t, http.MethodGet, server.URL+"/openapi.json", "", "")
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"openapi"`) {
		t.Errorf("GET /openapi.json answered %d: %.200s", resp.StatusCode, body)
	}
}

func TestSlowBodyGetsRequestTimeout(t *testing.T) {
	keys, err := engine.NewKeyring([]engine.APIKey{{Name: "tests", Key: testKey, SigningSecret: engine.NewSigningSecret()}}, "")
	if err != nil {
		t.Fatal(err)
	}
	api := New(Options{Engine: &countingRunner{}, Keys: keys, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), BodyReadTimeout: 300 * time.Millisecond})
	server := httptest.NewServer(api.Handler())
	t.Cleanup(server.Close)

	body, writer := io.Pipe()
	go func() {
		// Half a body, then nothing until the server gives up.
		_, _ = writer.Write([]byte(`{"page":{"setContent":`))
		time.Sleep(2 * time.Second)
		writer.Close()
	}()
	req, err := http.NewRequest(http.MethodPost, server.URL+"/v1/render/pdf/sync", body)
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
	var problem Problem
	if err := json.NewDecoder(resp.Body).Decode(&problem); err != nil {
		t.Fatalf("body is not a problem document: %v", err)
	}
	if resp.StatusCode != http.StatusRequestTimeout {
		t.Fatalf("status = %d, want 408: %v", resp.StatusCode, problem.Message)
	}
	if len(problem.Message) != 1 || !strings.Contains(problem.Message[0], "server.body_read_timeout") {
		t.Errorf("message = %q, want one line naming server.body_read_timeout", problem.Message)
	}
}
