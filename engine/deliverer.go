package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
)

// Deliverer runs webhook deliveries from the job store's queue. Each
// attempt is recorded. A failed one goes back to the queue with its pause,
// so a waiting retry holds no goroutine and survives a restart when the
// store is durable, and deliveries to other receivers go on meanwhile.
type Deliverer struct {
	store     JobStore
	notifier  Notifier
	policy    DeliveryPolicy
	publisher message.Publisher
	logger    *slog.Logger
	metrics   *Metrics

	// OnFinished, when set, is called when a delivery ends, delivered or failed.
	OnFinished func(jobID string)

	wake chan struct{}
	// busy counts attempts in flight per receiver host, so that a slow or
	// dead receiver takes at most PerHost of the Concurrency slots.
	mu   sync.Mutex
	busy map[string]int
	all  int
	wg   sync.WaitGroup
}

// NewDeliverer returns a deliverer; Run starts it.
func NewDeliverer(store JobStore, notifier Notifier, policy DeliveryPolicy, publisher message.Publisher, logger *slog.Logger) *Deliverer {
	return &Deliverer{
		store:     store,
		notifier:  notifier,
		policy:    policy.withDefaults(),
		publisher: publisher,
		logger:    logger,
		wake:      make(chan struct{}, 1),
		busy:      map[string]int{},
	}
}

// Enqueue makes d due now, unless the job's webhook was already delivered:
// a redelivered notify message must not call the receiver twice.
func (dl *Deliverer) Enqueue(ctx context.Context, d *Delivery) error {
	if rec, err := dl.store.Get(ctx, d.JobID); err == nil && rec.DeliveredAt != nil {
		dl.logger.Info("webhook already delivered; duplicate skipped", "jobId", d.JobID, "requestId", d.RequestID)
		return nil
	}
	if err := dl.store.ScheduleDelivery(ctx, d, time.Now()); err != nil {
		return fmt.Errorf("schedule webhook of job %s: %w", d.JobID, err)
	}
	dl.poke()
	return nil
}

func (dl *Deliverer) poke() {
	select {
	case dl.wake <- struct{}{}:
	default:
	}
}

// Run claims due deliveries and attempts them until ctx ends, then waits
// for the attempts in flight.
func (dl *Deliverer) Run(ctx context.Context) {
	defer dl.wg.Wait()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-dl.wake:
		case <-timer.C:
		}
		dl.claimAndStart(ctx)
		timer.Reset(dl.policy.PollInterval)
	}
}

func (dl *Deliverer) claimAndStart(ctx context.Context) {
	dl.mu.Lock()
	free := dl.policy.Concurrency - dl.all
	dl.mu.Unlock()
	if free <= 0 {
		return
	}
	lease := dl.policy.Timeout + 30*time.Second
	claimed, err := dl.store.ClaimDeliveries(ctx, time.Now(), lease, free)
	if err != nil {
		if ctx.Err() == nil {
			dl.logger.Error("could not claim due webhook deliveries", "error", err)
		}
		return
	}
	for _, d := range claimed {
		host := receiverHost(d.Webhook.URL)
		dl.mu.Lock()
		saturated := dl.busy[host] >= dl.policy.PerHost
		if !saturated {
			dl.busy[host]++
			dl.all++
		}
		dl.mu.Unlock()
		if saturated {
			// The receiver has as many calls in flight as it may have;
			// the delivery waits its turn without holding a slot.
			if err := dl.store.ScheduleDelivery(ctx, d, time.Now().Add(dl.policy.PollInterval)); err != nil {
				dl.logger.Error("could not postpone webhook delivery", "jobId", d.JobID, "requestId", d.RequestID, "error", err)
			}
			continue
		}
		dl.wg.Add(1)
		go func() {
			defer dl.wg.Done()
			dl.attempt(context.WithoutCancel(ctx), d)
			dl.mu.Lock()
			dl.busy[host]--
			if dl.busy[host] == 0 {
				delete(dl.busy, host)
			}
			dl.all--
			dl.mu.Unlock()
			dl.poke()
		}()
	}
}

func receiverHost(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	return u.Host
}

