package webhook

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/presso-dev/presso/engine"
	"github.com/presso-dev/presso/engine/outbound"
)

func init() {
	engine.Notifiers.Register("webhook", New)
}

var _ engine.Notifier = (*Notifier)(nil)

// maxResponseBody is how much of a response Deliver reads, in bytes. Reading
// a short body lets the connection be reused, and the limit keeps a large
// or endless body from holding the attempt open.
const maxResponseBody = 64 << 10

// Notifier calls webhooks over HTTP.
type Notifier struct {
	cfg    Config
	keys   *engine.Keyring
	client *http.Client
	logger *slog.Logger
}

// New builds the notifier from webhook.timeout and the key ring.
//
// Its calls go through the outbound guard configured in the outbound
// section, so a webhook cannot reach an internal address.
func New(deps engine.Deps) (engine.Notifier, error) {
	var cfg Config
	var guardConfig outbound.Config
	if deps.Config != nil {
		if err := deps.Config.Unmarshal("webhook", &cfg); err != nil {
			return nil, fmt.Errorf("reading webhook failed: %w", err)
		}
		if err := deps.Config.Unmarshal("outbound", &guardConfig); err != nil {
			return nil, fmt.Errorf("reading outbound failed: %w", err)
		}
	}
	guard, err := outbound.New(guardConfig, deps.Logger)
	if err != nil {
		return nil, err
	}
	cfg.Transport = guard.HTTPTransport()
	return NewWithConfig(cfg, deps.Keys, deps.Logger)
}

// NewWithConfig returns a notifier that signs with the secrets of keys. A
// nil logger means slog.Default().
func NewWithConfig(cfg Config, keys *engine.Keyring, logger *slog.Logger) (*Notifier, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if keys == nil {
		return nil, errors.New("webhook notifier needs the key ring to sign calls, got nil")
	}
	if logger == nil {
		logger = slog.Default()
	}
	client := &http.Client{
		Transport: cfg.Transport,
		// A redirect would let a receiver send the signed call to another
		// host, so the 3xx response itself is the outcome of the attempt.
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
	return &Notifier{cfg: cfg, keys: keys, client: client, logger: logger.With("notifier", "webhook")}, nil
}

// Deliver makes one call to d.Webhook and returns its outcome. The attempt
// ends after Config.Timeout or when ctx ends, whichever comes first.
func (n *Notifier) Deliver(ctx context.Context, d *engine.Delivery) engine.Attempt {
	start := time.Now()
	attempt := engine.Attempt{At: start.UTC()}
	log := n.logger.With("jobId", d.JobID, "requestId", d.RequestID, "attempt", d.Attempt)

	attemptCtx, cancel := context.WithTimeout(ctx, n.cfg.Timeout)
	defer cancel()

	req, err := newRequest(attemptCtx, d, n.keys.Secrets(d.Key), start)
	if err != nil {
		attempt.Error = err.Error()
		attempt.Duration = time.Since(start)
		log.Error("webhook call not sent", "error", attempt.Error)
		return attempt
	}
	log = log.With("method", req.Method, "host", req.URL.Host)

	resp, err := n.client.Do(req)
	if err != nil {
		attempt.Error = describeError(err, ctx, n.cfg.Timeout)
		// A receiver the outbound guard refuses stays refused: retrying
		// would only repeat the refusal.
		attempt.Permanent = outbound.IsDenied(err)
		attempt.Duration = time.Since(start)
		log.Debug("webhook attempt failed", "error", attempt.Error, "duration", attempt.Duration)
		return attempt
	}
	// The status is the outcome, so a body cut short by the deadline does not
	// change it.
	io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponseBody))
	resp.Body.Close()

	attempt.StatusCode = resp.StatusCode
	attempt.Duration = time.Since(start)
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
		attempt.RetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
	}

	switch {
	case attempt.Succeeded():
		log.Debug("webhook call answered", "status", resp.StatusCode, "duration", attempt.Duration)
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		log.Warn("webhook attempt failed: redirect not followed", "status", resp.StatusCode, "duration", attempt.Duration)
	default:
		log.Debug("webhook attempt failed", "status", resp.StatusCode, "duration", attempt.Duration, "retryAfter", attempt.RetryAfter)
	}
	return attempt
}

// Close closes idle connections. Deliver still works afterwards.
func (n *Notifier) Close() error {
	n.client.CloseIdleConnections()
	return nil
}

// describeError returns the Attempt.Error of a failed call. It leaves out
// the URL that net/http puts in its errors, because a caller's URL may carry
// a token in its query.
func describeError(err error, parent context.Context, timeout time.Duration) string {
	if parent.Err() != nil {
		return "canceled before the receiver responded: " + context.Cause(parent).Error()
	}
	var netErr interface{ Timeout() bool }
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &netErr) && netErr.Timeout()) {
		return fmt.Sprintf("timed out after %s", timeout)
	}
	var urlErr *url.Error
	if errors.As(err, &urlErr) {
		return urlErr.Err.Error()
	}
	return err.Error()
}
