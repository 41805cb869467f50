package jobstore

import (
	"context"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/presso-dev/presso/engine"
)

func init() {
	engine.JobStores.Register("memory", func(engine.Deps) (engine.JobStore, error) {
		return NewMemory(), nil
	})
}

// Memory is an in-process job store. Its pending deliveries are lost when
// the process stops, as the in-memory transport's queued jobs are.
type Memory struct {
	mu         sync.Mutex
	jobs       map[string]*memoryJob
	idempotent map[string]*engine.IdempotentAnswer
	// queued indexes the jobs that may still be queued, so that counting
	// them does not walk every retained job.
	queued map[string]struct{}
}

type memoryJob struct {
	record      engine.JobRecord
	delivery    *engine.Delivery
	pending     bool
	leasedUntil time.Time
}

var _ engine.JobStore = (*Memory)(nil)

// NewMemory returns an empty store.
func NewMemory() *Memory {
	return &Memory{jobs: map[string]*memoryJob{}, idempotent: map[string]*engine.IdempotentAnswer{}, queued: map[string]struct{}{}}
}

func (m *Memory) Create(_ context.Context, rec *engine.JobRecord) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	copied := cloneRecord(rec)
	copied.State = engine.StateQueued
	copied.UpdatedAt = copied.CreatedAt
	m.jobs[rec.JobID] = &memoryJob{record: copied}
	m.queued[rec.JobID] = struct{}{}
	return nil
}

func (m *Memory) Get(_ context.Context, jobID string) (*engine.JobRecord, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	job, ok := m.jobs[jobID]
	if !ok {
		return nil, engine.ErrJobNotFound
	}
	copied := cloneRecord(&job.record)
	return &copied, nil
}

// update applies change to a job, or returns ErrJobNotFound for a job the
// store never saw, such as one created by another process before a restart
// of this one. Callers that may meet such jobs ignore that error.
func (m *Memory) update(jobID string, change func(*memoryJob)) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	job, ok := m.jobs[jobID]
	if !ok {
		return engine.ErrJobNotFound
	}
	change(job)
	job.record.UpdatedAt = time.Now().UTC()
	return nil
}

func (m *Memory) SetState(_ context.Context, jobID string, state engine.JobState) error {
	return m.update(jobID, func(job *memoryJob) { job.record.State = state })
}

func (m *Memory) SetResult(_ context.Context, jobID string, result *engine.Result) error {
	return m.update(jobID, func(job *memoryJob) { applyResult(&job.record, result) })
}

func (m *Memory) ScheduleDelivery(_ context.Context, d *engine.Delivery, due time.Time) error {
	return m.update(d.JobID, func(job *memoryJob) {
		job.delivery = cloneDelivery(d)
		job.pending = true
		job.leasedUntil = time.Time{}
		job.record.State = engine.StateNotifying
		dueUTC := due.UTC()
		job.record.NextAttemptAt = &dueUTC
	})
}

func (m *Memory) ClaimDeliveries(_ context.Context, now time.Time, lease time.Duration, limit int) ([]*engine.Delivery, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var claimed []*engine.Delivery
	for _, job := range m.jobs {
		if len(claimed) >= limit {
			break
		}
		if !job.pending || job.record.NextAttemptAt == nil || job.record.NextAttemptAt.After(now) || job.leasedUntil.After(now) {
			continue
		}
		job.leasedUntil = now.Add(lease)
		claimed = append(claimed, cloneDelivery(job.delivery))
	}
	return claimed, nil
}

func (m *Memory) RecordAttempt(_ context.Context, jobID string, a engine.Attempt) error {
	return m.update(jobID, func(job *memoryJob) {
		job.record.Attempts = append(job.record.Attempts, a)
	})
}

func (m *Memory) FinishDelivery(_ context.Context, jobID string, delivered bool, reason *engine.JobError) error {
	return m.update(jobID, func(job *memoryJob) { finishDelivery(&job.record, delivered, reason); job.pending = false })
}

func (m *Memory) PendingDelivery(_ context.Context, jobID string) (*engine.Delivery, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	job, ok := m.jobs[jobID]
	if !ok || job.delivery == nil {
		return nil, engine.ErrJobNotFound
	}
	return cloneDelivery(job.delivery), nil
}

func idempotencySlot(key, idempotencyKey string) string { return key + "\x00" + idempotencyKey }

func (m *Memory) BeginIdempotent(_ context.Context, answer *engine.IdempotentAnswer) (*engine.IdempotentAnswer, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	slot := idempotencySlot(answer.Key, answer.IdempotencyKey)
	if existing, ok := m.idempotent[slot]; ok {
		return cloneAnswer(existing), nil
	}
	copied := cloneAnswer(answer)
	copied.Pending = true
	m.idempotent[slot] = copied
	return nil, nil
}

