package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/presso-dev/presso/engine"
	"github.com/presso-dev/presso/engine/outbound"
)

// renderInput is the input of the six render routes.
type renderInput struct {
	IdempotencyKey string `header:"Idempotency-Key" maxLength:"255" doc:"Presso extension: a repeat of a request with the same key within 24 hours returns the first request's answer instead of rendering again; the same key with another body answers 409." example:"invoice-42-v1"`
	Body           engine.RenderRequest
	// RawBody lets Resolve check the request even when huma's schema
	// validation has already failed and Body was left empty.
	RawBody []byte
}

// Resolve adds the checks that the JSON schema cannot express, so that a
// caller sees schema and semantic problems in one answer.
func (in *renderInput) Resolve(ctx huma.Context) []error {
	kind, mode := routeOf(ctx.Operation())
	keys := checkKeys(in.RawBody, reflect.TypeFor[engine.RenderRequest]())
	var req engine.RenderRequest
	if err := json.Unmarshal(in.RawBody, &req); err != nil {
		// The schema validation reports why the body does not decode,
		// where checkKeys does not.
		return fieldErrors(keys)
	}
	limits, _ := ctx.Operation().Metadata["limits"].(engine.Limits)
	guard, _ := ctx.Operation().Metadata["guard"].(*outbound.Guard)
	violations := append(keys, req.Validate(kind, mode)...)
	violations = append(violations, limits.CheckRequest(&req)...)
	if len(violations) == 0 {
		violations = checkTargets(ctx.Context(), guard, &req, mode)
	}
	return fieldErrors(violations)
}

// checkTargets refuses a webhook or presigned URL whose address the outbound
// guard denies. A name that does not resolve now is let through: the
// delivery retries it, and the guard checks again when it connects.
func checkTargets(ctx context.Context, guard *outbound.Guard, req *engine.RenderRequest, mode engine.Mode) []engine.FieldError {
	if guard == nil {
		return nil
	}
	var errs []engine.FieldError
	if w := req.Webhook(); w != nil && mode == engine.ModeAsync {
		if err := guard.CheckURL(ctx, w.URL); outbound.IsDenied(err) {
			errs = append(errs, engine.FieldError{Path: "doppio.webhook.url", Message: "doppio.webhook.url is not allowed: " + err.Error()})
		}
	}
	if u := req.PresignedURL(); u != "" && mode != engine.ModeDirect {
		if err := guard.CheckURL(ctx, u); outbound.IsDenied(err) {
			errs = append(errs, engine.FieldError{Path: "doppio.presignedUrl", Message: "doppio.presignedUrl is not allowed: " + stripQuery(err.Error(), u)})
		}
	}
	return errs
}

// stripQuery removes the query string of rawURL from message, since the
// query of a presigned URL is its signature.
func stripQuery(message, rawURL string) string {
	if i := strings.IndexByte(rawURL, '?'); i >= 0 {
		return strings.ReplaceAll(message, rawURL[i:], "")
	}
	return message
}

func routeOf(op *huma.Operation) (engine.Kind, engine.Mode) {
	kind, _ := op.Metadata["kind"].(engine.Kind)
	mode, _ := op.Metadata["mode"].(engine.Mode)
	return kind, mode
}

type directOutput struct {
	ContentType        string `header:"Content-Type"`
	ContentDisposition string `header:"Content-Disposition"`
	DoppioRequestID    string `header:"X-Doppio-Request-Id" doc:"The request id of the render."`
	JobID              string `header:"X-Presso-Job-Id" doc:"Presso extension: the job id, for GET /v1/jobs/{jobId}."`
	Replayed           string `header:"Idempotent-Replayed" doc:"true when this is the stored answer of an earlier request with the same Idempotency-Key."`
	Body               []byte
}

type syncOutput struct {
	JobID    string `header:"X-Presso-Job-Id" doc:"Presso extension: the job id, for GET /v1/jobs/{jobId}."`
	Replayed string `header:"Idempotent-Replayed" doc:"true when this is the stored answer of an earlier request with the same Idempotency-Key."`
	Body     engine.Payload
}

