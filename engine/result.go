package engine

import "time"

// RenderStatus is the outcome of a job as the Doppio API reports it.
type RenderStatus string

const (
	StatusSuccess RenderStatus = "SUCCESS"
	StatusError   RenderStatus = "ERROR"
)

// Result is the outcome of one job. The worker publishes it on the results
// topic for direct and sync jobs, and builds the webhook payload from it for
// async jobs.
type Result struct {
	JobID          string       `json:"jobId"`
	RequestID      string       `json:"requestId"`
	Status         RenderStatus `json:"status"`
	DocumentURL    string       `json:"documentUrl,omitempty"`
	IsCustomBucket bool         `json:"isCustomBucket,omitempty"`
	Error          *JobError    `json:"error,omitempty"`
	// ContentType and Document carry the document of a direct job, which
	// is returned in the HTTP response instead of being stored.
	ContentType string `json:"contentType,omitempty"`
	Document    []byte `json:"document,omitempty"`
	// RenderDuration is the time spent in the renderer.
	RenderDuration time.Duration `json:"renderDuration,omitempty"`
}

// Payload is the JSON body of the sync answer and of the webhook call, with
// the field names and order of the Doppio API.
type Payload struct {
	DoppioRequestID string       `json:"doppioRequestId" doc:"The request id, doppioreq_ followed by a UUID." example:"doppioreq_0b9cd1de-38a9-4f9a-9f4a-2a1c1f0e5b7d"`
	RenderStatus    RenderStatus `json:"renderStatus" enum:"SUCCESS,ERROR" doc:"SUCCESS when the document was stored, ERROR otherwise." example:"SUCCESS"`
	DocumentURL     string       `json:"documentUrl" doc:"Where the document can be downloaded; empty on ERROR." example:"http://127.0.0.1:8080/v1/documents/doppioreq_0b9cd1de-38a9-4f9a-9f4a-2a1c1f0e5b7d-1764877200000.pdf?expires=1764963600&signature=3f0c…"`
	IsAsync         bool         `json:"isAsync" doc:"True in webhook calls, false in sync answers." example:"false"`
	IsCustomBucket  bool         `json:"isCustomBucket" doc:"True when the document went to the caller's own bucket." example:"false"`
	Error           *JobError    `json:"error,omitempty" doc:"Presso extension: why the render failed, on ERROR only."`
}

// Payload returns the caller-facing view of the result.
func (r *Result) Payload(async bool) Payload {
	return Payload{
		DoppioRequestID: r.RequestID,
		RenderStatus:    r.Status,
		DocumentURL:     r.DocumentURL,
		IsAsync:         async,
		IsCustomBucket:  r.IsCustomBucket,
		Error:           r.Error,
	}
}

// FailedResult returns an ERROR result of job for err.
func FailedResult(job *Job, err error) *Result {
	return &Result{
		JobID:     job.ID,
		RequestID: job.RequestID,
		Status:    StatusError,
		Error:     AsJobError(err),
	}
}
