package s3

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/presso-dev/presso/storages/storagetest"
)

func TestConformancePresignedURLs(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storagetest.Target {
		fake := storagetest.NewFakeS3(t, testBucket)
		cfg := fakeConfig(fake, testBucket)
		cfg.URLTTL = 2 * time.Hour
		cfg.PartSize = MinPartSize
		s := newTestStorage(t, cfg)
		return storagetest.Target{
			Storage:  s,
			Features: storagetest.Features{ContentHeaders: true},
			Fail: func(t *testing.T) {
				fake.Deny(http.StatusForbidden, "AccessDenied", "Access Denied")
			},
			FailureReason: "AccessDenied",
			Secrets:       []string{storagetest.FakeSecretAccessKey},
			URLTTL:        cfg.URLTTL,
			AdvanceClock:  fake.AdvanceClock,
			OpenMissingBucket: func(t *testing.T) (string, error) {
				_, err := NewWithConfig(context.Background(), fakeConfig(fake, "no-such-bucket"), testLogger(t))
				return "no-such-bucket", err
			},
		}
	})
}

func TestConformancePublicBaseURL(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storagetest.Target {
		fake := storagetest.NewFakeS3(t, testBucket)
		cfg := fakeConfig(fake, testBucket)
		// gofakes3 serves objects without authentication, so the
		// path-style bucket URL plays the part of a public bucket or CDN.
		cfg.PublicBaseURL = fake.URL + "/" + testBucket
		cfg.Prefix = "public/"
		s := newTestStorage(t, cfg)
		return storagetest.Target{
			Storage:  s,
			Features: storagetest.Features{ContentHeaders: true},
			Fail: func(t *testing.T) {
				fake.Deny(http.StatusServiceUnavailable, "ServiceUnavailable", "Please reduce your request rate.")
			},
			FailureReason: "ServiceUnavailable",
			Secrets:       []string{storagetest.FakeSecretAccessKey},
		}
	})
}
