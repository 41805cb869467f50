package local

import (
	"bytes"
	"context"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/presso-dev/presso/engine"
)

func TestStoreWritesNamedFileAndSignedURL(t *testing.T) {
	clock := newFakeClock()
	s := newTestStorage(t, Config{}, clock)
	job := pdfJob()
	content := []byte("%PDF-1.7 test document")

	stored := store(t, s, job, content)

	wantKey := job.RequestID + "-" + strconv.FormatInt(job.CreatedAt.UnixMilli(), 10) + ".pdf"
	if stored.Key != wantKey {
		t.Errorf("Key = %q, want %q", stored.Key, wantKey)
	}
	if stored.IsCustomBucket {
		t.Error("IsCustomBucket = true, want false")
	}
	onDisk, err := os.ReadFile(filepath.Join(s.cfg.Dir, stored.Key))
	if err != nil {
		t.Fatalf("reading stored file: %v", err)
	}
	if !bytes.Equal(onDisk, content) {
		t.Errorf("file content = %q, want %q", onDisk, content)
	}

	u, err := url.Parse(stored.URL)
	if err != nil {
		t.Fatalf("URL %q does not parse: %v", stored.URL, err)
	}
	if got, want := u.Scheme+"://"+u.Host+u.Path, testPublicURL+engine.DocumentPath+wantKey; got != want {
		t.Errorf("URL without query = %q, want %q", got, want)
	}
	if got, want := u.Query().Get("expires"), strconv.FormatInt(clock.Now().Add(DefaultTTL).Unix(), 10); got != want {
		t.Errorf("expires = %q, want %q", got, want)
	}
	if len(u.Query().Get("signature")) != 64 {
		t.Errorf("signature = %q, want 64 hex digits", u.Query().Get("signature"))
	}
	if u.Query().Has("disposition") {
		t.Errorf("inline document URL has a disposition parameter: %s", stored.URL)
	}
}

func TestStoreAttachmentURLHasDisposition(t *testing.T) {
	s := newTestStorage(t, Config{}, newFakeClock())
	stored := store(t, s, jpegAttachmentJob(), []byte("jpeg bytes"))

	u, _ := url.Parse(stored.URL)
	if got := u.Query().Get("disposition"); got != "attachment" {
		t.Errorf("disposition = %q, want attachment", got)
	}
	if !strings.HasSuffix(stored.Key, ".jpg") {
		t.Errorf("Key = %q, want a .jpg name", stored.Key)
	}
}

func TestStoreSameJobTwiceSameKey(t *testing.T) {
	s := newTestStorage(t, Config{}, newFakeClock())
	job := pdfJob()

	first := store(t, s, job, []byte("first render"))
	second := store(t, s, job, []byte("second render"))

	if first.Key != second.Key {
		t.Errorf("keys differ: %q then %q", first.Key, second.Key)
	}
	onDisk, err := os.ReadFile(filepath.Join(s.cfg.Dir, second.Key))
	if err != nil {
		t.Fatalf("reading stored file: %v", err)
	}
	if string(onDisk) != "second render" {
		t.Errorf("file content = %q, want the second render", onDisk)
	}
	entries, _ := os.ReadDir(s.cfg.Dir)
	var names []string
	for _, entry := range entries {
		names = append(names, entry.Name())
	}
	if len(names) != 2 { // the document and the URL signing key
		t.Errorf("folder contains %v, want the document and %s only", names, URLSecretFile)
	}
}

func TestStoreSizeMismatchFails(t *testing.T) {
	s := newTestStorage(t, Config{}, newFakeClock())
	job := pdfJob()

	_, err := s.Store(context.Background(), engine.Document{Job: job, Body: bytes.NewReader([]byte("short")), Size: 100})

	assertStorageFailed(t, err)
	assertNoDocuments(t, s.cfg.Dir)
}

func TestStoreCanceledContextFails(t *testing.T) {
	s := newTestStorage(t, Config{}, newFakeClock())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()

	_, err := s.Store(ctx, engine.Document{Job: pdfJob(), Body: bytes.NewReader([]byte("body")), Size: 4})

	assertStorageFailed(t, err)
	assertNoDocuments(t, s.cfg.Dir)
}

