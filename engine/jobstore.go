package engine

import (
	"context"
	"errors"
	"time"
)

// JobState is where a job stands, as GET /v1/jobs/{jobId} reports it.
type JobState string

const (
	StateQueued    JobState = "queued"
	StateRendering JobState = "rendering"
	StateStored    JobState = "stored"
	StateNotifying JobState = "notifying"
	StateDelivered JobState = "delivered"
	StateFailed    JobState = "failed"
)

// JobRecord is the state and history of one job. It never contains the
// request body, webhook headers or secrets: only what a caller may read back.
type JobRecord struct {
	JobID          string       `json:"jobId" doc:"The job id." example:"5d2b8f1e-7c0a-4f3e-9a41-0c6f7d2e8b90"`
	RequestID      string       `json:"requestId" doc:"The request id." example:"doppioreq_0b9cd1de-38a9-4f9a-9f4a-2a1c1f0e5b7d"`
	Key            string       `json:"-"`
	Mode           Mode         `json:"mode" enum:"direct,sync,async" doc:"How the caller receives the document." example:"async"`
	Kind           Kind         `json:"kind" enum:"pdf,screenshot" doc:"The kind of document." example:"pdf"`
	State          JobState     `json:"state" enum:"queued,rendering,stored,notifying,delivered,failed" doc:"Where the job stands. failed means the render failed, or the webhook could not be delivered." example:"delivered"`
	RenderStatus   RenderStatus `json:"renderStatus,omitempty" enum:"SUCCESS,ERROR" doc:"Outcome of the render, once known." example:"SUCCESS"`
	Error          *JobError    `json:"error,omitempty" doc:"Why the render or the delivery failed."`
	DocumentURL    string       `json:"documentUrl,omitempty" doc:"Where the document can be downloaded." example:"http://127.0.0.1:8080/v1/documents/doppioreq_0b9cd1de-38a9-4f9a-9f4a-2a1c1f0e5b7d-1764877200000.pdf?expires=1764963600&signature=3f0c…"`
	IsCustomBucket bool         `json:"isCustomBucket" doc:"True when the document went to the caller's own bucket." example:"false"`
	CreatedAt      time.Time    `json:"createdAt" doc:"When the job was accepted." example:"2026-12-04T10:15:30Z"`
	UpdatedAt      time.Time    `json:"updatedAt" doc:"When the job last changed." example:"2026-12-04T10:15:30Z"`
	RenderedAt     *time.Time   `json:"renderedAt,omitempty" doc:"When the render ended." example:"2026-12-04T10:15:30Z"`
	RenderMillis   int64        `json:"renderDurationMs" doc:"Time spent rendering, in milliseconds." example:"45"`
	DeliveredAt    *time.Time   `json:"deliveredAt,omitempty" doc:"When the webhook was accepted by its receiver." example:"2026-12-04T10:15:30Z"`
	NextAttemptAt  *time.Time   `json:"nextAttemptAt,omitempty" doc:"When the next webhook attempt is due, while one is pending." example:"2026-12-04T10:15:30Z"`
	Attempts       []Attempt    `json:"attempts" doc:"Every webhook attempt, oldest first."`
}

// ErrJobNotFound is returned for an unknown job id.
var ErrJobNotFound = errors.New("job not found")

// JobStore keeps job state and history, and the queue of pending webhook
// deliveries. Every method must be safe for concurrent use; implementations
// shared by several processes (PostgreSQL) must make ClaimDeliveries hand
// each due delivery to one caller only.
type JobStore interface {
	// Create records a newly accepted job in state queued.
	Create(ctx context.Context, rec *JobRecord) error
	// Get returns the job, or ErrJobNotFound.
	Get(ctx context.Context, jobID string) (*JobRecord, error)
	// SetState moves the job to state.
	SetState(ctx context.Context, jobID string, state JobState) error
	// SetResult records the render's outcome. The state becomes stored or
	// failed for direct and sync jobs, and notifying for async jobs, whose
	// webhook reports errors too. A job whose webhook was already delivered
	// stays delivered, so a repeated render message does not reopen it.
	SetResult(ctx context.Context, jobID string, result *Result) error

	// ScheduleDelivery stores d as due at the given time, replacing any
	// pending delivery of the same job. It is what makes a retry survive a
	// restart when the store is durable.
	ScheduleDelivery(ctx context.Context, d *Delivery, due time.Time) error
	// ClaimDeliveries returns up to limit deliveries due at now and hides
	// them from other callers until lease has passed, so that a worker that
	// dies mid-attempt leaves its deliveries to others.
	ClaimDeliveries(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*Delivery, error)
	// RecordAttempt appends an attempt to the job's history.
	RecordAttempt(ctx context.Context, jobID string, a Attempt) error
	// FinishDelivery ends the job's pending delivery: delivered, or failed
	// with the reason.
	FinishDelivery(ctx context.Context, jobID string, delivered bool, reason *JobError) error
	// PendingDelivery returns the job's stored delivery, pending or ended,
	// for a redelivery on request; ErrJobNotFound if it never had one.
	PendingDelivery(ctx context.Context, jobID string) (*Delivery, error)

	// BeginIdempotent reserves the answer slot of a request carrying an
	// Idempotency-Key. It returns nil when the slot was free and is now
	// held (Pending), or the answer already stored under the same key name
	// and idempotency key, pending or complete, without changing it.
	BeginIdempotent(ctx context.Context, answer *IdempotentAnswer) (existing *IdempotentAnswer, err error)
	// CompleteIdempotent stores the final answer in a slot held by BeginIdempotent.
	CompleteIdempotent(ctx context.Context, answer *IdempotentAnswer) error
	// ForgetIdempotent frees a slot whose request failed, so that a retry
	// with the same key runs again.
	ForgetIdempotent(ctx context.Context, key, idempotencyKey string) error

	// CountQueued returns how many jobs created after since are still
	// queued, in all and for the named key. Jobs queued longer are left
	// out, so that a job lost by a crashed process does not hold a slot.
	CountQueued(ctx context.Context, key string, since time.Time) (total, forKey int, err error)

	// DeleteBefore removes jobs and idempotent answers created before t.
	DeleteBefore(ctx context.Context, t time.Time) (int, error)
	Close() error
}

// IdempotentAnswer is the stored answer of a request that carried an
// Idempotency-Key header.
type IdempotentAnswer struct {
	Key            string `json:"key"`
	IdempotencyKey string `json:"idempotencyKey"`
	// Fingerprint is a hash of the route and the request body.
	Fingerprint string    `json:"fingerprint"`
	Status      int       `json:"status"`
	ContentType string    `json:"contentType"`
	Body        []byte    `json:"body"`
	CreatedAt   time.Time `json:"createdAt"`
	// Pending is true while the first request is still running.
	Pending bool `json:"pending"`
}

// JobStores is the registry of job store implementations ("memory", "postgres").
var JobStores = NewRegistry[JobStore]("job store")
