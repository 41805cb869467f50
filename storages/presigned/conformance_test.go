package presigned

import (
	"net/http"
	"testing"

	"github.com/presso-dev/presso/engine"
	"github.com/presso-dev/presso/storages/storagetest"
)

func TestConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storagetest.Target {
		fake := storagetest.NewFakeS3(t, customerBucket)
		u := newTestUploader(t, fastConfig(), nil)
		return storagetest.Target{
			Storage: u,
			// The object's Content-Type is the application/octet-stream of
			// the upload, and it has no Content-Disposition.
			Features: storagetest.Features{CustomBucket: true},
			PrepareJob: func(t *testing.T, job *engine.Job) {
				if job.Request.Doppio == nil {
					job.Request.Doppio = &engine.DoppioOptions{}
				}
				job.Request.Doppio.PresignedURL = presignPut(t, fake, customerBucket, "uploads/"+job.RequestID+"."+job.Extension())
			},
			Fail: func(t *testing.T) {
				fake.Deny(http.StatusForbidden, "AccessDenied", "Request has expired")
			},
			FailureReason: "AccessDenied: Request has expired",
			Secrets:       []string{storagetest.FakeSecretAccessKey, "X-Amz-Signature"},
		}
	})
}
