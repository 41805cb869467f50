package httpapi

import (
	"context"
	"errors"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/presso-dev/presso/engine"
)

type jobInput struct {
	JobID string `path:"jobId" maxLength:"64" doc:"The job id from the async answer or the webhook-id header." example:"5d2b8f1e-7c0a-4f3e-9a41-0c6f7d2e8b90"`
}

type jobOutput struct {
	Body *engine.JobRecord
}

type redeliverOutput struct {
	Body struct {
		JobID string `json:"jobId" doc:"The job whose webhook is sent again." example:"5d2b8f1e-7c0a-4f3e-9a41-0c6f7d2e8b90"`
		State string `json:"state" doc:"The job's state: notifying until the new round of attempts ends." example:"notifying"`
	}
}

func (s *Server) registerJobRoutes() {
	bearer := []map[string][]string{{"bearer": {}}}
	huma.Register(s.api, huma.Operation{
		OperationID: "get-job", Method: http.MethodGet, Path: "/v1/jobs/{jobId}",
		Summary:     "Get a job's state and webhook history",
		Description: "Presso extension. Returns the state of a job created with the same API key, its timestamps, render duration, document URL and every webhook attempt. A job of another key answers 404.",
		Tags:        []string{"Jobs"}, Security: bearer, Errors: []int{401, 404},
	}, func(ctx context.Context, in *jobInput) (*jobOutput, error) {
		rec, err := s.opts.Engine.Job(ctx, keyName(ctx), in.JobID)
		if err != nil {
			return nil, s.jobError(in.JobID, err)
		}
		return &jobOutput{Body: rec}, nil
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "redeliver-job", Method: http.MethodPost, Path: "/v1/jobs/{jobId}/redeliver",
		Summary:     "Send an async job's webhook again",
		Description: "Presso extension. Starts a new round of webhook attempts for an async job of the same API key, for example after its delivery failed. The receiver gets the original payload with fresh signatures.",
		Tags:        []string{"Jobs"}, Security: bearer, Errors: []int{401, 404, 409},
	}, func(ctx context.Context, in *jobInput) (*redeliverOutput, error) {
		if err := s.opts.Engine.Redeliver(ctx, keyName(ctx), in.JobID); err != nil {
			return nil, s.jobError(in.JobID, err)
		}
		out := &redeliverOutput{}
		out.Body.JobID = in.JobID
		out.Body.State = string(engine.StateNotifying)
		return out, nil
	})
}

func (s *Server) jobError(jobID string, err error) error {
	switch {
	case errors.Is(err, engine.ErrJobNotFound):
		return problemf(http.StatusNotFound, "job %s not found: check the id, and that it was created with this API key and within jobs.retention", jobID)
	case errors.Is(err, engine.ErrNoWebhook):
		return problemf(http.StatusConflict, "job %s is not an async job: only async jobs have a webhook to send again", jobID)
	}
	s.opts.Logger.Error("job store failed", "jobId", jobID, "error", err)
	return problemf(http.StatusServiceUnavailable, "the job store is unavailable: retry the request").withRetryAfter(5)
}