// Ack is the response body of the async routes.
type Ack struct {
	RequestID string `json:"requestId" doc:"The request id; the webhook's doppioRequestId." example:"doppioreq_0b9cd1de-38a9-4f9a-9f4a-2a1c1f0e5b7d"`
	JobID     string `json:"jobId" doc:"The job id, used in logs and as webhook-id." example:"5d2b8f1e-7c0a-4f3e-9a41-0c6f7d2e8b90"`
}

type asyncOutput struct {
	Replayed string `header:"Idempotent-Replayed" doc:"true when this is the stored answer of an earlier request with the same Idempotency-Key."`
	Body     Ack
}

var binaryTypes = map[engine.Kind][]string{
	engine.KindPDF:        {"application/pdf"},
	engine.KindScreenshot: {"image/png", "image/jpeg", "image/webp"},
}

func (s *Server) registerRenderRoutes() {
	for _, kind := range []engine.Kind{engine.KindPDF, engine.KindScreenshot} {
		for _, mode := range []engine.Mode{engine.ModeDirect, engine.ModeSync, engine.ModeAsync} {
			op := huma.Operation{
				OperationID:     fmt.Sprintf("render-%s-%s", kind, mode),
				Method:          http.MethodPost,
				Path:            fmt.Sprintf("/v1/render/%s/%s", kind, mode),
				Summary:         summaries[kind] + " " + modeSummaries[mode],
				Description:     modeDescriptions[mode],
				Tags:            []string{"Render"},
				Security:        []map[string][]string{{"bearer": {}}},
				MaxBodyBytes:    s.opts.MaxBodyBytes,
				BodyReadTimeout: s.opts.BodyReadTimeout,
				DefaultStatus:   http.StatusOK,
				Metadata:        map[string]any{"kind": kind, "mode": mode, "rateLimited": true, "limits": s.opts.Limits, "guard": s.opts.Guard},
				Errors:          []int{400, 401, 409, 413, 429, 503, 504},
			}
			switch mode {
			case engine.ModeDirect:
				op.Responses = map[string]*huma.Response{"200": binaryResponse(kind)}
				huma.Register(s.api, op, s.direct(kind))
			case engine.ModeSync:
				huma.Register(s.api, op, s.sync(kind))
			case engine.ModeAsync:
				huma.Register(s.api, op, s.async(kind))
			}
		}
	}
}

var summaries = map[engine.Kind]string{engine.KindPDF: "Render a PDF", engine.KindScreenshot: "Take a screenshot"}

var modeSummaries = map[engine.Mode]string{
	engine.ModeDirect: "and return it",
	engine.ModeSync:   "and return its URL",
	engine.ModeAsync:  "and send its URL to a webhook",
}

var modeDescriptions = map[engine.Mode]string{
	engine.ModeDirect: "Renders the page and answers with the document itself. A page that cannot be loaded answers 400; a render over the time limit answers 504.",
	engine.ModeSync:   "Renders and stores the document, then answers with its URL. A failed render still answers 200, with renderStatus ERROR and an error object that says why.",
	engine.ModeAsync:  "Queues the render and answers at once with the request and job ids. The result is then sent to doppio.webhook, signed with the key's signing secret.",
}

func binaryResponse(kind engine.Kind) *huma.Response {
	content := map[string]*huma.MediaType{}
	for _, ct := range binaryTypes[kind] {
		content[ct] = &huma.MediaType{Schema: &huma.Schema{Type: huma.TypeString, Format: "binary"}}
	}
	return &huma.Response{Description: "The rendered document.", Content: content}
}

func (s *Server) newJob(ctx context.Context, kind engine.Kind, mode engine.Mode, req engine.RenderRequest) *engine.Job {
	job := engine.NewJob(kind, mode, keyName(ctx), req)
	job.HTTPRequestID = requestID(ctx)
	return job
}

