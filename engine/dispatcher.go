package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
)

// Dispatcher is the API side of the pipeline: it publishes jobs and hands
// the results of direct and sync jobs to the requests waiting for them.
type Dispatcher struct {
	publisher message.Publisher
	logger    *slog.Logger

	mu      sync.Mutex
	waiters map[string]chan *Result
	closing atomic.Bool
}

// NewDispatcher returns a dispatcher that publishes with publisher. Its
// HandleResult must be subscribed to TopicResults before jobs are submitted.
func NewDispatcher(publisher message.Publisher, logger *slog.Logger) *Dispatcher {
	return &Dispatcher{publisher: publisher, logger: logger, waiters: map[string]chan *Result{}}
}

// Submit publishes an async job. It returns once the transport has the message.
func (d *Dispatcher) Submit(ctx context.Context, job *Job) error {
	if d.closing.Load() {
		return ErrShuttingDown
	}
	return d.publish(ctx, job)
}

// Do publishes a direct or sync job and waits for its result until ctx ends.
func (d *Dispatcher) Do(ctx context.Context, job *Job) (*Result, error) {
	if d.closing.Load() {
		return nil, ErrShuttingDown
	}
	// Register before publishing, because an in-process worker may publish
	// the result before Publish returns.
	ch := make(chan *Result, 1)
	d.mu.Lock()
	d.waiters[job.ID] = ch
	d.mu.Unlock()
	defer func() {
		d.mu.Lock()
		delete(d.waiters, job.ID)
		d.mu.Unlock()
	}()

	if err := d.publish(ctx, job); err != nil {
		return nil, err
	}
	select {
	case result := <-ch:
		return result, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (d *Dispatcher) publish(ctx context.Context, job *Job) error {
	payload, err := json.Marshal(job)
	if err != nil {
		return fmt.Errorf("encode job %s: %w", job.ID, err)
	}
	msg := message.NewMessage(job.ID, payload)
	msg.SetContext(ctx)
	middleware.SetCorrelationID(job.ID, msg)
	msg.Metadata.Set(MetadataPartitionKey, job.ID)
	topic := TopicRender
	if job.Mode != ModeAsync {
		topic = TopicRenderInteractive
	}
	if err := d.publisher.Publish(topic, msg); err != nil {
		return fmt.Errorf("publish job %s on %s: %w", job.ID, topic, err)
	}
	d.logger.Info("job accepted", "jobId", job.ID, "requestId", job.RequestID, "httpRequestId", job.HTTPRequestID,
		"mode", job.Mode, "kind", job.Kind, "key", job.Key)
	return nil
}

// HandleResult is the handler of TopicResults. A result of a job that no
// request of this process waits for belongs to another API process, or to a
// caller that gave up.
func (d *Dispatcher) HandleResult(msg *message.Message) error {
	var result Result
	if err := json.Unmarshal(msg.Payload, &result); err != nil {
		d.logger.Error("dropping undecodable result message", "messageId", msg.UUID, "error", err)
		return nil
	}
	d.mu.Lock()
	ch, ok := d.waiters[result.JobID]
	d.mu.Unlock()
	if ok {
		select {
		case ch <- &result:
		default:
		}
	}
	return nil
}

// Close makes further Submit and Do calls fail with ErrShuttingDown.
func (d *Dispatcher) Close() {
	d.closing.Store(true)
}

// MetadataPartitionKey is the message metadata that transports with
// partitions use as the partition key.
const MetadataPartitionKey = "partition_key"
