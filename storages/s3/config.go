package s3

import (
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Defaults and limits of Config.
const (
	DefaultRegion   = "us-east-1"
	DefaultURLTTL   = 24 * time.Hour
	DefaultPartSize = 8 << 20
	// MaxURLTTL is the longest validity that SigV4 accepts for a presigned
	// URL (X-Amz-Expires at most 604800 seconds).
	MaxURLTTL = 7 * 24 * time.Hour
	// MinPartSize and MaxPartSize are S3's limits on a multipart part other
	// than the last one.
	MinPartSize = 5 << 20
	MaxPartSize = 5 << 30
	// DefaultConfigPath is the configuration path that errors name when
	// Config.ConfigPath is empty.
	DefaultConfigPath = "storage.s3"
)

// Values of Config.ServerSideEncryption besides the empty string, which
// leaves encryption to the bucket's default.
const (
	SSEAES256 = "AES256"
	SSEKMS    = "aws:kms"
)

// Config configures one S3 bucket. A zero field takes its default.
type Config struct {
	// Bucket is the name of the bucket that receives documents. Required.
	Bucket string `koanf:"bucket"`
	// Region is the bucket's region, the one SigV4 signs for. S3-compatible
	// stores often accept any value; Cloudflare R2 expects "auto".
	// Default: us-east-1.
	Region string `koanf:"region"`
	// Endpoint is the base URL of an S3-compatible store such as MinIO,
	// Ceph or R2, for example http://127.0.0.1:9000. Empty: AWS S3.
	Endpoint string `koanf:"endpoint"`
	// PathStyle addresses the bucket as <endpoint>/<bucket>/<key> instead
	// of <bucket>.<endpoint>/<key>. Most self-hosted stores need it.
	// Default: false.
	PathStyle bool `koanf:"path_style"`
	// AccessKeyID and SecretAccessKey are static credentials, set both or
	// neither. Neither: the AWS SDK's default chain (environment, shared
	// files, web identity, container or instance role).
	AccessKeyID     string `koanf:"access_key_id"`
	SecretAccessKey string `koanf:"secret_access_key"`
	// SessionToken goes with temporary static credentials. Optional.
	SessionToken string `koanf:"session_token"`
	// Prefix starts every object key, for example "documents/". It is
	// prepended as is, so include the trailing slash to get a folder.
	Prefix string `koanf:"prefix"`
	// URLTTL is how long a presigned documentUrl stays valid, at most 168h
	// (7 days). Unused when PublicBaseURL is set. Default: 24h.
	URLTTL time.Duration `koanf:"url_ttl"`
	// PublicBaseURL, when set, makes documentUrl <public_base_url>/<key>
	// instead of a presigned URL, for buckets served publicly or through a
	// CDN. Such URLs do not expire.
	PublicBaseURL string `koanf:"public_base_url"`
	// ServerSideEncryption is "" (the bucket's default), "AES256" (SSE-S3)
	// or "aws:kms" (SSE-KMS).
	ServerSideEncryption string `koanf:"server_side_encryption"`
	// SSEKMSKeyID is the KMS key of SSE-KMS; empty uses the account's
	// AWS-managed key. Only with server_side_encryption aws:kms.
	SSEKMSKeyID string `koanf:"sse_kms_key_id"`
	// PartSize is the size in bytes of each part of a multipart upload,
	// between 5 MiB and 5 GiB; a document of at most this size goes up in
	// one PutObject. Parts are streamed from the document's file, so the
	// size does not change memory use. Default: 8 MiB (8388608).
	PartSize int64 `koanf:"part_size"`

	// ConfigPath is the dotted configuration path that error messages name,
	// such as auth.keys[2].storage for a key's own bucket. Default:
	// storage.s3.
	ConfigPath string `koanf:"-"`
}

// withDefaults returns c with defaults in place of zero fields, or an error
// naming the configuration key of the first invalid field.
func (c Config) withDefaults() (Config, error) {
	if c.ConfigPath == "" {
		c.ConfigPath = DefaultConfigPath
	}
	if c.Region == "" {
		c.Region = DefaultRegion
	}
	if c.URLTTL == 0 {
		c.URLTTL = DefaultURLTTL
	}
	if c.PartSize == 0 {
		c.PartSize = DefaultPartSize
	}
	c.PublicBaseURL = strings.TrimRight(c.PublicBaseURL, "/")
	key := func(field string) string { return c.ConfigPath + "." + field }

	if c.Bucket == "" {
		return c, fmt.Errorf("%s is missing: set it to the name of the bucket that receives documents", key("bucket"))
	}
	if c.Endpoint != "" {
		if err := checkBaseURL(c.Endpoint); err != nil {
			return c, fmt.Errorf("%s %q is invalid: %v, for example http://127.0.0.1:9000", key("endpoint"), c.Endpoint, err)
		}
	}
	if (c.AccessKeyID == "") != (c.SecretAccessKey == "") {
		return c, fmt.Errorf("%s and %s must be set together: set both, or neither to use the AWS default credential chain", key("access_key_id"), key("secret_access_key"))
	}
	if c.SessionToken != "" && c.AccessKeyID == "" {
		return c, fmt.Errorf("%s needs %s and %s", key("session_token"), key("access_key_id"), key("secret_access_key"))
	}
	if strings.HasPrefix(c.Prefix, "/") {
		return c, fmt.Errorf("%s %q must not start with '/': S3 keys have no leading slash", key("prefix"), c.Prefix)
	}
	if c.URLTTL < time.Second || c.URLTTL > MaxURLTTL {
		return c, fmt.Errorf("%s must be between 1s and 168h (7 days, the SigV4 maximum), got %s", key("url_ttl"), c.URLTTL)
	}
	if c.PublicBaseURL != "" {
		if err := checkBaseURL(c.PublicBaseURL); err != nil {
			return c, fmt.Errorf("%s %q is invalid: %v, for example https://cdn.example.com/documents", key("public_base_url"), c.PublicBaseURL, err)
		}
	}
	switch c.ServerSideEncryption {
	case "", SSEAES256, SSEKMS:
	default:
		return c, fmt.Errorf("%s %q is invalid: use %q, %q or leave it empty for the bucket's default", key("server_side_encryption"), c.ServerSideEncryption, SSEAES256, SSEKMS)
	}
	if c.SSEKMSKeyID != "" && c.ServerSideEncryption != SSEKMS {
		return c, fmt.Errorf("%s needs %s set to %q", key("sse_kms_key_id"), key("server_side_encryption"), SSEKMS)
	}
	if c.PartSize < MinPartSize || c.PartSize > MaxPartSize {
		return c, fmt.Errorf("%s must be between %d (5 MiB) and %d (5 GiB) bytes, got %d", key("part_size"), int64(MinPartSize), int64(MaxPartSize), c.PartSize)
	}
	return c, nil
}

// checkBaseURL accepts an absolute http or https URL without query,
// fragment or user info.
func checkBaseURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("it must be an absolute http or https URL")
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return fmt.Errorf("remove its query, fragment or user info")
	}
	return nil
}

// endpointDescription names where the bucket lives, for error messages.
func (c Config) endpointDescription() string {
	if c.Endpoint != "" {
		return "at endpoint " + c.Endpoint
	}
	return "in AWS S3 region " + c.Region
}

// credentialSource names the kind of credentials, never their values, for
// the start-up log line.
func (c Config) credentialSource() string {
	if c.AccessKeyID != "" {
		return "static"
	}
	return "default chain"
}
