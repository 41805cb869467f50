package jobstore

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/presso-dev/presso/engine"
)

// pgUniqueViolation is PostgreSQL's SQLSTATE for a duplicate key.
const pgUniqueViolation = "23505"

// currentTime returns the time the store writes into updated_at,
// rendered_at and delivered_at. PostgreSQL keeps microseconds, so the time
// is truncated here rather than rounded by the server.
func currentTime() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// Create records rec in state queued. Unlike the memory store, which
// replaces a job with the same id, it fails when the id is taken.
func (p *Postgres) Create(ctx context.Context, rec *engine.JobRecord) error {
	attempts := rec.Attempts
	if attempts == nil {
		attempts = []engine.Attempt{}
	}
	attemptsJSON, err := marshalJSONB(attempts)
	if err != nil {
		return fmt.Errorf("encode attempts of job %s: %w", rec.JobID, err)
	}
	errorJSON, err := nullableJSONB(rec.Error)
	if err != nil {
		return fmt.Errorf("encode error of job %s: %w", rec.JobID, err)
	}
	_, err = p.pool.Exec(ctx, p.sql(`
		INSERT INTO {jobs} (job_id, request_id, key, mode, kind, state, render_status, error,
			document_url, is_custom_bucket, created_at, updated_at, rendered_at, render_ms,
			delivered_at, next_attempt_at, attempts)
		VALUES (@job_id, @request_id, @key, @mode, @kind, @state, @render_status, @error::jsonb,
			@document_url, @is_custom_bucket, @created_at, @created_at, @rendered_at, @render_ms,
			@delivered_at, @next_attempt_at, @attempts::jsonb)`),
		pgx.NamedArgs{
			"job_id":           rec.JobID,
			"request_id":       rec.RequestID,
			"key":              rec.Key,
			"mode":             string(rec.Mode),
			"kind":             string(rec.Kind),
			"state":            string(engine.StateQueued),
			"render_status":    string(rec.RenderStatus),
			"error":            errorJSON,
			"document_url":     rec.DocumentURL,
			"is_custom_bucket": rec.IsCustomBucket,
			"created_at":       rec.CreatedAt,
			"rendered_at":      rec.RenderedAt,
			"render_ms":        rec.RenderMillis,
			"delivered_at":     rec.DeliveredAt,
			"next_attempt_at":  rec.NextAttemptAt,
			"attempts":         attemptsJSON,
		})
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == pgUniqueViolation {
		return fmt.Errorf("create job %s: a job with this id already exists", rec.JobID)
	}
	if err != nil {
		return fmt.Errorf("create job %s: %w", rec.JobID, err)
	}
	return nil
}

func (p *Postgres) Get(ctx context.Context, jobID string) (*engine.JobRecord, error) {
	var (
		rec                             engine.JobRecord
		mode, kind, state, renderStatus string
		errorJSON, attemptsJSON         []byte
	)
	err := p.pool.QueryRow(ctx, p.sql(`
		SELECT job_id, request_id, key, mode, kind, state, render_status, error, document_url,
			is_custom_bucket, created_at, updated_at, rendered_at, render_ms, delivered_at,
			next_attempt_at, attempts
		FROM {jobs} WHERE job_id = $1`), jobID).Scan(
		&rec.JobID, &rec.RequestID, &rec.Key, &mode, &kind, &state, &renderStatus, &errorJSON, &rec.DocumentURL,
		&rec.IsCustomBucket, &rec.CreatedAt, &rec.UpdatedAt, &rec.RenderedAt, &rec.RenderMillis, &rec.DeliveredAt,
		&rec.NextAttemptAt, &attemptsJSON)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, engine.ErrJobNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("get job %s: %w", jobID, err)
	}

	rec.Mode = engine.Mode(mode)
	rec.Kind = engine.Kind(kind)
	rec.State = engine.JobState(state)
	rec.RenderStatus = engine.RenderStatus(renderStatus)
	if errorJSON != nil {
		if err := json.Unmarshal(errorJSON, &rec.Error); err != nil {
			return nil, fmt.Errorf("decode error of job %s: %w", jobID, err)
		}
	}
	if err := json.Unmarshal(attemptsJSON, &rec.Attempts); err != nil {
		return nil, fmt.Errorf("decode attempts of job %s: %w", jobID, err)
	}
	if rec.Attempts == nil {
		rec.Attempts = []engine.Attempt{}
	}
	rec.CreatedAt = rec.CreatedAt.UTC()
	rec.UpdatedAt = rec.UpdatedAt.UTC()
	for _, t := range []*time.Time{rec.RenderedAt, rec.DeliveredAt, rec.NextAttemptAt} {
		if t != nil {
			*t = t.UTC()
		}
	}
	return &rec, nil
}

// updateJob runs query, an UPDATE of the job whose id is the named argument
// job_id, and returns ErrJobNotFound when no row matched. operation names
// the change in errors.
func (p *Postgres) updateJob(ctx context.Context, operation, jobID, query string, args pgx.NamedArgs) error {
	args["job_id"] = jobID
	tag, err := p.pool.Exec(ctx, p.sql(query), args)
	if err != nil {
		return fmt.Errorf("%s of job %s: %w", operation, jobID, err)
	}
	if tag.RowsAffected() == 0 {
		return engine.ErrJobNotFound
	}
	return nil
}

