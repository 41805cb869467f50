package webhook

import (
	"fmt"
	"net/http"
	"time"
)

// DefaultTimeout is the default of Config.Timeout.
const DefaultTimeout = 10 * time.Second

// Config configures the notifier. A zero field takes its default.
type Config struct {
	// Timeout is the time limit of one attempt, from dialing to reading the
	// response body. Default: 10s.
	Timeout time.Duration `koanf:"timeout"`
	// Transport sends the calls. Nil: a clone of http.DefaultTransport,
	// which dials any address. Give a transport whose dialer enforces
	// outbound.allow to keep webhooks away from internal hosts.
	Transport http.RoundTripper `koanf:"-"`
}

// withDefaults returns c with defaults in place of zero fields, or an error
// naming the configuration key of the first invalid field.
func (c Config) withDefaults() (Config, error) {
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Timeout < 0 {
		return c, fmt.Errorf("webhook.timeout must be positive, got %s", c.Timeout)
	}
	if c.Transport == nil {
		c.Transport = http.DefaultTransport.(*http.Transport).Clone()
	}
	return c, nil
}
