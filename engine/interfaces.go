package engine

import (
	"context"
	"io"
	"net/http"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
)

// Renderer turns a job's request into a document.
//
// Render must be safe for concurrent use; it bounds its own concurrency and
// blocks while all its slots are busy, returning ctx.Err() if ctx ends first.
// It writes the whole document to w or returns an error; on error, what was
// written to w is discarded. Errors that the caller can act on (a page that
// does not load, a selector that never appears) are *JobError values; any
// other error is reported as an internal error.
type Renderer interface {
	Render(ctx context.Context, job *Job, w io.Writer) error
	// Ready reports whether the renderer can take jobs now, for /readyz.
	Ready() bool
	// Close stops the renderer and every process it started.
	Close() error
}

// Document is a rendered document on its way to storage.
type Document struct {
	Job *Job
	// Body is read from its start; it is seekable so that an upload can be
	// retried or sent in parts without holding the document in memory.
	Body io.ReadSeeker
	// Size is the length of Body in bytes.
	Size int64
}

// StoredDocument says where a stored document can be fetched.
type StoredDocument struct {
	// URL is the documentUrl given to the caller.
	URL string
	// Key identifies the document inside the storage.
	Key string
	// IsCustomBucket is true when the document went to the caller's bucket.
	IsCustomBucket bool
}

// Storage keeps rendered documents and gives them a URL.
//
// Store must be safe for concurrent use and idempotent: storing the same
// job twice, as a redelivered message does, writes the same key. A failure
// is returned as a *JobError with CodeStorageFailed and the store's reason.
type Storage interface {
	Store(ctx context.Context, doc Document) (StoredDocument, error)
	Close() error
}

// DocumentServer is implemented by storages whose documents Presso serves
// itself. The HTTP front mounts the handler under DocumentPath.
type DocumentServer interface {
	DocumentHandler() http.Handler
}

// DocumentPath is the URL path under which Presso serves stored documents.
const DocumentPath = "/v1/documents/"

// Delivery is one webhook call to make for an async job.
type Delivery struct {
	JobID     string  `json:"jobId"`
	RequestID string  `json:"requestId"`
	Key       string  `json:"key"`
	Webhook   Webhook `json:"webhook"`
	Payload   Payload `json:"payload"`
	// Attempt counts the calls made so far for this delivery, from 1.
	Attempt int `json:"attempt"`
}

// Attempt is the outcome of one webhook call.
type Attempt struct {
	At         time.Time `json:"at" doc:"When the call started." example:"2026-12-04T10:15:31Z"`
	StatusCode int       `json:"statusCode,omitempty" doc:"The receiver's HTTP status, when it answered." example:"200"`
	Error      string    `json:"error,omitempty" doc:"Why the call failed without an answer: timeout, refused connection, …" example:"timed out after 10s"`
	// Duration is the time the call took; DurationMs carries it in JSON.
	Duration   time.Duration `json:"-"`
	DurationMs int64         `json:"durationMs" doc:"Time the call took, in milliseconds." example:"35"`
	// RetryAfter is the pause the receiver asked for with Retry-After, if any.
	RetryAfter time.Duration `json:"-"`
	// Permanent marks a failure that a retry cannot mend, such as a
	// receiver address that the outbound guard refuses.
	Permanent bool `json:"-"`
}

// Succeeded reports whether the receiver accepted the call (any 2xx).
func (a Attempt) Succeeded() bool {
	return a.Error == "" && a.StatusCode >= 200 && a.StatusCode < 300
}

// Notifier tells the caller of an async job about its result.
//
// Deliver makes exactly one attempt and reports its outcome; retrying is
// the pipeline's job, so that every attempt is recorded and paced. It must
// be safe for concurrent use and must honour ctx's deadline.
type Notifier interface {
	Deliver(ctx context.Context, d *Delivery) Attempt
	Close() error
}

// Transport carries the pipeline's messages between processes.
//
// Publisher publishes to any topic. Subscriber returns a subscriber whose
// consumers that share group split the messages of a topic between them,
// while consumers of different groups each get every message; transports
// that run in one process may ignore group.
type Transport interface {
	Publisher() message.Publisher
	Subscriber(group string) (message.Subscriber, error)
	Close() error
}
