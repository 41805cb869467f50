package storagetest

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/presso-dev/presso/engine"
)

// Target is one storage under test, with the means to check what it
// stored. Fields other than Storage are optional.
type Target struct {
	// Storage is the implementation under test. The factory closes it,
	// typically with t.Cleanup.
	Storage engine.Storage
	// Features lists what the storage promises beyond the common contract.
	Features Features

	// PrepareJob, when set, adjusts each new job once, before it is first
	// stored, for a storage that needs input from the request such as a
	// presigned URL or an API key with its own bucket.
	PrepareJob func(t *testing.T, job *engine.Job)
	// Fetch returns the response to a download of a stored document. Nil:
	// an HTTP GET of stored.URL.
	Fetch func(t *testing.T, stored engine.StoredDocument) *http.Response
	// Fail makes every later Store fail the way the backing store fails in
	// production: access denied, unreachable, or not writable. Required.
	Fail func(t *testing.T)
	// FailureReason is a part of the store's reason that the job error of
	// a failed Store must quote, such as "AccessDenied". Empty: no check.
	FailureReason string
	// Secrets are strings that must appear in no documentUrl's path and
	// in no error message: credentials and signatures.
	Secrets []string

	// URLTTL is how long a documentUrl stays valid; zero when it does not
	// expire. The suite checks the expiry written in the URL, X-Amz-Expires
	// for SigV4 presigned URLs or expires (unix seconds) for the local
	// storage's signed ones.
	URLTTL time.Duration
	// AdvanceClock, when set, moves the clock that decides whether a URL
	// has expired, so that the suite can check that an expired URL is
	// refused.
	AdvanceClock func(d time.Duration)

	// OpenMissingBucket, when set, builds the storage against a bucket that
	// does not exist and returns that bucket's name and the start-up error.
	OpenMissingBucket func(t *testing.T) (bucket string, err error)
}

// Features are promises that only some storages make.
type Features struct {
	// ContentHeaders: a download returns the job's Content-Type and
	// Content-Disposition. A presigned upload stores
	// application/octet-stream and cannot set them.
	ContentHeaders bool
	// CustomBucket: results have IsCustomBucket true; else it must be false.
	CustomBucket bool
}

// Run checks the engine.Storage contract against the targets that factory
// builds, a fresh one for each subtest.
func Run(t *testing.T, factory func(t *testing.T) Target) {
	tests := []struct {
		name string
		run  func(t *testing.T, target Target)
	}{
		{"StoreThenFetch", testStoreThenFetch},
		{"ContentHeadersInline", testContentHeadersInline},
		{"ContentHeadersAttachment", testContentHeadersAttachment},
		{"LargeDocument", testLargeDocument},
		{"BodyReadFromStart", testBodyReadFromStart},
		{"SameJobSameKey", testSameJobSameKey},
		{"ConcurrentStores", testConcurrentStores},
		{"URLExpiry", testURLExpiry},
		{"MissingBucket", testMissingBucket},
		{"SizeMismatchFails", testSizeMismatchFails},
		{"FailureReported", testFailureReported},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.run(t, factory(t))
		})
	}
}

func testStoreThenFetch(t *testing.T, target Target) {
	job := prepare(t, target, pdfJob())
	content := randomBytes(64 << 10)

	stored := mustStore(t, target, job, content)

	if stored.URL == "" || stored.Key == "" {
		t.Fatalf("Store returned URL %q and key %q, want both set", stored.URL, stored.Key)
	}
	if stored.IsCustomBucket != target.Features.CustomBucket {
		t.Errorf("IsCustomBucket = %t, want %t", stored.IsCustomBucket, target.Features.CustomBucket)
	}
	body, _ := fetchOK(t, target, stored)
	if !bytes.Equal(body, content) {
		t.Errorf("fetched %d bytes that differ from the %d stored", len(body), len(content))
	}
	assertNoSecrets(t, target, "documentUrl path", withoutQuery(stored.URL))
}

func testContentHeadersInline(t *testing.T, target Target) {
	checkContentHeaders(t, target, prepare(t, target, pdfJob()))
}

func testContentHeadersAttachment(t *testing.T, target Target) {
	checkContentHeaders(t, target, prepare(t, target, jpegAttachmentJob()))
}

func checkContentHeaders(t *testing.T, target Target, job *engine.Job) {
	if !target.Features.ContentHeaders {
		t.Skip("the storage does not keep the document's Content-Type and Content-Disposition")
	}
	stored := mustStore(t, target, job, []byte("document of type "+job.ContentType()))

	_, header := fetchOK(t, target, stored)

	if got, want := header.Get("Content-Type"), job.ContentType(); got != want {
		t.Errorf("Content-Type = %q, want %q", got, want)
	}
	if got, want := header.Get("Content-Disposition"), job.ContentDisposition(); got != want {
		t.Errorf("Content-Disposition = %q, want %q", got, want)
	}
}

// testLargeDocument stores more than two parts' worth at S3's minimum part
// size, so that storages that upload in parts do so.
func testLargeDocument(t *testing.T, target Target) {
	content := randomBytes(11<<20 + 12345)

	stored := mustStore(t, target, prepare(t, target, pdfJob()), content)

	body, _ := fetchOK(t, target, stored)
	if !bytes.Equal(body, content) {
		t.Errorf("fetched %d bytes that differ from the %d stored", len(body), len(content))
	}
}

