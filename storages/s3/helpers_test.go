package s3

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/presso-dev/presso/engine"
	"github.com/presso-dev/presso/storages/storagetest"
)

const testBucket = "documents"

func TestMain(m *testing.M) {
	// Keep the SDK's default chain off the instance metadata address and
	// away from the host's own AWS files, whatever a test configures.
	os.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	empty := filepath.Join(os.TempDir(), "presso-s3-test-no-aws-config")
	os.Setenv("AWS_CONFIG_FILE", empty)
	os.Setenv("AWS_SHARED_CREDENTIALS_FILE", empty)
	os.Unsetenv("AWS_PROFILE")
	os.Exit(m.Run())
}

// staticConfig is an engine.ConfigSource that copies a whole prepared
// struct into the output for each known path.
type staticConfig map[string]any

func (c staticConfig) Unmarshal(path string, out any) error {
	if value, ok := c[path]; ok {
		reflect.ValueOf(out).Elem().Set(reflect.ValueOf(value))
	}
	return nil
}

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// fakeConfig returns a configuration for bucket on fake, path-style with
// static credentials.
func fakeConfig(fake *storagetest.FakeS3, bucket string) Config {
	return Config{
		Bucket:          bucket,
		Endpoint:        fake.URL,
		PathStyle:       true,
		AccessKeyID:     storagetest.FakeAccessKeyID,
		SecretAccessKey: storagetest.FakeSecretAccessKey,
	}
}

// newTestStorage opens cfg and closes it when the test ends.
func newTestStorage(t testing.TB, cfg Config) *Storage {
	t.Helper()
	s, err := NewWithConfig(context.Background(), cfg, testLogger(t))
	if err != nil {
		t.Fatalf("NewWithConfig: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func pdfJob() *engine.Job {
	return engine.NewJob(engine.KindPDF, engine.ModeSync, engine.AnonymousKey, engine.RenderRequest{})
}

func attachmentJob() *engine.Job {
	return engine.NewJob(engine.KindScreenshot, engine.ModeAsync, engine.AnonymousKey, engine.RenderRequest{
		Doppio: &engine.DoppioOptions{ContentDisposition: "attachment"},
		Page:   engine.PageOptions{Screenshot: &engine.ScreenshotOptions{Type: "webp"}},
	})
}

func store(t testing.TB, s *Storage, job *engine.Job, content []byte) engine.StoredDocument {
	t.Helper()
	stored, err := s.Store(context.Background(), engine.Document{Job: job, Body: bytes.NewReader(content), Size: int64(len(content))})
	if err != nil {
		t.Fatalf("Store: %v", err)
	}
	return stored
}
