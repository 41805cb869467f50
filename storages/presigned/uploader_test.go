package presigned

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/presso-dev/presso/engine"
	"github.com/presso-dev/presso/storages/storagetest"
)

const customerBucket = "customer-bucket"

func TestUploadToSDKPresignedURL(t *testing.T) {
	fake := storagetest.NewFakeS3(t, "presso-default", customerBucket)
	presignedURL := presignPut(t, fake, customerBucket, "invoices/42.pdf")
	u := newTestUploader(t, fastConfig(), nil)
	content := []byte("%PDF-1.7 customer invoice")

	stored, err := u.Store(context.Background(), document(jobWithURL(presignedURL), content))
	if err != nil {
		t.Fatalf("Store: %v", err)
	}

	wantURL := fake.URL + "/" + customerBucket + "/invoices/42.pdf"
	if stored.URL != wantURL {
		t.Errorf("URL = %q, want %q", stored.URL, wantURL)
	}
	if stored.Key != wantURL {
		t.Errorf("Key = %q, want %q", stored.Key, wantURL)
	}
	if !stored.IsCustomBucket {
		t.Error("IsCustomBucket = false, want true")
	}
	object, _ := fake.Object(t, customerBucket, "invoices/42.pdf")
	if !bytes.Equal(object, content) {
		t.Errorf("object = %q, want %q", object, content)
	}
	if keys := fake.Keys(t, "presso-default"); len(keys) != 0 {
		t.Errorf("default bucket contains %v, want nothing", keys)
	}

	requests := fake.Requests()
	if len(requests) != 1 {
		t.Fatalf("%d requests reached the store, want 1", len(requests))
	}
	sent := requests[0]
	if sent.Method != http.MethodPut {
		t.Errorf("method = %s, want PUT", sent.Method)
	}
	if got := sent.Header.Get("Content-Type"); got != OctetStream {
		t.Errorf("Content-Type = %q, want %s", got, OctetStream)
	}
	if got := sent.Header.Get("Content-Length"); got != strconv.Itoa(len(content)) {
		t.Errorf("Content-Length = %q, want %d", got, len(content))
	}
	if sent.BodySize != int64(len(content)) {
		t.Errorf("body has %d bytes, want %d", sent.BodySize, len(content))
	}
	for name := range sent.Header {
		if strings.HasPrefix(strings.ToLower(name), "x-amz-") || name == "Content-Disposition" || name == "Authorization" {
			t.Errorf("header %s sent, which the presigned URL does not sign", name)
		}
	}
	if sent.Query.Get("X-Amz-Signature") == "" {
		t.Error("the request did not carry the presigned query")
	}
}

func TestExpiredURLFailsAfterOneAttempt(t *testing.T) {
	var attempts atomic.Int32
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		attempts.Add(1)
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusForbidden)
		io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?>
