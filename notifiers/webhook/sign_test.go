package webhook

import (
	"strings"
	"testing"
	"time"

	"github.com/presso-dev/presso/engine"
)

func TestSignDoppioKeysWithWholeSecret(t *testing.T) {
	body := []byte(`{"a":1}`)
	withPrefix := SignDoppio(firstSecret, body)
	withoutPrefix := SignDoppio(strings.TrimPrefix(firstSecret, "whsec_"), body)

	if withPrefix == withoutPrefix {
		t.Error("the whsec_ prefix does not change the signature, want it in the key")
	}
	if len(withPrefix) != 64 || strings.ToLower(withPrefix) != withPrefix {
		t.Errorf("signature = %q, want 64 lowercase hex digits", withPrefix)
	}
}

func TestSignStandardRejectsInvalidSecret(t *testing.T) {
	for _, secret := range []string{"", "plain-text", "whsec_!!!", "whsec_c2hvcnQ="} {
		if _, err := SignStandard(secret, "id", 1, nil); err == nil {
			t.Errorf("SignStandard(%q) succeeded, want an error", secret)
		}
	}
}

func TestSignatureHeaderOneEntryPerSecret(t *testing.T) {
	header, err := SignatureHeader([]string{firstSecret, secondSecret}, "msg_1", 1700000000, []byte("body"))
	if err != nil {
		t.Fatal(err)
	}
	first, _ := SignStandard(firstSecret, "msg_1", 1700000000, []byte("body"))
	second, _ := SignStandard(secondSecret, "msg_1", 1700000000, []byte("body"))

	if header != first+" "+second {
		t.Errorf("header = %q, want %q", header, first+" "+second)
	}
	if !strings.HasPrefix(first, "v1,") {
		t.Errorf("signature = %q, want a v1, prefix", first)
	}
}

func TestSignatureHeaderErrors(t *testing.T) {
	if _, err := SignatureHeader(nil, "id", 1, nil); err == nil {
		t.Error("SignatureHeader without secrets succeeded, want an error")
	}
	_, err := SignatureHeader([]string{firstSecret, "bad"}, "id", 1, nil)
	if err == nil || !strings.Contains(err.Error(), "2 of 2") {
		t.Errorf("error = %v, want one naming secret 2 of 2", err)
	}
	if err != nil && strings.Contains(err.Error(), firstSecret) {
		t.Errorf("error %q contains a secret", err)
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2025, 12, 4, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		value string
		want  time.Duration
	}{
		{"", 0},
		{"0", 0},
		{"3", 3 * time.Second},
		{" 120 ", 2 * time.Minute},
		{"-5", 0},
		{"1.5", 0},
		{"soon", 0},
		{"Thu, 04 Dec 2025 12:01:30 GMT", 90 * time.Second},
		{"Thu, 04 Dec 2025 11:59:00 GMT", 0},
		{"99999999999999999999999", time.Duration(1<<63 - 1)},
	}
	for _, tt := range tests {
		if got := parseRetryAfter(tt.value, now); got != tt.want {
			t.Errorf("parseRetryAfter(%q) = %s, want %s", tt.value, got, tt.want)
		}
	}
}

func TestNewReadsConfigThroughRegistry(t *testing.T) {
	deps := engine.Deps{
		Config: staticConfig{"webhook": Config{Timeout: 2 * time.Second}},
		Keys:   testKeyring(t),
	}

	built, err := engine.Notifiers.New("webhook", deps)
	if err != nil {
		t.Fatalf("Notifiers.New: %v", err)
	}
	defer built.Close()

	if got := built.(*Notifier).cfg.Timeout; got != 2*time.Second {
		t.Errorf("Timeout = %s, want 2s", got)
	}
}

func TestConfigValidation(t *testing.T) {
	if _, err := NewWithConfig(Config{Timeout: -time.Second}, testKeyring(t), nil); err == nil || !strings.Contains(err.Error(), "webhook.timeout") {
		t.Errorf("negative timeout: error = %v, want one naming webhook.timeout", err)
	}
	if _, err := NewWithConfig(Config{}, nil, nil); err == nil {
		t.Error("nil key ring accepted, want an error")
	}
	n, err := NewWithConfig(Config{}, testKeyring(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	if n.cfg.Timeout != DefaultTimeout {
		t.Errorf("Timeout = %s, want the default %s", n.cfg.Timeout, DefaultTimeout)
	}
}