func (p *Postgres) SetState(ctx context.Context, jobID string, state engine.JobState) error {
	return p.updateJob(ctx, "set state", jobID,
		`UPDATE {jobs} SET state = @state, updated_at = @now WHERE job_id = @job_id`,
		pgx.NamedArgs{"state": string(state), "now": currentTime()})
}

// SetResult applies the same transitions as the memory store: an async job
// goes to notifying whatever the outcome, because its webhook reports
// errors too, and any other job to stored or failed.
func (p *Postgres) SetResult(ctx context.Context, jobID string, result *engine.Result) error {
	errorJSON, err := nullableJSONB(result.Error)
	if err != nil {
		return fmt.Errorf("encode render error of job %s: %w", jobID, err)
	}
	return p.updateJob(ctx, "set result", jobID, `
		UPDATE {jobs} SET
			render_status = @status, error = @error::jsonb, document_url = @document_url,
			is_custom_bucket = @is_custom_bucket, rendered_at = @now, render_ms = @render_ms,
			updated_at = @now,
			state = CASE
				WHEN delivered_at IS NOT NULL THEN @delivered
				WHEN mode = @async THEN @notifying
				WHEN @status = @success THEN @stored
				ELSE @failed
			END
		WHERE job_id = @job_id`,
		pgx.NamedArgs{
			"status":           string(result.Status),
			"error":            errorJSON,
			"document_url":     result.DocumentURL,
			"is_custom_bucket": result.IsCustomBucket,
			"render_ms":        result.RenderDuration.Milliseconds(),
			"now":              currentTime(),
			"async":            string(engine.ModeAsync),
			"success":          string(engine.StatusSuccess),
			"notifying":        string(engine.StateNotifying),
			"delivered":        string(engine.StateDelivered),
			"stored":           string(engine.StateStored),
			"failed":           string(engine.StateFailed),
		})
}

// ScheduleDelivery stores d, makes it due at due and releases any lease on
// it, so that a retry scheduled by the worker that holds the lease is
// claimable as soon as it is due.
func (p *Postgres) ScheduleDelivery(ctx context.Context, d *engine.Delivery, due time.Time) error {
	delivery, err := marshalJSONB(d)
	if err != nil {
		return fmt.Errorf("encode delivery of job %s: %w", d.JobID, err)
	}
	return p.updateJob(ctx, "schedule delivery", d.JobID, `
		UPDATE {jobs} SET
			delivery = @delivery::jsonb, pending = true, leased_until = NULL,
			next_attempt_at = @due, state = @notifying, updated_at = @now
		WHERE job_id = @job_id`,
		pgx.NamedArgs{
			"delivery":  delivery,
			"due":       due,
			"notifying": string(engine.StateNotifying),
			"now":       currentTime(),
		})
}

// ClaimDeliveries leases up to limit due deliveries until now+lease. The
// inner SELECT locks the rows it picks and skips rows that another claimer
// has locked. A row leased by a claimer that committed in the meantime is
// rechecked against the WHERE clause when it is locked, and excluded.
//
// NOTE: leases are compared with the callers' clocks, so processes whose
// clocks differ by more than a lease can claim the same delivery.
func (p *Postgres) ClaimDeliveries(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*engine.Delivery, error) {
	if limit <= 0 {
		return nil, nil
	}
	rows, err := p.pool.Query(ctx, p.sql(`
		WITH due AS MATERIALIZED (
			SELECT job_id FROM {jobs}
			WHERE pending AND next_attempt_at <= @now
				AND (leased_until IS NULL OR leased_until <= @now)
			ORDER BY next_attempt_at
			LIMIT @limit
			FOR UPDATE SKIP LOCKED
		)
		UPDATE {jobs} AS j SET leased_until = @leased_until
		FROM due WHERE j.job_id = due.job_id
		RETURNING j.delivery`),
		pgx.NamedArgs{"now": now, "leased_until": now.Add(lease), "limit": limit})
	if err != nil {
		return nil, fmt.Errorf("claim due deliveries: %w", err)
	}
	raw, err := pgx.CollectRows(rows, pgx.RowTo[[]byte])
	if err != nil {
		return nil, fmt.Errorf("claim due deliveries: %w", err)
	}
	claimed := make([]*engine.Delivery, 0, len(raw))
	for _, data := range raw {
		var d engine.Delivery
		if err := json.Unmarshal(data, &d); err != nil {
			return nil, fmt.Errorf("decode a claimed delivery: %w", err)
		}
		claimed = append(claimed, &d)
	}
	return claimed, nil
}

// RecordAttempt appends a to the attempts array in one statement, so that
// concurrent appends never overwrite each other.
func (p *Postgres) RecordAttempt(ctx context.Context, jobID string, a engine.Attempt) error {
	attempt, err := marshalJSONB([]engine.Attempt{a})
	if err != nil {
		return fmt.Errorf("encode attempt of job %s: %w", jobID, err)
	}
	return p.updateJob(ctx, "record attempt", jobID,
		`UPDATE {jobs} SET attempts = attempts || @attempt::jsonb, updated_at = @now WHERE job_id = @job_id`,
		pgx.NamedArgs{"attempt": attempt, "now": currentTime()})
}