<Error><Code>AccessDenied</Code><Message>Request has expired</Message><X-Amz-Expires>60</X-Amz-Expires><RequestId>R1</RequestId></Error>`)
	}))
	defer server.Close()
	u := newTestUploader(t, fastConfig(), nil)
	presignedURL := server.URL + "/bucket/doc.pdf?X-Amz-Signature=deadbeef&X-Amz-Credential=AKIA%2Fscope"

	_, err := u.Store(context.Background(), document(jobWithURL(presignedURL), []byte("document")))

	jobErr := assertStorageFailed(t, err)
	if got := attempts.Load(); got != 1 {
		t.Errorf("%d attempts, want 1", got)
	}
	for _, want := range []string{"403 Forbidden", "AccessDenied", "Request has expired", "after 1 attempt:", server.URL + "/bucket/doc.pdf"} {
		if !strings.Contains(jobErr.Message, want) {
			t.Errorf("message %q does not contain %q", jobErr.Message, want)
		}
	}
	if strings.Contains(jobErr.Message, "deadbeef") || strings.Contains(jobErr.Message, "X-Amz-Credential") {
		t.Errorf("message %q contains the URL's query", jobErr.Message)
	}
}

func TestServerErrorsRetriedThenStored(t *testing.T) {
	content := bytes.Repeat([]byte("retry me "), 10000)
	var mu sync.Mutex
	var bodies [][]byte
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies = append(bodies, body)
		attempt := len(bodies)
		mu.Unlock()
		if attempt <= 2 {
			w.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(w, "<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>")
		}
	}))
	defer server.Close()
	u := newTestUploader(t, fastConfig(), nil)

	stored, err := u.Store(context.Background(), document(jobWithURL(server.URL+"/b/k.pdf?X-Amz-Signature=s"), content))

	if err != nil {
		t.Fatalf("Store: %v", err)
	}
	if stored.URL != server.URL+"/b/k.pdf" {
		t.Errorf("URL = %q, want the URL without query", stored.URL)
	}
	if len(bodies) != 3 {
		t.Fatalf("%d attempts, want 3", len(bodies))
	}
	for i, body := range bodies {
		if !bytes.Equal(body, content) {
			t.Errorf("attempt %d sent %d bytes that differ from the %d of the document", i+1, len(body), len(content))
		}
	}
}

func TestAttemptsExhaustedReportsLastReason(t *testing.T) {
	var attempts atomic.Int32
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		attempts.Add(1)
		w.WriteHeader(http.StatusInternalServerError)
	}))
	defer server.Close()
	cfg := fastConfig()
	cfg.MaxAttempts = 4
	u := newTestUploader(t, cfg, nil)

	_, err := u.Store(context.Background(), document(jobWithURL(server.URL+"/k"), []byte("x")))

	jobErr := assertStorageFailed(t, err)
	if got := attempts.Load(); got != 4 {
		t.Errorf("%d attempts, want 4", got)
	}
	if !strings.Contains(jobErr.Message, "after 4 attempts: 500 Internal Server Error") {
		t.Errorf("message %q does not give the attempts and the status line", jobErr.Message)
	}
}

func TestDroppedConnectionRetried(t *testing.T) {
	var attempts atomic.Int32
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if attempts.Add(1) == 1 {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
			return
		}
		io.Copy(io.Discard, r.Body)
	}))
	defer server.Close()
	u := newTestUploader(t, fastConfig(), nil)

	_, err := u.Store(context.Background(), document(jobWithURL(server.URL+"/k"), []byte("document")))

	if err != nil {
		t.Fatalf("Store: %v", err)
	}
	if got := attempts.Load(); got != 2 {
		t.Errorf("%d attempts, want 2", got)
	}
}

func TestAttemptTimeoutRetried(t *testing.T) {
	var attempts atomic.Int32
	release := make(chan struct{})
	defer close(release)
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		if attempts.Add(1) == 1 {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}
	}))
	defer server.Close()
	cfg := fastConfig()
	cfg.AttemptTimeout = 100 * time.Millisecond
	u := newTestUploader(t, cfg, nil)

	_, err := u.Store(context.Background(), document(jobWithURL(server.URL+"/k"), []byte("document")))

	if err != nil {
		t.Fatalf("Store: %v", err)
	}
	if got := attempts.Load(); got != 2 {
		t.Errorf("%d attempts, want 2", got)
	}
}

func TestRedirectNotFollowed(t *testing.T) {
	var redirected atomic.Bool
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		redirected.Store(true)
	}))
	defer elsewhere.Close()
	var attempts atomic.Int32
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		attempts.Add(1)
		http.Redirect(w, r, elsewhere.URL+"/stolen", http.StatusTemporaryRedirect)
	}))
	defer server.Close()
	u := newTestUploader(t, fastConfig(), nil)

	_, err := u.Store(context.Background(), document(jobWithURL(server.URL+"/k"), []byte("document")))

	jobErr := assertStorageFailed(t, err)
	if redirected.Load() {
		t.Error("the upload followed the redirect")
	}
	if got := attempts.Load(); got != 1 {
		t.Errorf("%d attempts, want 1", got)
	}
	if !strings.Contains(jobErr.Message, "307 Temporary Redirect") {
		t.Errorf("message %q does not give the status line", jobErr.Message)
	}
}

func TestCancelDuringPauseStops(t *testing.T) {
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadGateway)
	}))
	defer server.Close()
	u := newTestUploader(t, Config{InitialBackoff: time.Hour, MaxBackoff: time.Hour}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	started := time.Now()

	_, err := u.Store(ctx, document(jobWithURL(server.URL+"/k"), []byte("document")))

	jobErr := assertStorageFailed(t, err)
	if elapsed := time.Since(started); elapsed > 5*time.Second {
		t.Errorf("Store returned after %s, want soon after the 200ms deadline", elapsed)
	}
	if !strings.Contains(jobErr.Message, "deadline") || !strings.Contains(jobErr.Message, "502 Bad Gateway") {
		t.Errorf("message %q does not give the deadline and the last failure", jobErr.Message)
	}
}

func TestDocumentFileStaysOpen(t *testing.T) {
	var attempts atomic.Int32
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		if attempts.Add(1) == 1 {
			w.WriteHeader(http.StatusInternalServerError)
		}
	}))
	defer server.Close()
	u := newTestUploader(t, fastConfig(), nil)
	path := filepath.Join(t.TempDir(), "doc.pdf")
	if err := os.WriteFile(path, []byte("document on disk"), 0o600); err != nil {
		t.Fatal(err)
	}
	file, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()

	_, err = u.Store(context.Background(), engine.Document{Job: jobWithURL(server.URL + "/k"), Body: file, Size: 16})
	if err != nil {
		t.Fatalf("Store: %v", err)
	}

	if _, err := file.Seek(0, io.SeekStart); err != nil {
		t.Errorf("the document file was closed by the upload: %v", err)
	}
}

func TestEmptyDocumentSendsZeroLength(t *testing.T) {
	fake := storagetest.NewFakeS3(t, customerBucket)
	u := newTestUploader(t, fastConfig(), nil)

	_, err := u.Store(context.Background(), document(jobWithURL(presignPut(t, fake, customerBucket, "empty.pdf")), nil))
	if err != nil {
		t.Fatalf("Store: %v", err)
	}

	requests := fake.Requests()
	if len(requests) != 1 || requests[0].Header.Get("Content-Length") != "0" {
		t.Errorf("requests = %+v, want one PUT with Content-Length 0", requests)
	}
}

func TestQueryNeverLogged(t *testing.T) {
	var attempts atomic.Int32
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if attempts.Add(1) == 1 {
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.Close()
			return
		}
		w.WriteHeader(http.StatusForbidden)
	}))
	defer server.Close()
	var logs syncBuffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	u := newTestUploader(t, fastConfig(), logger)

	_, err := u.Store(context.Background(), document(jobWithURL(server.URL+"/k?X-Amz-Signature=topsecret"), []byte("document")))

	assertStorageFailed(t, err)
	if !strings.Contains(logs.String(), "retrying") {
		t.Errorf("no retry was logged: %s", logs.String())
	}
	if strings.Contains(logs.String(), "topsecret") || strings.Contains(err.Error(), "topsecret") {
		t.Errorf("the query reached the log or the error:\n%s\n%v", logs.String(), err)
	}
}

func TestInvalidPresignedURLRejected(t *testing.T) {
	u := newTestUploader(t, fastConfig(), nil)
	for _, raw := range []string{"", "ftp://example.test/k", "/relative/path", "https://user:pass@example.test/k"} {
		_, err := u.Store(context.Background(), document(jobWithURL(raw), []byte("document")))

		jobErr := assertStorageFailed(t, err)
		if !strings.Contains(jobErr.Message, "doppio.presignedUrl") {
			t.Errorf("URL %q: message %q does not name doppio.presignedUrl", raw, jobErr.Message)
		}
		if strings.Contains(jobErr.Message, "pass") {
			t.Errorf("URL %q: message %q repeats the user info", raw, jobErr.Message)
		}
	}
}

func assertStorageFailed(t *testing.T, err error) *engine.JobError {
	t.Helper()
	var jobErr *engine.JobError
	if !errors.As(err, &jobErr) {
		t.Fatalf("error = %v, want a *engine.JobError", err)
	}
	if jobErr.Code != engine.CodeStorageFailed {
		t.Errorf("code = %q, want %q", jobErr.Code, engine.CodeStorageFailed)
	}
	return jobErr
}
