package engine

import (
	"context"
	"math/rand/v2"
	"time"
)

// DeliveryPolicy paces the attempts of one webhook delivery.
type DeliveryPolicy struct {
	// MaxAttempts is the number of calls before the delivery is marked
	// failed. Default 10.
	MaxAttempts int `koanf:"max_attempts"`
	// InitialBackoff is the largest pause before the second attempt; each
	// later pause may be twice the previous one. Default 1s.
	InitialBackoff time.Duration `koanf:"initial_backoff"`
	// MaxBackoff caps every pause, Retry-After included. Default 10m.
	MaxBackoff time.Duration `koanf:"max_backoff"`
	// Timeout bounds one attempt. Default 10s.
	Timeout time.Duration `koanf:"timeout"`
	// Concurrency bounds the attempts in flight in this process. Default 64.
	Concurrency int `koanf:"concurrency"`
	// PerHost bounds the attempts in flight to one receiver host, so that
	// a slow receiver cannot take every slot. Default 8.
	PerHost int `koanf:"per_host"`
	// PollInterval is how often the queue of due deliveries is checked
	// for retries and for deliveries queued by other processes. Default 250ms.
	PollInterval time.Duration `koanf:"poll_interval"`
}

func (p DeliveryPolicy) withDefaults() DeliveryPolicy {
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = 10
	}
	if p.InitialBackoff <= 0 {
		p.InitialBackoff = time.Second
	}
	if p.MaxBackoff <= 0 {
		p.MaxBackoff = 10 * time.Minute
	}
	if p.Timeout <= 0 {
		p.Timeout = 10 * time.Second
	}
	if p.Concurrency <= 0 {
		p.Concurrency = 64
	}
	if p.PerHost <= 0 {
		p.PerHost = 8
	}
	if p.PollInterval <= 0 {
		p.PollInterval = 250 * time.Millisecond
	}
	return p
}

// Backoff returns the pause after the given failed attempt (from 1):
// exponential with full jitter, so that many failing deliveries to one
// receiver spread out instead of retrying in step.
func (p DeliveryPolicy) Backoff(attempt int) time.Duration {
	ceiling := p.InitialBackoff
	for i := 1; i < attempt && ceiling < p.MaxBackoff; i++ {
		ceiling *= 2
	}
	ceiling = min(ceiling, p.MaxBackoff)
	return time.Duration(rand.Int64N(int64(ceiling)) + 1)
}

func sleep(ctx context.Context, d time.Duration) error {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
