package selector

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/presso-dev/presso/engine"
	"github.com/presso-dev/presso/storages/storagetest"
)

func TestPresignedJobGoesToUploader(t *testing.T) {
	fake := storagetest.NewFakeS3(t, "presso", "customer")
	s := New(newS3Storage(t, fake, "presso"), nil, newUploader(t))
	defer s.Close()

	stored := store(t, s, job(engine.ModeAsync, "acme", presignPut(t, fake, "customer", "out/1.pdf")), "customer copy")

	if !stored.IsCustomBucket {
		t.Error("IsCustomBucket = false, want true")
	}
	if want := fake.URL + "/customer/out/1.pdf"; stored.URL != want {
		t.Errorf("URL = %q, want %q", stored.URL, want)
	}
	if keys := fake.Keys(t, "customer"); !slices.Equal(keys, []string{"out/1.pdf"}) {
		t.Errorf("customer bucket contains %v, want out/1.pdf", keys)
	}
	if keys := fake.Keys(t, "presso"); len(keys) != 0 {
		t.Errorf("default bucket contains %v, want nothing", keys)
	}
}

func TestDirectJobIgnoresPresignedURL(t *testing.T) {
	defaultStorage := &stubStorage{name: "default"}
	s := New(defaultStorage, nil, newUploader(t))
	defer s.Close()

	stored := store(t, s, job(engine.ModeDirect, "acme", "http://127.0.0.1:1/never?X-Amz-Signature=x"), "bytes")

	if defaultStorage.stores.Load() != 1 {
		t.Errorf("default storage got %d documents, want 1", defaultStorage.stores.Load())
	}
	if stored.IsCustomBucket {
		t.Error("IsCustomBucket = true for the default storage")
	}
}

func TestPresignedURLWithoutUploaderFails(t *testing.T) {
	defaultStorage := &stubStorage{name: "default"}
	s := New(defaultStorage, nil, nil)
	defer s.Close()
	j := job(engine.ModeSync, "acme", "https://bucket.example.test/k?X-Amz-Signature=x")

	_, err := s.Store(context.Background(), engine.Document{Job: j, Body: strings.NewReader("x"), Size: 1})

	var jobErr *engine.JobError
	if !errors.As(err, &jobErr) || jobErr.Code != engine.CodeStorageFailed {
		t.Fatalf("error = %v, want a storage_failed job error", err)
	}
	if !strings.Contains(jobErr.Message, "doppio.presignedUrl") {
		t.Errorf("message %q does not name doppio.presignedUrl", jobErr.Message)
	}
	if defaultStorage.stores.Load() != 0 {
		t.Error("the document went to the default storage instead of failing")
	}
}

func TestPerKeyBucketKeepsKeysApart(t *testing.T) {
	fake := storagetest.NewFakeS3(t, "presso", "bucket-a")
	perKey, err := PerKeyFromConfig(context.Background(), []engine.APIKey{
		{Name: "key-a", Storage: bucketSettings(fake, "bucket-a")},
		{Name: "key-b"},
	}, testLogger(t))
	if err != nil {
		t.Fatalf("PerKeyFromConfig: %v", err)
	}
	s := New(newS3Storage(t, fake, "presso"), perKey, newUploader(t))
	defer s.Close()

	storedA := store(t, s, job(engine.ModeSync, "key-a", ""), "document of A")
	storedB := store(t, s, job(engine.ModeAsync, "key-b", ""), "document of B")

	if !storedA.IsCustomBucket {
		t.Error("key A's result has IsCustomBucket false, want true")
	}
	if storedB.IsCustomBucket {
		t.Error("key B's result has IsCustomBucket true, want false")
	}
	if keys := fake.Keys(t, "bucket-a"); !slices.Equal(keys, []string{storedA.Key}) {
		t.Errorf("bucket A contains %v, want only key A's %s", keys, storedA.Key)
	}
	if keys := fake.Keys(t, "presso"); !slices.Equal(keys, []string{storedB.Key}) {
		t.Errorf("default bucket contains %v, want only key B's %s", keys, storedB.Key)
	}
	if !strings.Contains(storedA.URL, "/bucket-a/") {
		t.Errorf("key A's URL %s does not point into bucket A", storedA.URL)
	}
}

