package jobstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/presso-dev/presso/engine"
)

// beginIdempotentTries bounds BeginIdempotent's loop. A try fails only when
// the slot was taken by another request and then freed between the INSERT
// and the SELECT.
const beginIdempotentTries = 3

// BeginIdempotent inserts a pending answer unless the slot is taken, then
// reads the answer that holds it. The two statements run separately: under
// READ COMMITTED, the SELECT gets a new snapshot and so sees an answer that
// a concurrent request committed while the INSERT waited for it.
func (p *Postgres) BeginIdempotent(ctx context.Context, answer *engine.IdempotentAnswer) (*engine.IdempotentAnswer, error) {
	for range beginIdempotentTries {
		tag, err := p.pool.Exec(ctx, p.sql(`
			INSERT INTO {idempotency} (key, idempotency_key, fingerprint, status, content_type, body, created_at, pending)
			VALUES ($1, $2, $3, $4, $5, $6, $7, true)
			ON CONFLICT (key, idempotency_key) DO NOTHING`),
			answer.Key, answer.IdempotencyKey, answer.Fingerprint, answer.Status, answer.ContentType, answer.Body, answer.CreatedAt)
		if err != nil {
			return nil, fmt.Errorf("reserve idempotency slot of key %s: %w", answer.Key, err)
		}
		if tag.RowsAffected() == 1 {
			return nil, nil
		}

		existing := &engine.IdempotentAnswer{Key: answer.Key, IdempotencyKey: answer.IdempotencyKey}
		err = p.pool.QueryRow(ctx, p.sql(`
			SELECT fingerprint, status, content_type, body, created_at, pending
			FROM {idempotency} WHERE key = $1 AND idempotency_key = $2`),
			answer.Key, answer.IdempotencyKey).Scan(
			&existing.Fingerprint, &existing.Status, &existing.ContentType, &existing.Body, &existing.CreatedAt, &existing.Pending)
		if errors.Is(err, pgx.ErrNoRows) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read idempotency slot of key %s: %w", answer.Key, err)
		}
		existing.CreatedAt = existing.CreatedAt.UTC()
		return existing, nil
	}
	return nil, fmt.Errorf("reserve idempotency slot of key %s: the slot was taken and freed by other requests %d times in a row", answer.Key, beginIdempotentTries)
}

// CompleteIdempotent stores answer as complete. Like the memory store, it
// writes the slot whether or not it is still held.
func (p *Postgres) CompleteIdempotent(ctx context.Context, answer *engine.IdempotentAnswer) error {
	_, err := p.pool.Exec(ctx, p.sql(`
		INSERT INTO {idempotency} (key, idempotency_key, fingerprint, status, content_type, body, created_at, pending)
		VALUES ($1, $2, $3, $4, $5, $6, $7, false)
		ON CONFLICT (key, idempotency_key) DO UPDATE SET
			fingerprint = EXCLUDED.fingerprint, status = EXCLUDED.status,
			content_type = EXCLUDED.content_type, body = EXCLUDED.body,
			created_at = EXCLUDED.created_at, pending = false`),
		answer.Key, answer.IdempotencyKey, answer.Fingerprint, answer.Status, answer.ContentType, answer.Body, answer.CreatedAt)
	if err != nil {
		return fmt.Errorf("store idempotent answer of key %s: %w", answer.Key, err)
	}
	return nil
}

func (p *Postgres) ForgetIdempotent(ctx context.Context, key, idempotencyKey string) error {
	_, err := p.pool.Exec(ctx, p.sql(`DELETE FROM {idempotency} WHERE key = $1 AND idempotency_key = $2`), key, idempotencyKey)
	if err != nil {
		return fmt.Errorf("free idempotency slot of key %s: %w", key, err)
	}
	return nil
}
