package s3

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/presso-dev/presso/engine"
)

func init() {
	engine.Storages.Register("s3", New)
}

var _ engine.Storage = (*Storage)(nil)

// startupTimeout bounds the bucket check that New runs, SDK retries
// included, so that an unreachable endpoint fails start-up instead of
// hanging it.
const startupTimeout = 30 * time.Second

// requestIDPattern is the request id character set that the local storage
// also accepts. It keeps keys free of '/', '?' and '#', so a key never
// changes meaning inside a URL path.
var requestIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,200}$`)

// Storage uploads documents to one S3 bucket and hands out presigned or
// public URLs for them.
type Storage struct {
	cfg     Config
	client  *s3.Client
	presign *s3.PresignClient
	logger  *slog.Logger
}

// New builds the storage from storage.s3.* and checks that the bucket
// exists, giving up after 30 seconds.
func New(deps engine.Deps) (engine.Storage, error) {
	var cfg Config
	if deps.Config != nil {
		if err := deps.Config.Unmarshal(DefaultConfigPath, &cfg); err != nil {
			return nil, fmt.Errorf("reading %s failed: %w", DefaultConfigPath, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), startupTimeout)
	defer cancel()
	return NewWithConfig(ctx, cfg, deps.Logger)
}

// NewWithConfig validates cfg, builds the S3 client and checks with
// HeadBucket that the bucket exists and the credentials reach it. A nil
// logger means slog.Default().
func NewWithConfig(ctx context.Context, cfg Config, logger *slog.Logger) (*Storage, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.Default()
	}
	logger = logger.With("storage", "s3", "bucket", cfg.Bucket)

	loadOptions := []func(*awsconfig.LoadOptions) error{awsconfig.WithRegion(cfg.Region)}
	if cfg.AccessKeyID != "" {
		provider := credentials.NewStaticCredentialsProvider(cfg.AccessKeyID, cfg.SecretAccessKey, cfg.SessionToken)
		loadOptions = append(loadOptions, awsconfig.WithCredentialsProvider(provider))
	}
	if cfg.Endpoint != "" {
		// Since service/s3 v1.73.0 (January 2025) the SDK adds CRC32
		// checksums, as aws-chunked trailers over HTTPS, to every upload.
		// Several S3-compatible stores reject them, so outside AWS the
		// SDK sends checksums only where an operation requires one.
		loadOptions = append(loadOptions,
			awsconfig.WithRequestChecksumCalculation(aws.RequestChecksumCalculationWhenRequired),
			awsconfig.WithResponseChecksumValidation(aws.ResponseChecksumValidationWhenRequired))
	}
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx, loadOptions...)
	if err != nil {
		return nil, fmt.Errorf("%s: loading the AWS SDK configuration failed: %w", cfg.ConfigPath, err)
	}
	client := s3.NewFromConfig(awsCfg, func(o *s3.Options) {
		if cfg.Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.Endpoint)
		}
		o.UsePathStyle = cfg.PathStyle
	})

	s := &Storage{
		cfg:     cfg,
		client:  client,
		presign: s3.NewPresignClient(client, s3.WithPresignExpires(cfg.URLTTL)),
		logger:  logger,
	}
	if err := s.checkBucket(ctx); err != nil {
		return nil, err
	}
	logger.Info("s3 storage started", "region", cfg.Region, "endpoint", cfg.Endpoint, "pathStyle", cfg.PathStyle,
		"prefix", cfg.Prefix, "urlTtl", cfg.URLTTL, "publicBaseUrl", cfg.PublicBaseURL,
		"credentials", cfg.credentialSource(), "partSize", cfg.PartSize)
	return s, nil
}

// checkBucket runs HeadBucket, which needs s3:ListBucket on the bucket.
func (s *Storage) checkBucket(ctx context.Context) error {
	_, err := s.client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(s.cfg.Bucket)})
	if err != nil {
		return bucketCheckError(s.cfg, err)
	}
	return nil
}

// Store uploads the document under its key and returns its URL. Storing
// the same job again overwrites the same object.
func (s *Storage) Store(ctx context.Context, doc engine.Document) (engine.StoredDocument, error) {
	if doc.Job == nil || doc.Body == nil {
		return engine.StoredDocument{}, engine.Errorf(engine.CodeStorageFailed, "s3 storage received a document without job or body")
	}
	job := doc.Job
	key, err := s.objectKey(job)
	if err != nil {
		return engine.StoredDocument{}, engine.Errorf(engine.CodeStorageFailed, "s3 storage rejected the document: %v", err)
	}
	log := s.logger.With("jobId", job.ID, "requestId", job.RequestID, "key", key)

	size, err := bodySize(doc)
	if err != nil {
		log.Error("storing document failed", "error", err)
		return engine.StoredDocument{}, engine.Errorf(engine.CodeStorageFailed, "s3 storage could not read the document: %v", err)
	}

	started := time.Now()
	parts, err := s.upload(ctx, key, job, doc.Body, size, log)
	if err != nil {
		log.Error("storing document failed", "bytes", size, "error", err)
		return engine.StoredDocument{}, engine.Errorf(engine.CodeStorageFailed, "s3 storage failed to upload the document to bucket %q: %s", s.cfg.Bucket, storeReason(err))
	}

	documentURL, err := s.documentURL(ctx, key)
	if err != nil {
		log.Error("presigning the document URL failed", "error", err)
		return engine.StoredDocument{}, engine.Errorf(engine.CodeStorageFailed, "s3 storage stored the document but could not presign its URL: %s", storeReason(err))
	}
	log.Debug("document stored", "bytes", size, "parts", parts, "durationMs", time.Since(started).Milliseconds())
	return engine.StoredDocument{URL: documentURL, Key: key}, nil
}

// objectKey returns prefix + <requestId>-<epoch ms>.<ext>, which depends
// only on the job, so a redelivered job overwrites its own object.
func (s *Storage) objectKey(job *engine.Job) (string, error) {
	if !requestIDPattern.MatchString(job.RequestID) {
		return "", fmt.Errorf("request id %q is invalid: it must be 1 to 200 letters, digits, '-' or '_'", job.RequestID)
	}
	return s.cfg.Prefix + job.RequestID + "-" + strconv.FormatInt(job.CreatedAt.UnixMilli(), 10) + "." + job.Extension(), nil
}

// documentURL returns the public URL of key when public_base_url is set,
// else a presigned GET URL valid for url_ttl.
func (s *Storage) documentURL(ctx context.Context, key string) (string, error) {
	if s.cfg.PublicBaseURL != "" {
		return s.cfg.PublicBaseURL + "/" + escapeKey(key), nil
	}
	// NOTE: with temporary credentials from the default chain (an
	// instance or container role), S3 stops honouring the URL when those
	// credentials expire, which may be before url_ttl.
	req, err := s.presign.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.cfg.Bucket), Key: aws.String(key)})
	if err != nil {
		return "", err
	}
	return req.URL, nil
}

// escapeKey percent-encodes each segment of key and keeps the slashes that
// separate them.
func escapeKey(key string) string {
	segments := strings.Split(key, "/")
	for i, segment := range segments {
		segments[i] = url.PathEscape(segment)
	}
	return strings.Join(segments, "/")
}

// bodySize returns the length of doc.Body, measured by seeking to its end,
// and rejects a document whose Size disagrees, as a truncated temporary
// file would.
func bodySize(doc engine.Document) (int64, error) {
	size, err := doc.Body.Seek(0, io.SeekEnd)
	if err != nil {
		return 0, fmt.Errorf("measuring the document failed: %w", err)
	}
	if doc.Size > 0 && size != doc.Size {
		return 0, fmt.Errorf("document body has %d bytes, expected %d", size, doc.Size)
	}
	return size, nil
}

// Close releases nothing: the SDK client holds only idle connections.
// Documents stay in the bucket. Close may be called more than once.
func (s *Storage) Close() error {
	s.logger.Info("s3 storage stopped")
	return nil
}
