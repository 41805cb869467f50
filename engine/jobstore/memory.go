package jobstore

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/presso-dev/presso/engine"
)

func init() {
	engine.JobStores.Register("memory", func(deps engine.Deps) (engine.JobStore, error) {
		var cfg MemoryConfig
		if deps.Config != nil {
			if err := deps.Config.Unmarshal("jobs.memory", &cfg); err != nil {
				return nil, fmt.Errorf("reading jobs.memory failed: %w", err)
			}
		}
		return NewMemoryWithConfig(cfg)
	})
}

// Defaults of MemoryConfig.
const (
	DefaultMaxJobs         = 100_000
	DefaultMaxIdempotentMB = 256
)

// MemoryConfig bounds a Memory store, the "jobs.memory" section of the
// configuration. A zero field takes its default.
type MemoryConfig struct {
	// MaxJobs is the most jobs kept. Beyond it, the oldest finished jobs
	// are deleted before jobs.retention ends, and GET /v1/jobs/{jobId}
	// responds 404 for them.
	// Jobs that are queued, rendering or have a webhook to send are kept.
	MaxJobs int `koanf:"max_jobs"`
	// MaxIdempotentMB bounds the answers kept for Idempotency-Key repeats,
	// in MiB of their bodies. Beyond it, the oldest are deleted, and a
	// repeat of their request renders again.
	MaxIdempotentMB int `koanf:"max_idempotent_mb"`
}

// Memory is an in-process job store. Its pending deliveries are lost when
// the process stops, as the in-memory transport's queued jobs are. Its
// size is bounded (see MemoryConfig), because a busy service keeps
// millions of jobs over a week of retention.
type Memory struct {
	mu         sync.Mutex
	jobs       map[string]*memoryJob
	idempotent map[string]*engine.IdempotentAnswer
	// queued indexes the jobs that may still be queued, so that counting
	// them does not walk every retained job.
	queued map[string]struct{}
	// pending indexes the jobs with a webhook to send, for the same reason.
	pending map[string]struct{}

	maxJobs        int
	maxAnswerBytes int
	// order lists job ids oldest first, answerOrder the slots of completed
	// idempotent answers oldest first; both may name entries deleted since.
	order       []string
	answerOrder []string
	answerBytes int
}

type memoryJob struct {
	record      engine.JobRecord
	delivery    *engine.Delivery
	pending     bool
	leasedUntil time.Time
}

var _ engine.JobStore = (*Memory)(nil)

// NewMemory returns an empty store with the default bounds.
func NewMemory() *Memory {
	m, _ := NewMemoryWithConfig(MemoryConfig{})
	return m
}

// NewMemoryWithConfig returns an empty store bounded by cfg.
func NewMemoryWithConfig(cfg MemoryConfig) (*Memory, error) {
	if cfg.MaxJobs == 0 {
		cfg.MaxJobs = DefaultMaxJobs
	}
	if cfg.MaxIdempotentMB == 0 {
		cfg.MaxIdempotentMB = DefaultMaxIdempotentMB
	}
	if cfg.MaxJobs < 0 {
		return nil, fmt.Errorf("jobs.memory.max_jobs must be a positive number of jobs, got %d", cfg.MaxJobs)
	}
	if cfg.MaxIdempotentMB < 0 {
		return nil, fmt.Errorf("jobs.memory.max_idempotent_mb must be a positive size in MiB, got %d", cfg.MaxIdempotentMB)
	}
	return &Memory{
		jobs:           map[string]*memoryJob{},
		idempotent:     map[string]*engine.IdempotentAnswer{},
		queued:         map[string]struct{}{},
		pending:        map[string]struct{}{},
		maxJobs:        cfg.MaxJobs,
		maxAnswerBytes: cfg.MaxIdempotentMB << 20,
	}, nil
}

