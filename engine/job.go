package engine

import (
	"strings"
	"time"

	"github.com/google/uuid"
)

// Mode is how a caller receives a job's document.
type Mode string

const (
	// ModeDirect returns the document bytes in the HTTP response.
	ModeDirect Mode = "direct"
	// ModeSync stores the document and returns its URL in the HTTP response.
	ModeSync Mode = "sync"
	// ModeAsync stores the document and sends its URL to the caller's webhook.
	ModeAsync Mode = "async"
)

// Valid reports whether m is one of the three modes.
func (m Mode) Valid() bool {
	return m == ModeDirect || m == ModeSync || m == ModeAsync
}

// Kind is the type of document a job produces.
type Kind string

const (
	// KindPDF prints the page to a PDF document.
	KindPDF Kind = "pdf"
	// KindScreenshot captures the page as a PNG, JPEG or WebP image.
	KindScreenshot Kind = "screenshot"
)

// Valid reports whether k is a known kind.
func (k Kind) Valid() bool {
	return k == KindPDF || k == KindScreenshot
}

// RequestIDPrefix starts every request id, as in the Doppio API.
const RequestIDPrefix = "doppioreq_"

// Job is one render request on its way through the pipeline. It is the
// payload of the render message, so every field must survive a JSON round
// trip: a job may be rendered by another process than the one that accepted it.
type Job struct {
	// ID identifies the job in queues, logs and the job API: a UUID.
	ID string `json:"id"`
	// RequestID is the caller-facing id, "doppioreq_" followed by a UUID.
	RequestID string `json:"requestId"`
	Mode      Mode   `json:"mode"`
	Kind      Kind   `json:"kind"`
	// Key is the name of the API key that submitted the job; it selects the
	// webhook signing secret and scopes the job's documents.
	Key string `json:"key"`
	// HTTPRequestID is the id of the HTTP request that carried the job, for
	// log correlation; it is not the Doppio request id.
	HTTPRequestID string `json:"httpRequestId,omitempty"`
	// CreatedAt is when the job was accepted.
	CreatedAt time.Time `json:"createdAt"`
	// Deadline is when the caller of a direct or sync job stops waiting.
	// Zero for async jobs. A worker that picks the job up later skips it.
	Deadline time.Time `json:"deadline,omitzero"`
	// Request is the decoded and validated request body.
	Request RenderRequest `json:"request"`
}

// NewJob returns a job with fresh ids for the given request.
func NewJob(kind Kind, mode Mode, key string, req RenderRequest) *Job {
	id := uuid.NewString()
	return &Job{
		ID:        id,
		RequestID: RequestIDPrefix + uuid.NewString(),
		Mode:      mode,
		Kind:      kind,
		Key:       key,
		CreatedAt: time.Now().UTC(),
		Request:   req,
	}
}

// Extension returns the file extension of the job's document, without a dot.
func (j *Job) Extension() string {
	if j.Kind == KindPDF {
		return "pdf"
	}
	return j.Request.ScreenshotType().Extension()
}

// ContentType returns the media type of the job's document.
func (j *Job) ContentType() string {
	if j.Kind == KindPDF {
		return "application/pdf"
	}
	return j.Request.ScreenshotType().ContentType()
}

// FileName returns the name a downloaded document gets: "<requestId>.<ext>".
func (j *Job) FileName() string {
	return j.RequestID + "." + j.Extension()
}

// ContentDisposition returns the Content-Disposition header value of the
// job's document, inline unless the request asks for an attachment.
func (j *Job) ContentDisposition() string {
	disposition := "inline"
	if j.Request.Doppio != nil && strings.EqualFold(j.Request.Doppio.ContentDisposition, "attachment") {
		disposition = "attachment"
	}
	return disposition + `; filename="` + j.FileName() + `"`
}
