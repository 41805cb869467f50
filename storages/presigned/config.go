package presigned

import (
	"fmt"
	"net/http"
	"time"
)

// Defaults of Config.
const (
	DefaultMaxAttempts    = 3
	DefaultInitialBackoff = 500 * time.Millisecond
	DefaultMaxBackoff     = 10 * time.Second
	DefaultAttemptTimeout = 5 * time.Minute
)

// Config configures the upload to callers' presigned URLs. A zero field
// takes its default.
type Config struct {
	// MaxAttempts is how many times one document is sent before the job
	// fails, counting the first. Default: 3.
	MaxAttempts int `koanf:"max_attempts"`
	// InitialBackoff is the pause before the second attempt. Each later
	// pause doubles, up to MaxBackoff, and a random part of up to half of
	// it is taken off. Default: 500ms.
	InitialBackoff time.Duration `koanf:"initial_backoff"`
	// MaxBackoff caps the pause between two attempts. Default: 10s.
	MaxBackoff time.Duration `koanf:"max_backoff"`
	// AttemptTimeout bounds one attempt, sending the document included,
	// so that a store that stops reading does not hold a worker forever.
	// Default: 5m.
	AttemptTimeout time.Duration `koanf:"attempt_timeout"`
	// Transport sends the requests; nil means a clone of
	// http.DefaultTransport. An outbound guard that restricts which
	// addresses callers' URLs may reach plugs in here. Redirects are never
	// followed, whatever the transport.
	Transport http.RoundTripper `koanf:"-"`
}

// withDefaults returns c with defaults in place of zero fields, or an error
// naming the configuration key of the first invalid field.
func (c Config) withDefaults() (Config, error) {
	if c.MaxAttempts == 0 {
		c.MaxAttempts = DefaultMaxAttempts
	}
	if c.InitialBackoff == 0 {
		c.InitialBackoff = DefaultInitialBackoff
	}
	if c.MaxBackoff == 0 {
		c.MaxBackoff = DefaultMaxBackoff
	}
	if c.AttemptTimeout == 0 {
		c.AttemptTimeout = DefaultAttemptTimeout
	}

	if c.MaxAttempts < 1 {
		return c, fmt.Errorf("storage.presigned.max_attempts must be at least 1, got %d", c.MaxAttempts)
	}
	if c.InitialBackoff < 0 {
		return c, fmt.Errorf("storage.presigned.initial_backoff must be positive, got %s", c.InitialBackoff)
	}
	if c.MaxBackoff < c.InitialBackoff {
		return c, fmt.Errorf("storage.presigned.max_backoff (%s) must be at least storage.presigned.initial_backoff (%s)", c.MaxBackoff, c.InitialBackoff)
	}
	if c.AttemptTimeout < 0 {
		return c, fmt.Errorf("storage.presigned.attempt_timeout must be positive, got %s", c.AttemptTimeout)
	}
	return c, nil
}