// attempt makes one call and records what follows from it.
func (dl *Deliverer) attempt(ctx context.Context, d *Delivery) {
	log := dl.logger.With("jobId", d.JobID, "requestId", d.RequestID)
	d.Attempt++
	// The notifier enforces the attempt's timeout and reports it; this
	// bound only catches a notifier that fails to.
	callCtx, cancel := context.WithTimeout(ctx, dl.policy.Timeout+time.Second)
	result := dl.notifier.Deliver(callCtx, d)
	cancel()
	result.DurationMs = result.Duration.Milliseconds()
	dl.metrics.CountAttempt(result)
	if err := dl.store.RecordAttempt(ctx, d.JobID, result); err != nil {
		log.Error("could not record webhook attempt", "attempt", d.Attempt, "error", err)
	}

	if result.Succeeded() {
		log.Info("webhook delivered", "attempt", d.Attempt, "statusCode", result.StatusCode, "durationMs", result.Duration.Milliseconds())
		dl.finish(ctx, d, true, nil, log)
		return
	}
	log.Warn("webhook attempt failed", "attempt", d.Attempt, "statusCode", result.StatusCode, "error", result.Error, "durationMs", result.Duration.Milliseconds())
	if result.Permanent {
		dl.finish(ctx, d, false, Errorf(CodeDeliveryFailed, "webhook delivery stopped on attempt %d: %s", d.Attempt, result.Error), log)
		return
	}
	if result.StatusCode == http.StatusGone {
		dl.finish(ctx, d, false, Errorf(CodeDeliveryFailed, "webhook receiver answered 410 Gone on attempt %d; delivery stopped", d.Attempt), log)
		return
	}
	if d.Attempt >= dl.policy.MaxAttempts {
		dl.finish(ctx, d, false, Errorf(CodeDeliveryFailed, "webhook delivery failed after %d attempts; last: %s", d.Attempt, describeAttempt(result)), log)
		return
	}

	pause := dl.policy.Backoff(d.Attempt)
	if result.RetryAfter > 0 {
		pause = min(result.RetryAfter, dl.policy.MaxBackoff)
	}
	if err := dl.store.ScheduleDelivery(ctx, d, time.Now().Add(pause)); err != nil {
		log.Error("could not schedule webhook retry", "attempt", d.Attempt, "error", err)
		return
	}
	// Wake up when the retry is due instead of waiting for the next poll;
	// the poll remains for retries scheduled by other processes.
	time.AfterFunc(pause, dl.poke)
	log.Info("webhook retry scheduled", "attempt", d.Attempt, "pauseMs", pause.Milliseconds())
}

func describeAttempt(a Attempt) string {
	if a.Error != "" {
		return a.Error
	}
	return fmt.Sprintf("HTTP %d", a.StatusCode)
}

// finish ends a delivery. A failed one is also published on the poison
// topic, where operators can inspect and replay it.
func (dl *Deliverer) finish(ctx context.Context, d *Delivery, delivered bool, reason *JobError, log *slog.Logger) {
	if err := dl.store.FinishDelivery(ctx, d.JobID, delivered, reason); err != nil && !errors.Is(err, ErrJobNotFound) {
		log.Error("could not record the end of a webhook delivery", "error", err)
	}
	if dl.OnFinished != nil {
		dl.OnFinished(d.JobID)
	}
	if delivered {
		return
	}
	log.Error("webhook delivery failed", "attempts", d.Attempt, "reason", reason.Message)
	payload, err := json.Marshal(d)
	if err != nil {
		log.Error("could not encode failed delivery for the poison topic", "error", err)
		return
	}
	msg := message.NewMessage(d.JobID+"-dead-letter", payload)
	msg.Metadata.Set("reason_poisoned", reason.Message)
	msg.Metadata.Set(MetadataPartitionKey, d.JobID)
	if err := dl.publisher.Publish(TopicPoison, msg); err != nil {
		log.Error("could not publish failed delivery on the poison topic", "error", err)
	}
}

// Redeliver starts a new round of attempts for a job's webhook, on request.
func (dl *Deliverer) Redeliver(ctx context.Context, jobID string) error {
	d, err := dl.store.PendingDelivery(ctx, jobID)
	if err != nil {
		return err
	}
	d.Attempt = 0
	if err := dl.store.ScheduleDelivery(ctx, d, time.Now()); err != nil {
		return err
	}
	dl.poke()
	return nil
}
