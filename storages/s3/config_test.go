package s3

import (
	"strings"
	"testing"
	"time"

	"github.com/presso-dev/presso/engine"
	"github.com/presso-dev/presso/storages/storagetest"
)

func TestConfigDefaults(t *testing.T) {
	cfg, err := Config{Bucket: "b"}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Region != "us-east-1" {
		t.Errorf("Region = %q, want us-east-1", cfg.Region)
	}
	if cfg.URLTTL != 24*time.Hour {
		t.Errorf("URLTTL = %s, want 24h", cfg.URLTTL)
	}
	if cfg.PartSize != 8<<20 {
		t.Errorf("PartSize = %d, want 8 MiB", cfg.PartSize)
	}
	if cfg.ConfigPath != "storage.s3" {
		t.Errorf("ConfigPath = %q, want storage.s3", cfg.ConfigPath)
	}
}

func TestConfigErrorsNameKey(t *testing.T) {
	valid := Config{Bucket: "b"}
	tests := []struct {
		name   string
		change func(*Config)
		key    string
	}{
		{"bucket missing", func(c *Config) { c.Bucket = "" }, "storage.s3.bucket"},
		{"endpoint relative", func(c *Config) { c.Endpoint = "minio:9000" }, "storage.s3.endpoint"},
		{"endpoint with query", func(c *Config) { c.Endpoint = "http://127.0.0.1:9000/?a=b" }, "storage.s3.endpoint"},
		{"access key without secret", func(c *Config) { c.AccessKeyID = "AKIA" }, "storage.s3.secret_access_key"},
		{"secret without access key", func(c *Config) { c.SecretAccessKey = "s" }, "storage.s3.access_key_id"},
		{"session token alone", func(c *Config) { c.SessionToken = "t" }, "storage.s3.session_token"},
		{"prefix with leading slash", func(c *Config) { c.Prefix = "/docs/" }, "storage.s3.prefix"},
		{"url ttl negative", func(c *Config) { c.URLTTL = -time.Hour }, "storage.s3.url_ttl"},
		{"url ttl over 7 days", func(c *Config) { c.URLTTL = 7*24*time.Hour + time.Second }, "storage.s3.url_ttl"},
		{"public base url relative", func(c *Config) { c.PublicBaseURL = "/docs" }, "storage.s3.public_base_url"},
		{"unknown encryption", func(c *Config) { c.ServerSideEncryption = "aws:kms:dsse" }, "storage.s3.server_side_encryption"},
		{"kms key without kms", func(c *Config) { c.SSEKMSKeyID = "alias/k" }, "storage.s3.sse_kms_key_id"},
		{"part size under 5 MiB", func(c *Config) { c.PartSize = 1 << 20 }, "storage.s3.part_size"},
		{"part size over 5 GiB", func(c *Config) { c.PartSize = 6 << 30 }, "storage.s3.part_size"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := valid
			tt.change(&cfg)

			_, err := cfg.withDefaults()

			if err == nil {
				t.Fatal("withDefaults succeeded, want an error")
			}
			if !strings.Contains(err.Error(), tt.key) {
				t.Errorf("error %q does not name %s", err, tt.key)
			}
		})
	}
}

func TestConfigErrorsNameConfigPath(t *testing.T) {
	_, err := Config{ConfigPath: "auth.keys[3].storage", Bucket: "b", URLTTL: -1}.withDefaults()

	if err == nil || !strings.Contains(err.Error(), "auth.keys[3].storage.url_ttl") {
		t.Errorf("error = %v, want one naming auth.keys[3].storage.url_ttl", err)
	}
}

func TestConfigAcceptsLimits(t *testing.T) {
	cfg := Config{Bucket: "b", URLTTL: MaxURLTTL, PartSize: MinPartSize, ServerSideEncryption: SSEKMS, SSEKMSKeyID: "k"}
	if _, err := cfg.withDefaults(); err != nil {
		t.Errorf("withDefaults rejected the limits: %v", err)
	}
}

func TestNewReadsConfigThroughRegistry(t *testing.T) {
	fake := storagetest.NewFakeS3(t, testBucket)
	cfg := fakeConfig(fake, testBucket)
	cfg.URLTTL = time.Hour
	deps := engine.Deps{Config: staticConfig{"storage.s3": cfg}, Logger: testLogger(t)}

	built, err := engine.Storages.New("s3", deps)
	if err != nil {
		t.Fatalf("Storages.New: %v", err)
	}
	defer built.Close()
	s := built.(*Storage)

	if s.cfg.Bucket != testBucket || s.cfg.URLTTL != time.Hour || s.cfg.PartSize != DefaultPartSize {
		t.Errorf("config = %+v, want bucket %s, url_ttl 1h and the default part size", s.cfg, testBucket)
	}
}
