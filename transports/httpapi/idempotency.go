package httpapi

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"time"

	"github.com/presso-dev/presso/engine"
)

// IdempotencyWindow is how long the response of a request with an
// Idempotency-Key is returned to repeats of that request.
const IdempotencyWindow = 24 * time.Hour

// maxReplayBytes bounds the direct documents kept for replay. A larger
// document is not kept, so a repeat of its request renders again.
const maxReplayBytes = 10 << 20

// idempotency is the response slot of one request with an Idempotency-Key.
type idempotency struct {
	server      *Server
	key         string
	header      string
	fingerprint string
}

// beginIdempotent reserves the slot of a request. It returns a stored response
// to replay, or a problem when the key is reused for another request or the
// first request is still running. With no header it returns nil, nil, nil.
func (s *Server) beginIdempotent(ctx context.Context, route string, in *renderInput) (*idempotency, *engine.IdempotentAnswer, error) {
	if in.IdempotencyKey == "" {
		return nil, nil, nil
	}
	canonical, err := json.Marshal(in.Body)
	if err != nil {
		return nil, nil, err
	}
	sum := sha256.Sum256(append([]byte(route+"\n"), canonical...))
	slot := &idempotency{server: s, key: keyName(ctx), header: in.IdempotencyKey, fingerprint: hex.EncodeToString(sum[:])}
	store := s.opts.Engine.Jobs()

	for range 2 {
		existing, err := store.BeginIdempotent(ctx, &engine.IdempotentAnswer{
			Key: slot.key, IdempotencyKey: slot.header, Fingerprint: slot.fingerprint, CreatedAt: time.Now().UTC(),
		})
		if err != nil {
			s.opts.Logger.Error("idempotency store failed", "httpRequestId", requestID(ctx), "error", err)
			return nil, nil, problemf(http.StatusServiceUnavailable, "the job store is unavailable: retry the request").withRetryAfter(5)
		}
		switch {
		case existing == nil:
			return slot, nil, nil
		case time.Since(existing.CreatedAt) > IdempotencyWindow:
			// An answer older than the window no longer binds the key.
			if err := store.ForgetIdempotent(ctx, slot.key, slot.header); err != nil {
				return nil, nil, err
			}
			continue
		case existing.Fingerprint != slot.fingerprint:
			return nil, nil, problemf(http.StatusConflict, "Idempotency-Key %q was already used with a different request in the last 24 hours: use a new key for a new request", slot.header)
		case existing.Pending:
			return nil, nil, problemf(http.StatusConflict, "a request with Idempotency-Key %q is still running: retry after it finishes", slot.header).withRetryAfter(1)
		default:
			return nil, existing, nil
		}
	}
	return nil, nil, problemf(http.StatusConflict, "Idempotency-Key %q is being reused concurrently: retry the request", slot.header).withRetryAfter(1)
}

// complete stores the answer for later repeats.
func (i *idempotency) complete(ctx context.Context, status int, contentType string, body []byte) {
	if i == nil {
		return
	}
	store := i.server.opts.Engine.Jobs()
	if len(body) > maxReplayBytes {
		i.abandon(ctx)
		return
	}
	err := store.CompleteIdempotent(ctx, &engine.IdempotentAnswer{
		Key: i.key, IdempotencyKey: i.header, Fingerprint: i.fingerprint,
		Status: status, ContentType: contentType, Body: body, CreatedAt: time.Now().UTC(),
	})
	if err != nil {
		i.server.opts.Logger.Error("could not store an idempotent answer", "httpRequestId", requestID(ctx), "error", err)
	}
}

// abandon frees the slot of a request that failed, so that a retry runs.
func (i *idempotency) abandon(ctx context.Context) {
	if i == nil {
		return
	}
	if err := i.server.opts.Engine.Jobs().ForgetIdempotent(context.WithoutCancel(ctx), i.key, i.header); err != nil {
		i.server.opts.Logger.Error("could not free an idempotency slot", "httpRequestId", requestID(ctx), "error", err)
	}
}