func (s *Server) direct(kind engine.Kind) func(context.Context, *renderInput) (*directOutput, error) {
	route := fmt.Sprintf("%s/%s", kind, engine.ModeDirect)
	return func(ctx context.Context, in *renderInput) (*directOutput, error) {
		slot, replay, err := s.beginIdempotent(ctx, route, in)
		if err != nil {
			return nil, err
		}
		if replay != nil {
			var stored directReplay
			if err := json.Unmarshal(replay.Body, &stored); err != nil {
				return nil, err
			}
			return &directOutput{ContentType: replay.ContentType, ContentDisposition: stored.Disposition,
				DoppioRequestID: stored.RequestID, Replayed: "true", Body: stored.Document}, nil
		}

		job := s.newJob(ctx, kind, engine.ModeDirect, in.Body)
		result, err := s.run(ctx, job)
		if err == nil && result.Status != engine.StatusSuccess {
			err = s.directFailure(job, result.Error)
		}
		if err != nil {
			slot.abandon(ctx)
			return nil, err
		}
		out := &directOutput{
			ContentType:        result.ContentType,
			ContentDisposition: job.ContentDisposition(),
			DoppioRequestID:    job.RequestID,
			JobID:              job.ID,
			Body:               result.Document,
		}
		if slot != nil {
			stored, _ := json.Marshal(directReplay{RequestID: job.RequestID, Disposition: out.ContentDisposition, Document: out.Body})
			slot.complete(ctx, http.StatusOK, out.ContentType, stored)
		}
		return out, nil
	}
}

// directReplay is what is kept of a direct response for idempotent repeats.
type directReplay struct {
	RequestID   string `json:"requestId"`
	Disposition string `json:"disposition"`
	Document    []byte `json:"document"`
}

func (s *Server) sync(kind engine.Kind) func(context.Context, *renderInput) (*syncOutput, error) {
	route := fmt.Sprintf("%s/%s", kind, engine.ModeSync)
	return func(ctx context.Context, in *renderInput) (*syncOutput, error) {
		slot, replay, err := s.beginIdempotent(ctx, route, in)
		if err != nil {
			return nil, err
		}
		if replay != nil {
			out := &syncOutput{Replayed: "true"}
			return out, json.Unmarshal(replay.Body, &out.Body)
		}

		job := s.newJob(ctx, kind, engine.ModeSync, in.Body)
		result, err := s.run(ctx, job)
		if err != nil {
			slot.abandon(ctx)
			return nil, err
		}
		out := &syncOutput{JobID: job.ID, Body: result.Payload(false)}
		if slot != nil {
			body, _ := json.Marshal(out.Body)
			slot.complete(ctx, http.StatusOK, "application/json", body)
		}
		return out, nil
	}
}

func (s *Server) async(kind engine.Kind) func(context.Context, *renderInput) (*asyncOutput, error) {
	route := fmt.Sprintf("%s/%s", kind, engine.ModeAsync)
	return func(ctx context.Context, in *renderInput) (*asyncOutput, error) {
		slot, replay, err := s.beginIdempotent(ctx, route, in)
		if err != nil {
			return nil, err
		}
		if replay != nil {
			out := &asyncOutput{Replayed: "true"}
			return out, json.Unmarshal(replay.Body, &out.Body)
		}

		job := s.newJob(ctx, kind, engine.ModeAsync, in.Body)
		if err := s.opts.Engine.Submit(ctx, job); err != nil {
			slot.abandon(ctx)
			return nil, s.submitFailure(job, err)
		}
		out := &asyncOutput{Body: Ack{RequestID: job.RequestID, JobID: job.ID}}
		if slot != nil {
			body, _ := json.Marshal(out.Body)
			slot.complete(ctx, http.StatusOK, "application/json", body)
		}
		return out, nil
	}
}