// FinishDelivery ends the pending delivery. A failed delivery keeps an
// earlier error, such as the render error that the webhook reported, and
// takes reason only when the job has none.
func (p *Postgres) FinishDelivery(ctx context.Context, jobID string, delivered bool, reason *engine.JobError) error {
	reasonJSON, err := nullableJSONB(reason)
	if err != nil {
		return fmt.Errorf("encode delivery error of job %s: %w", jobID, err)
	}
	return p.updateJob(ctx, "finish delivery", jobID, `
		UPDATE {jobs} SET
			pending = false, leased_until = NULL, next_attempt_at = NULL, updated_at = @now,
			state = CASE WHEN @delivered::boolean THEN @delivered_state ELSE @failed_state END,
			delivered_at = CASE WHEN @delivered::boolean THEN @now ELSE delivered_at END,
			error = CASE
				WHEN @delivered::boolean AND error->>'code' = @delivery_failed THEN NULL
				WHEN @delivered::boolean THEN error
				WHEN error IS NULL OR error->>'code' = @delivery_failed THEN @reason::jsonb
				ELSE error
			END
		WHERE job_id = @job_id`,
		pgx.NamedArgs{
			"delivered":       delivered,
			"delivered_state": string(engine.StateDelivered),
			"failed_state":    string(engine.StateFailed),
			"delivery_failed": engine.CodeDeliveryFailed,
			"reason":          reasonJSON,
			"now":             currentTime(),
		})
}

func (p *Postgres) PendingDelivery(ctx context.Context, jobID string) (*engine.Delivery, error) {
	var data []byte
	err := p.pool.QueryRow(ctx, p.sql(`SELECT delivery FROM {jobs} WHERE job_id = $1`), jobID).Scan(&data)
	if errors.Is(err, pgx.ErrNoRows) || (err == nil && data == nil) {
		return nil, engine.ErrJobNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("get delivery of job %s: %w", jobID, err)
	}
	var d engine.Delivery
	if err := json.Unmarshal(data, &d); err != nil {
		return nil, fmt.Errorf("decode delivery of job %s: %w", jobID, err)
	}
	return &d, nil
}

// DeleteBefore deletes, in one statement, the jobs created before t that
// have no pending delivery and the idempotent answers created before t.
func (p *Postgres) DeleteBefore(ctx context.Context, t time.Time) (int, error) {
	var deleted int
	err := p.pool.QueryRow(ctx, p.sql(`
		WITH deleted_jobs AS (
			DELETE FROM {jobs} WHERE created_at < $1 AND NOT pending RETURNING 1
		), deleted_answers AS (
			DELETE FROM {idempotency} WHERE created_at < $1 RETURNING 1
		)
		SELECT (SELECT count(*) FROM deleted_jobs) + (SELECT count(*) FROM deleted_answers)`), t).Scan(&deleted)
	if err != nil {
		return 0, fmt.Errorf("delete jobs and idempotent answers created before %s: %w", t.Format(time.RFC3339), err)
	}
	return deleted, nil
}

// nullableJSONB encodes e for a jsonb column, or returns nil, which pgx
// sends as SQL NULL, when e is nil.
func nullableJSONB(e *engine.JobError) (any, error) {
	if e == nil {
		return nil, nil
	}
	return marshalJSONB(e)
}

// marshalJSONB encodes v as JSON that PostgreSQL's jsonb type accepts.
// jsonb rejects the escape \u0000, which encoding/json writes for a NUL
// character in a string, so each one becomes \ufffd, the Unicode
// replacement character.
func marshalJSONB(v any) ([]byte, error) {
	data, err := json.Marshal(v)
	if err != nil || !bytes.Contains(data, []byte(`\u0000`)) {
		return data, err
	}
	out := make([]byte, 0, len(data))
	for i := 0; i < len(data); i++ {
		if data[i] != '\\' || i+1 == len(data) {
			out = append(out, data[i])
			continue
		}
		// Copy each escape whole, so that an escaped backslash followed by
		// the text u0000 is not taken for a NUL.
		if data[i+1] == 'u' && i+6 <= len(data) && string(data[i+2:i+6]) == "0000" {
			out = append(out, `\ufffd`...)
			i += 5
			continue
		}
		out = append(out, data[i], data[i+1])
		i++
	}
	return out, nil
}

func (p *Postgres) CountQueued(ctx context.Context, key string, since time.Time) (total, forKey int, err error) {
	err = p.pool.QueryRow(ctx, p.sql(`
		SELECT count(*), count(*) FILTER (WHERE key = $1)
		FROM {jobs} WHERE state = 'queued' AND created_at > $2`), key, since).Scan(&total, &forKey)
	if err != nil {
		return 0, 0, fmt.Errorf("count queued jobs: %w", err)
	}
	return total, forKey, nil
}
