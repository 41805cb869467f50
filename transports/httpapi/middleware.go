package httpapi

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"
)

type contextKey int

const (
	keyNameKey contextKey = iota
	requestIDKey
)

// RequestIDHeader carries the id of an HTTP request: the client's value
// when it sends a sane one, a fresh UUID otherwise.
const RequestIDHeader = "X-Request-Id"

func (s *Server) withRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(RequestIDHeader)
		if id == "" || len(id) > 128 || strings.ContainsFunc(id, func(c rune) bool { return c < 0x21 || c > 0x7e }) {
			id = uuid.NewString()
		}
		w.Header().Set(RequestIDHeader, id)
		started := time.Now()
		recorder := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(recorder, r.WithContext(context.WithValue(r.Context(), requestIDKey, id)))
		s.opts.Logger.Info("http request", "httpRequestId", id, "method", r.Method, "path", r.URL.Path,
			"status", recorder.status, "durationMs", time.Since(started).Milliseconds())
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(status int) {
	r.status = status
	r.ResponseWriter.WriteHeader(status)
}

func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// authenticate checks the bearer token of every operation that declares
// the bearer security scheme and stores the key's name in the context.
func (s *Server) authenticate(ctx huma.Context, next func(huma.Context)) {
	op := ctx.Operation()
	if op == nil || len(op.Security) == 0 {
		next(ctx)
		return
	}
	// The scheme name is case-insensitive (RFC 9110), the token is not.
	scheme, token, _ := strings.Cut(strings.TrimSpace(ctx.Header("Authorization")), " ")
	hasBearer := strings.EqualFold(scheme, "Bearer") && token != ""
	if !s.opts.Keys.Enabled() {
		next(huma.WithValue(ctx, keyNameKey, "anonymous"))
		return
	}
	name, ok := s.opts.Keys.Authenticate(strings.TrimSpace(token))
	if !hasBearer || !ok {
		ctx.SetHeader("WWW-Authenticate", `Bearer realm="presso"`)
		message := "missing API key: send the header Authorization: Bearer <key>"
		if hasBearer {
			message = "invalid API key: check the key sent in the Authorization header"
		}
		huma.WriteErr(s.api, ctx, http.StatusUnauthorized, message)
		return
	}
	next(huma.WithValue(ctx, keyNameKey, name))
}

func keyName(ctx context.Context) string {
	name, _ := ctx.Value(keyNameKey).(string)
	return name
}

func requestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}
