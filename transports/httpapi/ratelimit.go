package httpapi

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"golang.org/x/time/rate"
)

// RateLimit bounds the render requests of each API key with a token bucket.
type RateLimit struct {
	// PerSecond is the sustained rate of one key, in requests per second.
	// 0 means no limit.
	PerSecond float64 `koanf:"rate_per_key"`
	// Burst is how many requests a key may send at once above the rate.
	// Default: the rate rounded up, at least 1.
	Burst int `koanf:"burst_per_key"`
}

// keyLimiter holds one token bucket per API key.
type keyLimiter struct {
	limit RateLimit
	mu    sync.Mutex
	keys  map[string]*rate.Limiter
}

func newKeyLimiter(limit RateLimit) *keyLimiter {
	if limit.PerSecond <= 0 {
		return nil
	}
	if limit.Burst <= 0 {
		limit.Burst = max(1, int(math.Ceil(limit.PerSecond)))
	}
	return &keyLimiter{limit: limit, keys: map[string]*rate.Limiter{}}
}

// wait returns how long the key must wait before its next request, zero
// when the request may go now.
func (l *keyLimiter) wait(key string) time.Duration {
	l.mu.Lock()
	limiter, ok := l.keys[key]
	if !ok {
		limiter = rate.NewLimiter(rate.Limit(l.limit.PerSecond), l.limit.Burst)
		l.keys[key] = limiter
	}
	l.mu.Unlock()

	reservation := limiter.Reserve()
	delay := reservation.Delay()
	if delay > 0 {
		// The request is refused, so it must not use up a token.
		reservation.Cancel()
	}
	return delay
}

// limitRate responds 429 with Retry-After to a key over its rate, on the
// operations tagged "rate-limited".
func (s *Server) limitRate(ctx huma.Context, next func(huma.Context)) {
	op := ctx.Operation()
	if s.limiter == nil || op == nil || op.Metadata["rateLimited"] != true {
		next(ctx)
		return
	}
	delay := s.limiter.wait(keyName(ctx.Context()))
	if delay <= 0 {
		next(ctx)
		return
	}
	seconds := int(math.Ceil(delay.Seconds()))
	ctx.SetHeader("Retry-After", strconv.Itoa(seconds))
	huma.WriteErr(s.api, ctx, http.StatusTooManyRequests, fmt.Sprintf(
		"rate limit of this API key exceeded (limits.rate_per_key is %g requests per second): retry after %d s", s.limiter.limit.PerSecond, seconds))
}