func (m *Memory) CompleteIdempotent(_ context.Context, answer *engine.IdempotentAnswer) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	copied := cloneAnswer(answer)
	copied.Pending = false
	m.idempotent[idempotencySlot(answer.Key, answer.IdempotencyKey)] = copied
	return nil
}

func (m *Memory) ForgetIdempotent(_ context.Context, key, idempotencyKey string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.idempotent, idempotencySlot(key, idempotencyKey))
	return nil
}

func (m *Memory) DeleteBefore(_ context.Context, t time.Time) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	deleted := 0
	for id, job := range m.jobs {
		if job.record.CreatedAt.Before(t) && !job.pending {
			delete(m.jobs, id)
			deleted++
		}
	}
	for slot, answer := range m.idempotent {
		if answer.CreatedAt.Before(t) {
			delete(m.idempotent, slot)
			deleted++
		}
	}
	return deleted, nil
}

func (m *Memory) Close() error { return nil }

// applyResult records a render's outcome on rec.
func applyResult(rec *engine.JobRecord, result *engine.Result) {
	now := time.Now().UTC()
	rec.RenderStatus = result.Status
	rec.Error = cloneJobError(result.Error)
	rec.DocumentURL = result.DocumentURL
	rec.IsCustomBucket = result.IsCustomBucket
	rec.RenderedAt = &now
	rec.RenderMillis = result.RenderDuration.Milliseconds()
	switch {
	case rec.DeliveredAt != nil:
		// A render repeated after its webhook went out keeps the job delivered.
		rec.State = engine.StateDelivered
	case result.Status != engine.StatusSuccess && rec.Mode != engine.ModeAsync:
		rec.State = engine.StateFailed
	case rec.Mode == engine.ModeAsync:
		rec.State = engine.StateNotifying
	default:
		rec.State = engine.StateStored
	}
}

// finishDelivery records the end of a job's delivery on rec.
func finishDelivery(rec *engine.JobRecord, delivered bool, reason *engine.JobError) {
	rec.NextAttemptAt = nil
	// An error of an earlier delivery round is replaced by the outcome of
	// this one; a render error stays, since the webhook reported it.
	earlierDeliveryError := rec.Error != nil && rec.Error.Code == engine.CodeDeliveryFailed
	if delivered {
		now := time.Now().UTC()
		rec.DeliveredAt = &now
		rec.State = engine.StateDelivered
		if earlierDeliveryError {
			rec.Error = nil
		}
		return
	}
	rec.State = engine.StateFailed
	if rec.Error == nil || earlierDeliveryError {
		rec.Error = cloneJobError(reason)
	}
}

// The clone functions copy what pointers, slices and maps refer to, so that
// no caller shares memory with the store: a record, delivery or answer
// changed by its caller after a call leaves the stored one unchanged.

// cloneRecord copies rec. Attempts is never nil in the copy, so that a job
// without attempts encodes as "attempts": [] as the postgres store's does.
func cloneRecord(rec *engine.JobRecord) engine.JobRecord {
	copied := *rec
	copied.Error = cloneJobError(rec.Error)
	copied.RenderedAt = cloneTime(rec.RenderedAt)
	copied.DeliveredAt = cloneTime(rec.DeliveredAt)
	copied.NextAttemptAt = cloneTime(rec.NextAttemptAt)
	copied.Attempts = append([]engine.Attempt{}, rec.Attempts...)
	return copied
}

func cloneDelivery(d *engine.Delivery) *engine.Delivery {
	copied := *d
	copied.Webhook.Headers = maps.Clone(d.Webhook.Headers)
	copied.Payload.Error = cloneJobError(d.Payload.Error)
	return &copied
}

func cloneAnswer(answer *engine.IdempotentAnswer) *engine.IdempotentAnswer {
	copied := *answer
	copied.Body = slices.Clone(answer.Body)
	return &copied
}

func cloneJobError(e *engine.JobError) *engine.JobError {
	if e == nil {
		return nil
	}
	copied := *e
	return &copied
}

func cloneTime(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	copied := *t
	return &copied
}

func (m *Memory) CountQueued(_ context.Context, key string, since time.Time) (total, forKey int, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for id := range m.queued {
		job := m.jobs[id]
		if job == nil || job.record.State != engine.StateQueued {
			delete(m.queued, id)
			continue
		}
		if job.record.CreatedAt.Before(since) {
			continue
		}
		total++
		if job.record.Key == key {
			forKey++
		}
	}
	return total, forKey, nil
}
