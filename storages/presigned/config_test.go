package presigned

import (
	"strings"
	"testing"
	"time"
)

func TestConfigDefaults(t *testing.T) {
	cfg, err := Config{}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.MaxAttempts != 3 {
		t.Errorf("MaxAttempts = %d, want 3", cfg.MaxAttempts)
	}
	if cfg.InitialBackoff != 500*time.Millisecond {
		t.Errorf("InitialBackoff = %s, want 500ms", cfg.InitialBackoff)
	}
	if cfg.MaxBackoff != 10*time.Second {
		t.Errorf("MaxBackoff = %s, want 10s", cfg.MaxBackoff)
	}
	if cfg.AttemptTimeout != 5*time.Minute {
		t.Errorf("AttemptTimeout = %s, want 5m", cfg.AttemptTimeout)
	}
}

func TestConfigErrorsNameKey(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		key  string
	}{
		{"negative attempts", Config{MaxAttempts: -1}, "storage.presigned.max_attempts"},
		{"negative initial backoff", Config{InitialBackoff: -time.Second}, "storage.presigned.initial_backoff"},
		{"max backoff under initial", Config{InitialBackoff: time.Minute, MaxBackoff: time.Second}, "storage.presigned.max_backoff"},
		{"negative attempt timeout", Config{AttemptTimeout: -time.Second}, "storage.presigned.attempt_timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewUploader(tt.cfg, nil)

			if err == nil {
				t.Fatal("NewUploader succeeded, want an error")
			}
			if !strings.Contains(err.Error(), tt.key) {
				t.Errorf("error %q does not name %s", err, tt.key)
			}
		})
	}
}