// run hands a direct or sync job to the engine and waits for its result,
// for the render time limit plus the time a job may wait in the queue.
func (s *Server) run(ctx context.Context, job *engine.Job) (*engine.Result, error) {
	ctx, cancel := context.WithTimeout(ctx, s.opts.RenderTimeout+s.opts.QueueWait)
	defer cancel()
	result, err := s.opts.Engine.Do(ctx, job)
	if err == nil {
		return result, nil
	}
	if errors.Is(err, context.DeadlineExceeded) {
		s.opts.Logger.Warn("gave up waiting for a job", "jobId", job.ID, "requestId", job.RequestID, "httpRequestId", job.HTTPRequestID)
		return nil, problemf(http.StatusGatewayTimeout, "render of %s did not finish within %s: simplify the page or raise renderer.timeout", job.RequestID, s.opts.RenderTimeout+s.opts.QueueWait)
	}
	return nil, s.submitFailure(job, err)
}

func (s *Server) submitFailure(job *engine.Job, err error) error {
	var full *engine.QueueFullError
	if errors.As(err, &full) {
		s.opts.Logger.Warn("job rejected: queue full", "jobId", job.ID, "requestId", job.RequestID, "httpRequestId", job.HTTPRequestID, "key", job.Key, "perKey", full.PerKey)
		if full.PerKey {
			return problemf(http.StatusTooManyRequests, "%s: retry later", full.Error()).withRetryAfter(queueRetryAfterSeconds)
		}
		return problemf(http.StatusServiceUnavailable, "%s: retry later", full.Error()).withRetryAfter(queueRetryAfterSeconds)
	}
	if errors.Is(err, engine.ErrShuttingDown) {
		return problemf(http.StatusServiceUnavailable, "Presso is shutting down: retry the request").withRetryAfter(5)
	}
	if errors.Is(err, context.Canceled) {
		return problemf(statusClientClosedRequest, "the client closed the request")
	}
	s.opts.Logger.Error("could not queue job", "jobId", job.ID, "requestId", job.RequestID, "httpRequestId", job.HTTPRequestID, "error", err)
	return problemf(http.StatusServiceUnavailable, "the job queue is unavailable: retry the request").withRetryAfter(5)
}

// queueRetryAfterSeconds is the Retry-After of an answer to a full queue:
// about the time a few renders take to free slots.
const queueRetryAfterSeconds = 2

// directFailure maps a failed direct render to its status: the contract
// answers 400 for a page that cannot be loaded and 504 for a time-out.
func (s *Server) directFailure(job *engine.Job, jobErr *engine.JobError) error {
	if jobErr == nil {
		jobErr = engine.Errorf(engine.CodeInternal, "render failed without a reason")
	}
	status := http.StatusInternalServerError
	switch jobErr.Code {
	case engine.CodeNavigationFailed, engine.CodeInvalidRequest, engine.CodeRenderFailed, engine.CodeOutboundRefused:
		status = http.StatusBadRequest
	case engine.CodeTimeout:
		status = http.StatusGatewayTimeout
	}
	p := problemf(status, "%s", jobErr.Message)
	p.Detail = fmt.Sprintf("render of %s failed (%s)", job.RequestID, jobErr.Code)
	return p
}

func (s *Server) registerHealthRoutes() {
	huma.Register(s.api, huma.Operation{
		OperationID: "healthz", Method: http.MethodGet, Path: "/healthz",
		Summary: "Liveness", Description: "Answers 200 while the process serves HTTP.", Tags: []string{"Health"},
	}, func(context.Context, *struct{}) (*healthOutput, error) {
		return &healthOutput{Body: health{Status: "ok"}}, nil
	})
	huma.Register(s.api, huma.Operation{
		OperationID: "readyz", Method: http.MethodGet, Path: "/readyz",
		Summary: "Readiness", Description: "Answers 200 when jobs can be taken: the browser is up and Presso is not shutting down; 503 otherwise.",
		Tags: []string{"Health"}, Errors: []int{503},
	}, func(context.Context, *struct{}) (*healthOutput, error) {
		if !s.opts.Engine.Ready() {
			return nil, problemf(http.StatusServiceUnavailable, "not ready: the renderer is down or Presso is shutting down").withRetryAfter(5)
		}
		return &healthOutput{Body: health{Status: "ready"}}, nil
	})
}

type health struct {
	Status string `json:"status" example:"ok" doc:"ok or ready."`
}

type healthOutput struct {
	Body health
}
