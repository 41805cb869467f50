package storagetest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"

	"github.com/presso-dev/presso/engine"
)

func assertStorageFailed(t *testing.T, err error) *engine.JobError {
	t.Helper()
	var jobErr *engine.JobError
	if !errors.As(err, &jobErr) {
		t.Errorf("error = %v, want a *engine.JobError", err)
		return nil
	}
	if jobErr.Code != engine.CodeStorageFailed {
		t.Errorf("code = %q, want %q", jobErr.Code, engine.CodeStorageFailed)
	}
	if jobErr.Message == "" {
		t.Error("message is empty, want the store's reason")
	}
	return jobErr
}

func assertNoSecrets(t *testing.T, target Target, label, text string) {
	t.Helper()
	for _, secret := range target.Secrets {
		if secret != "" && strings.Contains(text, secret) {
			t.Errorf("%s contains a secret: %q", label, text)
		}
	}
}

func prepare(t *testing.T, target Target, job *engine.Job) *engine.Job {
	if target.PrepareJob != nil {
		target.PrepareJob(t, job)
	}
	return job
}

func mustStore(t *testing.T, target Target, job *engine.Job, content []byte) engine.StoredDocument {
	t.Helper()
	stored, err := target.Storage.Store(context.Background(), document(job, content))
	if err != nil {
		t.Fatalf("Store: %v", err)
	}
	return stored
}

func fetch(t *testing.T, target Target, stored engine.StoredDocument) *http.Response {
	t.Helper()
	if target.Fetch != nil {
		return target.Fetch(t, stored)
	}
	resp, err := http.Get(stored.URL)
	if err != nil {
		t.Fatalf("GET documentUrl: %v", err)
	}
	return resp
}

// fetchOK downloads a stored document and fails the test unless the
// response is 200.
func fetchOK(t *testing.T, target Target, stored engine.StoredDocument) ([]byte, http.Header) {
	t.Helper()
	resp := fetch(t, target, stored)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading document: %v", err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET documentUrl returned %d, want 200: %.300s", resp.StatusCode, body)
	}
	return body, resp.Header
}

func document(job *engine.Job, content []byte) engine.Document {
	return engine.Document{Job: job, Body: bytes.NewReader(content), Size: int64(len(content))}
}

func withoutQuery(raw string) string {
	before, _, _ := strings.Cut(raw, "?")
	return before
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

// randomBytes returns n bytes that do not compress, from a fixed seed.
func randomBytes(n int) []byte {
	rng := rand.NewChaCha8([32]byte{1})
	content := make([]byte, n)
	rng.Read(content)
	return content
}
