package engine

import (
	"context"
	"errors"
	"fmt"
)

// Error codes of failed jobs, reported in error.code of results and webhooks.
const (
	CodeNavigationFailed = "navigation_failed"
	CodeTimeout          = "timeout"
	CodeRenderFailed     = "render_failed"
	CodeStorageFailed    = "storage_failed"
	CodeInvalidRequest   = "invalid_request"
	CodeInternal         = "internal_error"
	CodeDeliveryFailed   = "delivery_failed"
	// CodeOutboundRefused marks a render whose page tried to reach an
	// address that the outbound guard refuses.
	CodeOutboundRefused = "outbound_refused"
	// CodeCancelled marks a direct or sync job whose caller closed its
	// request before the render ended.
	CodeCancelled = "cancelled"
)

// JobError says why a job failed, in terms a caller can act on.
type JobError struct {
	Code    string `json:"code" doc:"Machine-readable reason: navigation_failed, timeout, render_failed, storage_failed, delivery_failed, invalid_request, outbound_refused, cancelled or internal_error." example:"navigation_failed"`
	Message string `json:"message" doc:"Human-readable reason." example:"navigation to https://invoices.example failed: net::ERR_NAME_NOT_RESOLVED"`
}

func (e *JobError) Error() string { return e.Message }

// cancelledError returns the error of a direct or sync job whose caller
// closed its request before the render ended.
func cancelledError() *JobError {
	return Errorf(CodeCancelled, "the caller closed the request before the render ended")
}

// Errorf returns a JobError with the given code and formatted message.
func Errorf(code, format string, args ...any) *JobError {
	return &JobError{Code: code, Message: fmt.Sprintf(format, args...)}
}

// AsJobError converts any error into a JobError. Errors that are not
// JobErrors become internal errors, except deadline errors, which become
// timeouts.
func AsJobError(err error) *JobError {
	var jobErr *JobError
	if errors.As(err, &jobErr) {
		return jobErr
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return &JobError{Code: CodeTimeout, Message: "render timed out: " + err.Error()}
	}
	return &JobError{Code: CodeInternal, Message: err.Error()}
}

var (
	// ErrUnknownKind is returned by a registry for a name nobody registered.
	ErrUnknownKind = errors.New("unknown implementation")
	// ErrNoWebhook is returned when a webhook is redelivered for a job that
	// had none: a direct or sync job.
	ErrNoWebhook = errors.New("job has no webhook: only async jobs can be redelivered")
	// ErrShuttingDown is returned by Submit once the dispatcher is closing.
	ErrShuttingDown = errors.New("presso is shutting down")
)
