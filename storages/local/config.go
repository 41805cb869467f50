package local

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Defaults of Config.
const (
	DefaultDir           = "./data/documents"
	DefaultTTL           = 24 * time.Hour
	DefaultSweepInterval = time.Minute
)

// URLSecretFile is the file in Config.Dir that contains the URL signing key
// when Config.URLSecret is empty.
const URLSecretFile = ".url-signing-key"

// minURLSecretLength is the shortest accepted signing key in characters:
// 32 hex digits carry 128 bits.
const minURLSecretLength = 32

// Config configures the local storage. A zero field takes its default.
type Config struct {
	// Dir is the folder of stored documents, created with mode 0700 when
	// missing. Default: ./data/documents.
	Dir string `koanf:"dir"`
	// TTL is how long a document stays on disk, counted from its
	// modification time, and how long its URL is valid. Default: 24h.
	TTL time.Duration `koanf:"ttl"`
	// URLSecret is the HMAC-SHA256 key of document URLs, used as its bytes,
	// at least 32 characters. Empty: the key is read from
	// <Dir>/.url-signing-key, which is created on first use with 32 random
	// bytes in hex and mode 0600.
	URLSecret string `koanf:"url_secret"`
	// SweepInterval is the pause between two sweeps for expired documents.
	// Default: 1m.
	SweepInterval time.Duration `koanf:"sweep_interval"`
	// PublicURL is the base of document URLs, the setting server.public_url,
	// for example http://127.0.0.1:8080. Required.
	PublicURL string `koanf:"-"`
}

// serverConfig is the part of the server settings that the storage reads.
type serverConfig struct {
	PublicURL string `koanf:"public_url"`
}

// withDefaults returns c with defaults in place of zero fields, or an error
// naming the configuration key of the first invalid field.
func (c Config) withDefaults() (Config, error) {
	if c.Dir == "" {
		c.Dir = DefaultDir
	}
	if c.TTL == 0 {
		c.TTL = DefaultTTL
	}
	if c.SweepInterval == 0 {
		c.SweepInterval = DefaultSweepInterval
	}

	if c.TTL < 0 {
		return c, fmt.Errorf("storage.local.ttl must be positive, got %s", c.TTL)
	}
	if c.SweepInterval < 0 {
		return c, fmt.Errorf("storage.local.sweep_interval must be positive, got %s", c.SweepInterval)
	}
	if c.URLSecret != "" && len(c.URLSecret) < minURLSecretLength {
		return c, fmt.Errorf("storage.local.url_secret must be at least %d characters; generate one with `openssl rand -hex 32` or leave it empty to use %s", minURLSecretLength, URLSecretFile)
	}
	if err := validatePublicURL(c.PublicURL); err != nil {
		return c, err
	}
	return c, nil
}

func validatePublicURL(raw string) error {
	if raw == "" {
		return errors.New("server.public_url is missing: set it to the base URL through which clients reach Presso, for example http://127.0.0.1:8080")
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("server.public_url %q is invalid: it must be an absolute http or https URL, for example http://127.0.0.1:8080", raw)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return fmt.Errorf("server.public_url %q is invalid: remove its query, fragment or user info", raw)
	}
	return nil
}

// loadOrCreateURLSecret returns the signing key stored in dir, creating it
// when no process has done so yet.
func loadOrCreateURLSecret(dir string) (string, error) {
	path := filepath.Join(dir, URLSecretFile)
	secret, err := readURLSecret(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return secret, err
	}

	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", fmt.Errorf("generating the URL signing key failed: %w", err)
	}
	tmp, err := os.CreateTemp(dir, URLSecretFile+"-*.tmp")
	if err != nil {
		return "", fmt.Errorf("creating %s failed: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.WriteString(hex.EncodeToString(raw) + "\n")
	if err == nil {
		err = tmp.Sync()
	}
	if closeErr := tmp.Close(); err == nil {
		err = closeErr
	}
	if err != nil {
		return "", fmt.Errorf("writing %s failed: %w", tmp.Name(), err)
	}

	// A hard link publishes the complete file under its final name and fails
	// if another process got there first, so processes starting together
	// never read a half-written key and all end up with the same one.
	if err := os.Link(tmp.Name(), path); err != nil && !errors.Is(err, fs.ErrExist) {
		return "", fmt.Errorf("creating %s failed: %w; set storage.local.url_secret instead if the file system has no hard links", path, err)
	}
	return readURLSecret(path)
}

func readURLSecret(path string) (string, error) {
	content, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	secret := strings.TrimSpace(string(content))
	if len(secret) < minURLSecretLength {
		return "", fmt.Errorf("%s contains fewer than %d characters: delete it to generate a new key (URLs already issued stop working) or set storage.local.url_secret", path, minURLSecretLength)
	}
	return secret, nil
}
