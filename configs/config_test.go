package configs

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLoadDefaults(t *testing.T) {
	cfg, err := Load("", nil)
	if err != nil {
		t.Fatal(err)
	}
	checks := map[string]string{
		"server.addr":             "127.0.0.1:8080",
		"server.public_url":       "http://127.0.0.1:8080",
		"transport.kind":          "memory",
		"storage.kind":            "local",
		"storage.local.dir":       "./data/documents",
		"renderer.chromium.bin":   "/usr/bin/chromium",
		"renderer.timeout":        "30s",
		"webhook.timeout":         "10s",
		"webhook.initial_backoff": "1s",
	}
	for key, want := range checks {
		if got := cfg.String(key); got != want {
			t.Errorf("%s = %q, want %q", key, got, want)
		}
	}
}

func TestLoadLayersFileEnvAndFlags(t *testing.T) {
	file := filepath.Join(t.TempDir(), "presso.yaml")
	yaml := "server:\n  addr: 127.0.0.1:9001\nrenderer:\n  timeout: 12s\nwebhook:\n  max_attempts: 3\n"
	if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PRESSO_SERVER__PUBLIC_URL", "https://render.example.com")
	t.Setenv("PRESSO_WEBHOOK__MAX_ATTEMPTS", "5")

	cfg, err := Load(file, map[string]any{"renderer.timeout": "7s"})
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.String("server.addr"); got != "127.0.0.1:9001" {
		t.Errorf("server.addr from the file = %q", got)
	}
	if got := cfg.String("server.public_url"); got != "https://render.example.com" {
		t.Errorf("server.public_url from the environment = %q", got)
	}

	var webhook struct {
		MaxAttempts int `koanf:"max_attempts"`
	}
	if err := cfg.Unmarshal("webhook", &webhook); err != nil {
		t.Fatal(err)
	}
	if webhook.MaxAttempts != 5 {
		t.Errorf("webhook.max_attempts: environment should override the file, got %d", webhook.MaxAttempts)
	}

	var renderer struct {
		Timeout time.Duration `koanf:"timeout"`
	}
	if err := cfg.Unmarshal("renderer", &renderer); err != nil {
		t.Fatal(err)
	}
	if renderer.Timeout != 7*time.Second {
		t.Errorf("renderer.timeout: the flag should override the file, got %s", renderer.Timeout)
	}
}

func TestLoadMissingFile(t *testing.T) {
	if _, err := Load(filepath.Join(t.TempDir(), "absent.yaml"), nil); err == nil {
		t.Fatal("expected an error for a missing configuration file")
	}
}

func TestLoadRejectsUnknownKeys(t *testing.T) {
	file := filepath.Join(t.TempDir(), "presso.yaml")
	if err := os.WriteFile(file, []byte("server:\n  adr: 127.0.0.1:9000\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Load(file, nil)
	if err == nil || !strings.Contains(err.Error(), "server.adr") || !strings.Contains(err.Error(), "did you mean server.addr?") {
		t.Errorf("a misspelt key in the file: %v", err)
	}
	_, err = Load("", map[string]any{"rendrer.timeout": "5s"})
	if err == nil || !strings.Contains(err.Error(), "rendrer.timeout") {
		t.Errorf("a misspelt key in --set: %v", err)
	}
	t.Setenv("PRESSO_UNRELATED_SETTING", "1")
	if _, err := Load("", map[string]any{"auth.keys": []any{map[string]any{"name": "a"}}}); err != nil {
		t.Errorf("an unrelated environment variable or a list entry was rejected: %v", err)
	}
}

func TestCheckNotNegative(t *testing.T) {
	cfg, err := Load("", map[string]any{"limits.max_queued": -1})
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.CheckNotNegative("limits"); err == nil || err.Error() != "limits.max_queued must be 0 or more, got -1" {
		t.Errorf("CheckNotNegative = %v, want it to name limits.max_queued", err)
	}
	defaults, err := Load("", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, section := range []string{"limits", "webhook"} {
		if err := defaults.CheckNotNegative(section); err != nil {
			t.Errorf("the defaults of %s are rejected: %v", section, err)
		}
	}
}

func TestDecodeErrorNamesTheKey(t *testing.T) {
	cfg, err := Load("", map[string]any{"renderer.timeout": "abc"})
	if err != nil {
		t.Fatal(err)
	}
	var renderer struct {
		Timeout time.Duration `koanf:"timeout"`
	}
	err = cfg.Unmarshal("renderer", &renderer)
	if err == nil || !strings.Contains(err.Error(), "renderer.timeout") || !strings.Contains(err.Error(), "such as 500ms, 30s or 10m") {
		t.Errorf("Unmarshal error = %v, want the whole key and an example duration", err)
	}
}

func TestDurationsNeedAUnitAndNoSign(t *testing.T) {
	for value, want := range map[any]string{
		100:   "100 has no unit: give a duration such as 100s or 100ms",
		"-1s": `"-1s" is negative`,
		"5x":  `"5x" is not a duration`,
	} {
		cfg, err := Load("", map[string]any{"webhook.timeout": value})
		if err != nil {
			t.Fatal(err)
		}
		var webhook struct {
			Timeout time.Duration `koanf:"timeout"`
		}
		err = cfg.Unmarshal("webhook", &webhook)
		if err == nil || !strings.Contains(err.Error(), "webhook.timeout") || !strings.Contains(err.Error(), want) {
			t.Errorf("webhook.timeout %v: error = %v, want one naming the key with %q", value, err, want)
		}
	}
	cfg, err := Load("", map[string]any{"webhook.timeout": "0"})
	if err != nil {
		t.Fatal(err)
	}
	var webhook struct {
		Timeout time.Duration `koanf:"timeout"`
	}
	if err := cfg.Unmarshal("webhook", &webhook); err != nil || webhook.Timeout != 0 {
		t.Errorf("webhook.timeout 0: %v, %v", webhook.Timeout, err)
	}
}
