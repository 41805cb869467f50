package local

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/presso-dev/presso/engine"
)

func TestNewReadsConfigThroughRegistry(t *testing.T) {
	dir := t.TempDir()
	deps := engine.Deps{
		Config: staticConfig{
			"storage.local": Config{Dir: dir, TTL: time.Hour},
			"server":        serverConfig{PublicURL: "https://docs.example.test/base/"},
		},
		Logger: testLogger(t),
	}

	built, err := engine.Storages.New("local", deps)
	if err != nil {
		t.Fatalf("Storages.New: %v", err)
	}
	defer built.Close()
	s := built.(*Storage)

	if s.cfg.Dir != dir || s.cfg.TTL != time.Hour || s.cfg.SweepInterval != DefaultSweepInterval {
		t.Errorf("config = %+v, want dir %s, ttl 1h and the default sweep interval", s.cfg, dir)
	}
	if want := "https://docs.example.test/base/v1/documents/"; s.documentBase != want {
		t.Errorf("documentBase = %q, want %q", s.documentBase, want)
	}
}

func TestConfigErrorsNameKey(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		key  string
	}{
		{"public URL missing", Config{}, "server.public_url"},
		{"public URL relative", Config{PublicURL: "/documents"}, "server.public_url"},
		{"public URL with query", Config{PublicURL: "http://127.0.0.1:8080/?a=b"}, "server.public_url"},
		{"negative TTL", Config{PublicURL: testPublicURL, TTL: -time.Second}, "storage.local.ttl"},
		{"negative sweep interval", Config{PublicURL: testPublicURL, SweepInterval: -time.Second}, "storage.local.sweep_interval"},
		{"short URL secret", Config{PublicURL: testPublicURL, URLSecret: "short"}, "storage.local.url_secret"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.Dir = t.TempDir()

			_, err := NewWithConfig(tt.cfg, testLogger(t))

			if err == nil {
				t.Fatal("NewWithConfig succeeded, want an error")
			}
			if !strings.Contains(err.Error(), tt.key) {
				t.Errorf("error %q does not name %s", err, tt.key)
			}
		})
	}
}

func TestConfigDefaults(t *testing.T) {
	cfg, err := Config{PublicURL: testPublicURL}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Dir != DefaultDir {
		t.Errorf("Dir = %q, want %q", cfg.Dir, DefaultDir)
	}
	if cfg.TTL != 24*time.Hour {
		t.Errorf("TTL = %s, want 24h", cfg.TTL)
	}
	if cfg.SweepInterval != time.Minute {
		t.Errorf("SweepInterval = %s, want 1m", cfg.SweepInterval)
	}
}

func TestTruncatedKeyFileRejected(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, URLSecretFile), []byte("abc\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	_, err := NewWithConfig(Config{Dir: dir, PublicURL: testPublicURL}, testLogger(t))

	if err == nil {
		t.Fatal("NewWithConfig accepted a 3-character key file")
	}
	if !strings.Contains(err.Error(), URLSecretFile) {
		t.Errorf("error %q does not name the key file", err)
	}
}

func TestConcurrentKeyCreationAgrees(t *testing.T) {
	dir := t.TempDir()
	const processes = 8
	secrets := make([]string, processes)
	errs := make([]error, processes)
	var wg sync.WaitGroup
	for i := range processes {
		wg.Go(func() { secrets[i], errs[i] = loadOrCreateURLSecret(dir) })
	}
	wg.Wait()

	for i := range processes {
		if errs[i] != nil {
			t.Errorf("caller %d: %v", i, errs[i])
		}
		if secrets[i] != secrets[0] {
			t.Errorf("caller %d got another key than caller 0", i)
		}
	}
	if len(secrets[0]) != 64 {
		t.Errorf("key has %d characters, want 64 hex digits", len(secrets[0]))
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("folder contains %d entries, want only %s", len(entries), URLSecretFile)
	}
}
