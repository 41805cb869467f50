package presigned

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/presso-dev/presso/engine"
	"github.com/presso-dev/presso/storages/storagetest"
)

func TestMain(m *testing.M) {
	// The SDK presigns with static credentials here; this keeps any
	// fallback off the instance metadata address.
	os.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	os.Exit(m.Run())
}

// fastConfig retries without noticeable pauses.
func fastConfig() Config {
	return Config{InitialBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond}
}

func newTestUploader(t *testing.T, cfg Config, logger *slog.Logger) *Uploader {
	t.Helper()
	if logger == nil {
		logger = testLogger(t)
	}
	u, err := NewUploader(cfg, logger)
	if err != nil {
		t.Fatalf("NewUploader: %v", err)
	}
	t.Cleanup(func() { u.Close() })
	return u
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// presignPut returns a presigned PUT URL for bucket/key on fake, made by
// the AWS SDK as a caller of the API would make it.
func presignPut(t testing.TB, fake *storagetest.FakeS3, bucket, key string) string {
	t.Helper()
	client := s3.New(s3.Options{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider(storagetest.FakeAccessKeyID, storagetest.FakeSecretAccessKey, ""),
		BaseEndpoint: aws.String(fake.URL),
		UsePathStyle: true,
	})
	req, err := s3.NewPresignClient(client, s3.WithPresignExpires(15*time.Minute)).PresignPutObject(context.Background(), &s3.PutObjectInput{
		Bucket:      aws.String(bucket),
		Key:         aws.String(key),
		ContentType: aws.String(OctetStream),
	})
	if err != nil {
		t.Fatalf("PresignPutObject: %v", err)
	}
	return req.URL
}

func jobWithURL(presignedURL string) *engine.Job {
	return engine.NewJob(engine.KindPDF, engine.ModeSync, engine.AnonymousKey, engine.RenderRequest{
		Doppio: &engine.DoppioOptions{PresignedURL: presignedURL},
	})
}

func document(job *engine.Job, content []byte) engine.Document {
	return engine.Document{Job: job, Body: bytes.NewReader(content), Size: int64(len(content))}
}

// syncBuffer is a log destination that tests read while handlers write.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
