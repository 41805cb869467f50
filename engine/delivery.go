package engine

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
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

// HandleNotify is the handler of TopicNotify: it calls the webhook until a
// call succeeds, the receiver answers 410 Gone, or the attempts run out.
func (w *Worker) HandleNotify(msg *message.Message) error {
	var d Delivery
	if err := json.Unmarshal(msg.Payload, &d); err != nil {
		w.logger.Error("dropping undecodable notify message", "messageId", msg.UUID, "error", err)
		return nil
	}
	log := w.logger.With("jobId", d.JobID, "requestId", d.RequestID)
	defer w.finished(d.JobID)

	ctx := msg.Context()
	for d.Attempt < w.delivery.MaxAttempts {
		d.Attempt++
		attempt := w.notifier.Deliver(ctx, &d)
		if attempt.Succeeded() {
			log.Info("webhook delivered", "attempt", d.Attempt, "statusCode", attempt.StatusCode, "durationMs", attempt.Duration.Milliseconds())
			return nil
		}
		log.Warn("webhook attempt failed", "attempt", d.Attempt, "statusCode", attempt.StatusCode, "error", attempt.Error, "durationMs", attempt.Duration.Milliseconds())
		if attempt.StatusCode == http.StatusGone {
			log.Warn("webhook delivery stopped: receiver answered 410 Gone", "attempt", d.Attempt)
			return nil
		}
		if d.Attempt >= w.delivery.MaxAttempts {
			break
		}

		pause := w.delivery.Backoff(d.Attempt)
		if attempt.RetryAfter > 0 {
			pause = min(attempt.RetryAfter, w.delivery.MaxBackoff)
		}
		if err := sleep(ctx, pause); err != nil {
			return err
		}
	}
	log.Error("webhook delivery failed", "attempts", d.Attempt)
	return nil
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
