package presigned

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/presso-dev/presso/engine"
)

var _ engine.Storage = (*Uploader)(nil)

// OctetStream is the Content-Type of every upload. Presigned PUT URLs are
// usually signed for it, and S3 rejects a request whose signed headers
// differ from what the URL was signed with.
const OctetStream = "application/octet-stream"

// Uploader sends documents to the presigned PUT URL in each job's request.
type Uploader struct {
	cfg    Config
	client *http.Client
	logger *slog.Logger
}

// NewUploader validates cfg and returns an uploader. A nil logger means
// slog.Default().
func NewUploader(cfg Config, logger *slog.Logger) (*Uploader, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.Default()
	}
	transport := cfg.Transport
	if transport == nil {
		transport = http.DefaultTransport.(*http.Transport).Clone()
	}
	return &Uploader{
		cfg: cfg,
		client: &http.Client{
			Transport: transport,
			// A presigned URL is signed for its own host and path, so a
			// redirect cannot succeed, and following one would send the
			// document somewhere the caller did not name.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		logger: logger.With("storage", "presigned"),
	}, nil
}

// Store uploads the document to the job's doppio.presignedUrl with PUT.
// A 3xx or 4xx fails at once, because a denied or expired URL stays so. A
// server error (5xx, 408 or 429), a dropped connection or a timed-out
// attempt is retried up to MaxAttempts. The result's URL and Key are the
// presigned URL without its query string.
func (u *Uploader) Store(ctx context.Context, doc engine.Document) (engine.StoredDocument, error) {
	if doc.Job == nil || doc.Body == nil {
		return engine.StoredDocument{}, engine.Errorf(engine.CodeStorageFailed, "presigned upload received a document without job or body")
	}
	job := doc.Job
	target, err := parseTarget(job.Request.PresignedURL())
	if err != nil {
		return engine.StoredDocument{}, engine.Errorf(engine.CodeStorageFailed, "%v", err)
	}
	log := u.logger.With("jobId", job.ID, "requestId", job.RequestID, "url", target.documentURL)

	size, err := doc.Body.Seek(0, io.SeekEnd)
	if err == nil && doc.Size > 0 && size != doc.Size {
		err = fmt.Errorf("document body has %d bytes, expected %d", size, doc.Size)
	}
	if err != nil {
		log.Error("reading the document failed", "error", err)
		return engine.StoredDocument{}, engine.Errorf(engine.CodeStorageFailed, "presigned upload could not read the document: %v", err)
	}

	body := &sharedBody{rs: doc.Body}
	started := time.Now()
	for attempt := 1; ; attempt++ {
		result := u.send(ctx, target, body, size)
		if result.err == nil {
			log.Debug("document uploaded to presigned URL", "bytes", size, "attempts", attempt, "durationMs", time.Since(started).Milliseconds())
			return engine.StoredDocument{URL: target.documentURL, Key: target.documentURL, IsCustomBucket: true}, nil
		}
		reason := target.redact(result.err.Error())
		if !result.retry || attempt == u.cfg.MaxAttempts {
			return engine.StoredDocument{}, engine.Errorf(engine.CodeStorageFailed,
				"upload to the presigned URL %s failed after %d %s: %s", target.documentURL, attempt, plural(attempt, "attempt"), reason)
		}

		pause := u.backoff(attempt)
		log.Warn("upload to presigned URL failed; retrying", "attempt", attempt, "maxAttempts", u.cfg.MaxAttempts, "pause", pause, "error", reason)
		timer := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			timer.Stop()
			return engine.StoredDocument{}, engine.Errorf(engine.CodeStorageFailed,
				"upload to the presigned URL %s stopped after %d %s (%s): the last one failed with %s",
				target.documentURL, attempt, plural(attempt, "attempt"), contextReason(ctx.Err()), reason)
		case <-timer.C:
		}
	}
}

// attemptResult is the outcome of one PUT.
type attemptResult struct {
	err   error
	retry bool
}

// send makes one PUT of the whole body.
func (u *Uploader) send(ctx context.Context, target target, body *sharedBody, size int64) attemptResult {
	ctx, cancel := context.WithTimeout(ctx, u.cfg.AttemptTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, target.raw, http.NoBody)
	if err != nil {
		return attemptResult{err: errors.New("doppio.presignedUrl is invalid")}
	}
	if size > 0 {
		req.Body = body.reader(size)
		// GetBody lets net/http replay the body itself, as HTTP/2 does
		// after a GOAWAY.
		req.GetBody = func() (io.ReadCloser, error) { return body.reader(size), nil }
	}
	req.ContentLength = size
	req.Header.Set("Content-Type", OctetStream)

	resp, err := u.client.Do(req)
	if err != nil {
		return transportFailure(ctx, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBody))
		return attemptResult{}
	}
	failure := readFailure(resp)
	return attemptResult{err: failure, retry: failure.retryable()}
}

// backoff returns the pause after the given failed attempt: InitialBackoff
// doubled for each earlier attempt, capped at MaxBackoff, less a random
// part of up to half, so that workers that failed together do not retry
// together.
func (u *Uploader) backoff(attempt int) time.Duration {
	pause := u.cfg.InitialBackoff
	for range attempt - 1 {
		pause *= 2
		if pause >= u.cfg.MaxBackoff {
			break
		}
	}
	pause = min(pause, u.cfg.MaxBackoff)
	if pause <= 1 {
		return pause
	}
	return pause - rand.N(pause/2)
}

// Close closes idle connections. It may be called more than once.
func (u *Uploader) Close() error {
	u.client.CloseIdleConnections()
	return nil
}

// target is a parsed presigned URL.
type target struct {
	raw string
	// documentURL is raw without query and fragment: the documentUrl of
	// the result, and what logs and errors show.
	documentURL string
	rawQuery    string
}

func parseTarget(raw string) (target, error) {
	u, err := url.Parse(raw)
	if raw == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return target{}, errors.New("doppio.presignedUrl is missing or invalid: it must be an absolute http or https presigned PUT URL")
	}
	if u.User != nil {
		return target{}, errors.New("doppio.presignedUrl must not contain user info: a presigned URL carries its credentials in the query")
	}
	documentURL, _, _ := strings.Cut(raw, "?")
	documentURL, _, _ = strings.Cut(documentURL, "#")
	return target{raw: raw, documentURL: documentURL, rawQuery: u.RawQuery}, nil
}

// redact removes the URL's query, which contains the signature and
// credential scope, from text that is logged or returned to the caller.
func (t target) redact(text string) string {
	if t.rawQuery == "" {
		return text
	}
	return strings.ReplaceAll(text, t.rawQuery, "[query removed]")
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}

func contextReason(err error) string {
	if errors.Is(err, context.DeadlineExceeded) {
		return "the job's deadline passed"
	}
	return "the job was canceled"
}
