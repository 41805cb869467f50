package selector

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/presso-dev/presso/engine"
	"github.com/presso-dev/presso/storages/presigned"
	"github.com/presso-dev/presso/storages/s3"
	"github.com/presso-dev/presso/storages/storagetest"
)

func TestMain(m *testing.M) {
	// Keep the SDK's default chain off the instance metadata address and
	// away from the host's own AWS files, whatever a test configures.
	os.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	empty := filepath.Join(os.TempDir(), "presso-selector-test-no-aws-config")
	os.Setenv("AWS_CONFIG_FILE", empty)
	os.Setenv("AWS_SHARED_CREDENTIALS_FILE", empty)
	os.Unsetenv("AWS_PROFILE")
	os.Exit(m.Run())
}

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// bucketSettings returns the auth.keys[].storage map of bucket on fake, as
// koanf decodes it from YAML.
func bucketSettings(fake *storagetest.FakeS3, bucket string) map[string]any {
	return map[string]any{
		"bucket":            bucket,
		"endpoint":          fake.URL,
		"path_style":        true,
		"access_key_id":     storagetest.FakeAccessKeyID,
		"secret_access_key": storagetest.FakeSecretAccessKey,
	}
}

func newS3Storage(t testing.TB, fake *storagetest.FakeS3, bucket string) *s3.Storage {
	t.Helper()
	storage, err := s3.NewWithConfig(context.Background(), s3.Config{
		Bucket: bucket, Endpoint: fake.URL, PathStyle: true,
		AccessKeyID: storagetest.FakeAccessKeyID, SecretAccessKey: storagetest.FakeSecretAccessKey,
	}, testLogger(t))
	if err != nil {
		t.Fatalf("s3.NewWithConfig: %v", err)
	}
	return storage
}

func newUploader(t testing.TB) *presigned.Uploader {
	t.Helper()
	uploader, err := presigned.NewUploader(presigned.Config{InitialBackoff: time.Millisecond, MaxBackoff: time.Millisecond}, testLogger(t))
	if err != nil {
		t.Fatalf("NewUploader: %v", err)
	}
	return uploader
}

// presignPut returns a presigned PUT URL for bucket/key on fake.
func presignPut(t testing.TB, fake *storagetest.FakeS3, bucket, key string) string {
	t.Helper()
	client := awss3.New(awss3.Options{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider(storagetest.FakeAccessKeyID, storagetest.FakeSecretAccessKey, ""),
		BaseEndpoint: aws.String(fake.URL),
		UsePathStyle: true,
	})
	req, err := awss3.NewPresignClient(client).PresignPutObject(context.Background(), &awss3.PutObjectInput{
		Bucket: aws.String(bucket), Key: aws.String(key), ContentType: aws.String(presigned.OctetStream),
	})
	if err != nil {
		t.Fatalf("PresignPutObject: %v", err)
	}
	return req.URL
}

func job(mode engine.Mode, key, presignedURL string) *engine.Job {
	var req engine.RenderRequest
	if presignedURL != "" {
		req.Doppio = &engine.DoppioOptions{PresignedURL: presignedURL}
	}
	return engine.NewJob(engine.KindPDF, mode, key, req)
}

func store(t testing.TB, s engine.Storage, job *engine.Job, content string) engine.StoredDocument {
	t.Helper()
	stored, err := s.Store(context.Background(), engine.Document{Job: job, Body: bytes.NewReader([]byte(content)), Size: int64(len(content))})
	if err != nil {
		t.Fatalf("Store: %v", err)
	}
	return stored
}

// stubStorage is a storage that records its calls.
type stubStorage struct {
	name   string
	stores atomic.Int32
	closes atomic.Int32
}

func (s *stubStorage) Store(context.Context, engine.Document) (engine.StoredDocument, error) {
	s.stores.Add(1)
	return engine.StoredDocument{URL: "https://" + s.name + ".test/doc", Key: s.name}, nil
}

func (s *stubStorage) Close() error {
	s.closes.Add(1)
	return nil
}

// servingStub is a stubStorage that serves its documents itself.
type servingStub struct {
	stubStorage
	handler http.Handler
}

func (s *servingStub) DocumentHandler() http.Handler { return s.handler }