// testBodyReadFromStart stores a body positioned mid-way, as a failed
// earlier attempt would leave it.
func testBodyReadFromStart(t *testing.T, target Target) {
	content := []byte("the whole document, not its tail")
	body := bytes.NewReader(content)
	body.Seek(10, io.SeekStart)
	job := prepare(t, target, pdfJob())

	stored, err := target.Storage.Store(context.Background(), engine.Document{Job: job, Body: body, Size: int64(len(content))})
	if err != nil {
		t.Fatalf("Store: %v", err)
	}

	fetched, _ := fetchOK(t, target, stored)
	if !bytes.Equal(fetched, content) {
		t.Errorf("fetched %q, want %q", fetched, content)
	}
}

func testSameJobSameKey(t *testing.T, target Target) {
	job := prepare(t, target, pdfJob())

	first := mustStore(t, target, job, []byte("first render"))
	second := mustStore(t, target, job, []byte("second render"))

	if first.Key != second.Key {
		t.Errorf("keys differ: %q then %q", first.Key, second.Key)
	}
	// Presigned URLs carry their signing time, so only the part before
	// the query has to match.
	if withoutQuery(first.URL) != withoutQuery(second.URL) {
		t.Errorf("URLs differ: %q then %q", withoutQuery(first.URL), withoutQuery(second.URL))
	}
	body, _ := fetchOK(t, target, second)
	if string(body) != "second render" {
		t.Errorf("fetched %q, want the second render", body)
	}
}

func testConcurrentStores(t *testing.T, target Target) {
	const stores = 4
	jobs := make([]*engine.Job, stores)
	results := make([]engine.StoredDocument, stores)
	errs := make([]error, stores)
	for i := range stores {
		jobs[i] = prepare(t, target, pdfJob())
	}
	var wg sync.WaitGroup
	for i := range stores {
		wg.Go(func() {
			content := []byte("document " + strconv.Itoa(i))
			results[i], errs[i] = target.Storage.Store(context.Background(), document(jobs[i], content))
		})
	}
	wg.Wait()

	for i := range stores {
		if errs[i] != nil {
			t.Errorf("Store %d: %v", i, errs[i])
			continue
		}
		body, _ := fetchOK(t, target, results[i])
		if want := "document " + strconv.Itoa(i); string(body) != want {
			t.Errorf("document %d fetched as %q, want %q", i, body, want)
		}
	}
}

func testURLExpiry(t *testing.T, target Target) {
	if target.URLTTL == 0 {
		t.Skip("the storage's documentUrl does not expire")
	}
	stored := mustStore(t, target, prepare(t, target, pdfJob()), []byte("expiring"))
	u, err := url.Parse(stored.URL)
	if err != nil {
		t.Fatalf("documentUrl %q does not parse: %v", stored.URL, err)
	}
	query := u.Query()

	switch {
	case query.Has("X-Amz-Expires"):
		if got, want := query.Get("X-Amz-Expires"), strconv.Itoa(int(target.URLTTL.Seconds())); got != want {
			t.Errorf("X-Amz-Expires = %s, want %s (the URL TTL %s)", got, want, target.URLTTL)
		}
		signed, err := time.Parse("20060102T150405Z", query.Get("X-Amz-Date"))
		if err != nil || time.Since(signed).Abs() > time.Minute {
			t.Errorf("X-Amz-Date = %q, want the time of the Store call", query.Get("X-Amz-Date"))
		}
	case query.Has("expires"):
		expires, err := strconv.ParseInt(query.Get("expires"), 10, 64)
		want := time.Now().Add(target.URLTTL)
		if err != nil || time.Unix(expires, 0).Sub(want).Abs() > time.Minute {
			t.Errorf("expires = %q, want about %d (now plus %s)", query.Get("expires"), want.Unix(), target.URLTTL)
		}
	default:
		t.Fatalf("documentUrl %s carries no expiry, want X-Amz-Expires or expires", withoutQuery(stored.URL))
	}

	if target.AdvanceClock == nil {
		return
	}
	fetchOK(t, target, stored)
	target.AdvanceClock(target.URLTTL + time.Second)
	resp := fetch(t, target, stored)
	resp.Body.Close()
	if resp.StatusCode < 400 || resp.StatusCode >= 500 {
		t.Errorf("an expired documentUrl returned status %d, want a 4xx refusal", resp.StatusCode)
	}
}

func testMissingBucket(t *testing.T, target Target) {
	if target.OpenMissingBucket == nil {
		t.Skip("the target opens no missing bucket")
	}
	bucket, err := target.OpenMissingBucket(t)

	if err == nil {
		t.Fatalf("opening missing bucket %q succeeded, want an error", bucket)
	}
	if !strings.Contains(err.Error(), strconv.Quote(bucket)) {
		t.Errorf("error %q does not name bucket %q", err, bucket)
	}
	if !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("error %q does not say that the bucket does not exist", err)
	}
}

// testSizeMismatchFails stores a body shorter than its stated size, as a
// truncated temporary file would be.
func testSizeMismatchFails(t *testing.T, target Target) {
	job := prepare(t, target, pdfJob())

	_, err := target.Storage.Store(context.Background(), engine.Document{Job: job, Body: bytes.NewReader([]byte("short")), Size: 100})

	assertStorageFailed(t, err)
}

func testFailureReported(t *testing.T, target Target) {
	if target.Fail == nil {
		t.Fatal("Target.Fail is nil: every storage must show how it reports a failing store")
	}
	job := prepare(t, target, pdfJob())
	target.Fail(t)

	_, err := target.Storage.Store(context.Background(), document(job, []byte("never stored")))

	jobErr := assertStorageFailed(t, err)
	if jobErr == nil {
		return
	}
	if target.FailureReason != "" && !strings.Contains(jobErr.Message, target.FailureReason) {
		t.Errorf("message %q does not quote the store's reason %q", jobErr.Message, target.FailureReason)
	}
	assertNoSecrets(t, target, "job error", jobErr.Message)
}