func TestDocumentHandlerDelegates(t *testing.T) {
	handler := http.NotFoundHandler()
	serving := New(&servingStub{stubStorage: stubStorage{name: "local"}, handler: handler}, nil, nil)
	plain := New(&stubStorage{name: "s3"}, nil, nil)

	if serving.DocumentHandler() == nil {
		t.Error("DocumentHandler = nil, want the default storage's handler")
	}
	if plain.DocumentHandler() != nil {
		t.Error("DocumentHandler != nil for a default storage that serves nothing")
	}
}

func TestCloseClosesEveryStorage(t *testing.T) {
	defaultStorage := &stubStorage{name: "default"}
	keyA, keyB := &stubStorage{name: "a"}, &stubStorage{name: "b"}
	s := New(defaultStorage, map[string]engine.Storage{"a": keyA, "b": keyB}, newUploader(t))

	if err := s.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}

	for _, storage := range []*stubStorage{defaultStorage, keyA, keyB} {
		if got := storage.closes.Load(); got != 1 {
			t.Errorf("storage %s closed %d times, want 1", storage.name, got)
		}
	}
}

func TestDecodeSettingsLikeKoanf(t *testing.T) {
	cfg, err := decodeS3Config(map[string]any{
		"bucket":     "b",
		"url_ttl":    "2h",
		"path_style": "true",
		"part_size":  "16777216",
		"prefix":     "acme/",
	}, "auth.keys[0].storage")
	if err != nil {
		t.Fatalf("decodeS3Config: %v", err)
	}

	if cfg.Bucket != "b" || cfg.Prefix != "acme/" {
		t.Errorf("bucket, prefix = %q, %q, want b, acme/", cfg.Bucket, cfg.Prefix)
	}
	if cfg.URLTTL != 2*time.Hour {
		t.Errorf("URLTTL = %s, want 2h", cfg.URLTTL)
	}
	if !cfg.PathStyle {
		t.Error("PathStyle = false, want true")
	}
	if cfg.PartSize != 16<<20 {
		t.Errorf("PartSize = %d, want 16 MiB", cfg.PartSize)
	}
	if cfg.ConfigPath != "auth.keys[0].storage" {
		t.Errorf("ConfigPath = %q, want auth.keys[0].storage", cfg.ConfigPath)
	}
}

func TestPerKeyErrorsNameSetting(t *testing.T) {
	fake := storagetest.NewFakeS3(t, "bucket-a")
	tests := []struct {
		name     string
		settings map[string]any
		want     string
	}{
		{"unknown setting", map[string]any{"bucket": "bucket-a", "bucket_name": "x"}, "auth.keys[1].storage.bucket_name"},
		{"invalid duration", map[string]any{"bucket": "bucket-a", "url_ttl": "soon"}, `auth.keys[1].storage.url_ttl "soon" is invalid`},
		{"bucket missing", map[string]any{"region": "eu-west-1"}, "auth.keys[1].storage.bucket"},
		{"ttl too long", map[string]any{"bucket": "bucket-a", "url_ttl": "200h"}, "auth.keys[1].storage.url_ttl"},
		{"bucket not found", bucketSettings(fake, "absent"), `auth.keys[1].storage.bucket "absent" does not exist at endpoint ` + fake.URL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keys := []engine.APIKey{{Name: "plain"}, {Name: "tenant", Storage: tt.settings}}

			_, err := PerKeyFromConfig(context.Background(), keys, testLogger(t))

			if err == nil {
				t.Fatal("PerKeyFromConfig succeeded, want an error")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
		})
	}
}

func TestCredentialDecodeErrorHidesValue(t *testing.T) {
	_, err := decodeS3Config(map[string]any{
		"bucket":            "b",
		"secret_access_key": map[string]any{"value": "wJalrXUtnFEMI-leaked"},
	}, "auth.keys[0].storage")

	if err == nil {
		t.Fatal("decodeS3Config accepted a map as secret_access_key")
	}
	if !strings.Contains(err.Error(), "auth.keys[0].storage.secret_access_key") {
		t.Errorf("error %q does not name the setting", err)
	}
	if strings.Contains(err.Error(), "leaked") {
		t.Errorf("error %q quotes the credential", err)
	}
}