func (m *Memory) Create(_ context.Context, rec *engine.JobRecord) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	copied := cloneRecord(rec)
	copied.State = engine.StateQueued
	copied.UpdatedAt = copied.CreatedAt
	if _, exists := m.jobs[rec.JobID]; !exists {
		m.order = append(m.order, rec.JobID)
	}
	m.jobs[rec.JobID] = &memoryJob{record: copied}
	m.queued[rec.JobID] = struct{}{}
	m.evictJobs()
	return nil
}

// evictJobs deletes the oldest finished jobs while the store holds more
// than maxJobs. Each job is looked at once at most, so that a store full of
// unfinished jobs does not spin. Called with mu held.
func (m *Memory) evictJobs() {
	for n := len(m.order); n > 0 && len(m.jobs) > m.maxJobs; n-- {
		id := m.order[0]
		m.order = m.order[1:]
		job, ok := m.jobs[id]
		if !ok {
			continue
		}
		if !finished(job) {
			m.order = append(m.order, id)
			continue
		}
		m.forget(id)
	}
}

// finished reports whether nothing will change job any more, unless a
// caller asks for its webhook again.
func finished(job *memoryJob) bool {
	if job.pending {
		return false
	}
	switch job.record.State {
	case engine.StateStored, engine.StateDelivered, engine.StateFailed:
		return true
	}
	return false
}

// forget deletes the job id and its index entries. Called with mu held.
func (m *Memory) forget(id string) {
	delete(m.jobs, id)
	delete(m.queued, id)
	delete(m.pending, id)
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
		m.pending[d.JobID] = struct{}{}
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
	for id := range m.pending {
		if len(claimed) >= limit {
			break
		}
		job := m.jobs[id]
		if job == nil || !job.pending {
			delete(m.pending, id)
			continue
		}
		if job.record.NextAttemptAt == nil || job.record.NextAttemptAt.After(now) || job.leasedUntil.After(now) {
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
	return m.update(jobID, func(job *memoryJob) {
		finishDelivery(&job.record, delivered, reason)
		job.pending = false
		delete(m.pending, jobID)
	})
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
	slot := idempotencySlot(answer.Key, answer.IdempotencyKey)
	m.deleteAnswer(slot)
	m.idempotent[slot] = copied
	m.answerOrder = append(m.answerOrder, slot)
	m.answerBytes += len(copied.Body)
	// The oldest answers go first; the one just stored stays even when it
	// alone is over the bound.
	for len(m.answerOrder) > 1 && m.answerBytes > m.maxAnswerBytes {
		oldest := m.answerOrder[0]
		m.answerOrder = m.answerOrder[1:]
		if existing, ok := m.idempotent[oldest]; ok && !existing.Pending {
			m.answerBytes -= len(existing.Body)
			delete(m.idempotent, oldest)
		}
	}
	return nil
}

// deleteAnswer deletes the answer of slot and takes its body out of the
// count. Its entry in answerOrder is skipped when reached. Called with mu
// held.
func (m *Memory) deleteAnswer(slot string) {
	if existing, ok := m.idempotent[slot]; ok {
		if !existing.Pending {
			m.answerBytes -= len(existing.Body)
		}
		delete(m.idempotent, slot)
	}
}

func (m *Memory) ForgetIdempotent(_ context.Context, key, idempotencyKey string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.deleteAnswer(idempotencySlot(key, idempotencyKey))
	return nil
}

func (m *Memory) DeleteBefore(_ context.Context, t time.Time) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	deleted := 0
	for id, job := range m.jobs {
		if job.record.CreatedAt.Before(t) && !job.pending {
			m.forget(id)
			deleted++
		}
	}
	for slot, answer := range m.idempotent {
		if answer.CreatedAt.Before(t) {
			m.deleteAnswer(slot)
			deleted++
		}
	}
	// Drop the ids of deleted entries from the orders, which would
	// otherwise grow by one per job for as long as the process runs.
	m.order = slices.DeleteFunc(m.order, func(id string) bool { return m.jobs[id] == nil })
	m.answerOrder = slices.DeleteFunc(m.answerOrder, func(slot string) bool { return m.idempotent[slot] == nil })
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
