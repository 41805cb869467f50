package selector

import (
	"net/http"
	"testing"
	"time"

	"github.com/presso-dev/presso/engine"
	"github.com/presso-dev/presso/storages/storagetest"
)

// The selector runs the suite three times, once per route.

func TestConformanceDefaultStorage(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storagetest.Target {
		fake := storagetest.NewFakeS3(t, "presso")
		s := New(newS3Storage(t, fake, "presso"), nil, newUploader(t))
		t.Cleanup(func() { s.Close() })
		return storagetest.Target{
			Storage:       s,
			Features:      storagetest.Features{ContentHeaders: true},
			Fail:          func(t *testing.T) { fake.Deny(http.StatusForbidden, "AccessDenied", "Access Denied") },
			FailureReason: "AccessDenied",
			Secrets:       []string{storagetest.FakeSecretAccessKey},
			URLTTL:        24 * time.Hour,
			AdvanceClock:  fake.AdvanceClock,
		}
	})
}

func TestConformancePerKeyBucket(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storagetest.Target {
		fake := storagetest.NewFakeS3(t, "presso", "tenant-bucket")
		settings := bucketSettings(fake, "tenant-bucket")
		settings["url_ttl"] = "90m"
		perKey, err := PerKeyFromConfig(t.Context(), []engine.APIKey{{Name: "tenant", Storage: settings}}, testLogger(t))
		if err != nil {
			t.Fatalf("PerKeyFromConfig: %v", err)
		}
		s := New(newS3Storage(t, fake, "presso"), perKey, newUploader(t))
		t.Cleanup(func() { s.Close() })
		return storagetest.Target{
			Storage:    s,
			Features:   storagetest.Features{ContentHeaders: true, CustomBucket: true},
			PrepareJob: func(t *testing.T, job *engine.Job) { job.Key = "tenant" },
			Fail: func(t *testing.T) {
				fake.DenyMatching(func(r *http.Request) bool { return r.URL.Path != "/presso" }, http.StatusForbidden, "AccessDenied", "Access Denied")
			},
			FailureReason: "AccessDenied",
			Secrets:       []string{storagetest.FakeSecretAccessKey},
			URLTTL:        90 * time.Minute,
			AdvanceClock:  fake.AdvanceClock,
		}
	})
}

func TestConformancePresignedURL(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storagetest.Target {
		fake := storagetest.NewFakeS3(t, "presso", "customer")
		s := New(newS3Storage(t, fake, "presso"), nil, newUploader(t))
		t.Cleanup(func() { s.Close() })
		return storagetest.Target{
			Storage:  s,
			Features: storagetest.Features{CustomBucket: true},
			PrepareJob: func(t *testing.T, job *engine.Job) {
				if job.Request.Doppio == nil {
					job.Request.Doppio = &engine.DoppioOptions{}
				}
				job.Request.Doppio.PresignedURL = presignPut(t, fake, "customer", "in/"+job.RequestID+"."+job.Extension())
			},
			Fail:          func(t *testing.T) { fake.Deny(http.StatusForbidden, "AccessDenied", "Request has expired") },
			FailureReason: "Request has expired",
			Secrets:       []string{storagetest.FakeSecretAccessKey, "X-Amz-Signature"},
		}
	})
}