func TestStoreRejectsUnsafeRequestID(t *testing.T) {
	s := newTestStorage(t, Config{}, newFakeClock())
	job := pdfJob()
	job.RequestID = "../escape"

	_, err := s.Store(context.Background(), engine.Document{Job: job, Body: bytes.NewReader([]byte("x")), Size: 1})

	assertStorageFailed(t, err)
	if _, statErr := os.Stat(filepath.Join(filepath.Dir(s.cfg.Dir), "escape")); !errors.Is(statErr, os.ErrNotExist) {
		t.Errorf("a file was written outside the folder: %v", statErr)
	}
}

func TestStoreRewindsBody(t *testing.T) {
	s := newTestStorage(t, Config{}, newFakeClock())
	body := bytes.NewReader([]byte("whole document"))
	body.Seek(6, 0) // as a previous, failed upload attempt would leave it

	stored, err := s.Store(context.Background(), engine.Document{Job: pdfJob(), Body: body, Size: 14})
	if err != nil {
		t.Fatalf("Store: %v", err)
	}
	onDisk, _ := os.ReadFile(filepath.Join(s.cfg.Dir, stored.Key))
	if string(onDisk) != "whole document" {
		t.Errorf("file content = %q, want the whole document", onDisk)
	}
}

func TestTwoInstancesShareGeneratedSecret(t *testing.T) {
	clock := newFakeClock()
	dir := t.TempDir()
	writer := newTestStorage(t, Config{Dir: dir}, clock)
	server := newTestStorage(t, Config{Dir: dir}, clock)

	stored := store(t, writer, pdfJob(), []byte("shared"))
	rec := get(t, server, "GET", stored.URL, nil)

	if rec.Code != 200 {
		t.Fatalf("second instance returned %d, want 200: %s", rec.Code, rec.Body)
	}
	if got, want := server.documentURL(stored.Key, 1, "inline"), writer.documentURL(stored.Key, 1, "inline"); got != want {
		t.Errorf("instances sign differently: %q and %q", got, want)
	}
	info, err := os.Stat(filepath.Join(dir, URLSecretFile))
	if err != nil {
		t.Fatalf("stat key file: %v", err)
	}
	if mode := info.Mode().Perm(); mode != 0o600 {
		t.Errorf("key file mode = %o, want 600", mode)
	}
}

func TestConfiguredSecretNeedsNoKeyFile(t *testing.T) {
	clock := newFakeClock()
	secret := strings.Repeat("ab", 32)
	a := newTestStorage(t, Config{URLSecret: secret}, clock)
	b := newTestStorage(t, Config{URLSecret: secret}, clock)

	if got, want := a.documentURL("doppioreq_x-1.pdf", 10, "inline"), b.documentURL("doppioreq_x-1.pdf", 10, "inline"); got != want {
		t.Errorf("same url_secret signs differently: %q and %q", got, want)
	}
	if _, err := os.Stat(filepath.Join(a.cfg.Dir, URLSecretFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("key file exists although url_secret is set: %v", err)
	}
}

func TestCloseIsIdempotent(t *testing.T) {
	s := newTestStorage(t, Config{}, newFakeClock())
	if err := s.Close(); err != nil {
		t.Errorf("first Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func assertStorageFailed(t *testing.T, err error) {
	t.Helper()
	var jobErr *engine.JobError
	if !errors.As(err, &jobErr) {
		t.Fatalf("error = %v, want a *engine.JobError", err)
	}
	if jobErr.Code != engine.CodeStorageFailed {
		t.Errorf("code = %q, want %q", jobErr.Code, engine.CodeStorageFailed)
	}
}

func assertNoDocuments(t *testing.T, dir string) {
	t.Helper()
	entries, _ := os.ReadDir(dir)
	for _, entry := range entries {
		if entry.Name() != URLSecretFile {
			t.Errorf("folder contains %s after a failed Store", entry.Name())
		}
	}
}
