package s3

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/presso-dev/presso/engine"
	"github.com/presso-dev/presso/storages/storagetest"
)

func TestStoreDownloadThroughPresignedURL(t *testing.T) {
	fake := storagetest.NewFakeS3(t, testBucket)
	s := newTestStorage(t, fakeConfig(fake, testBucket))
	job := attachmentJob()
	content := []byte("RIFF....WEBPVP8 image bytes")

	stored := store(t, s, job, content)

	u, err := url.Parse(stored.URL)
	if err != nil {
		t.Fatalf("documentUrl %q does not parse: %v", stored.URL, err)
	}
	if got, want := u.Scheme+"://"+u.Host+u.Path, fake.URL+"/"+testBucket+"/"+stored.Key; got != want {
		t.Errorf("documentUrl without query = %q, want %q", got, want)
	}
	if u.Query().Get("X-Amz-Signature") == "" {
		t.Errorf("documentUrl %s is not presigned", stored.URL)
	}
	if strings.Contains(stored.URL, storagetest.FakeSecretAccessKey) {
		t.Error("documentUrl contains the secret access key")
	}

	resp, err := http.Get(stored.URL)
	if err != nil {
		t.Fatalf("GET documentUrl: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET documentUrl returned %d: %s", resp.StatusCode, body)
	}
	if !bytes.Equal(body, content) {
		t.Errorf("body = %q, want %q", body, content)
	}
	if got := resp.Header.Get("Content-Type"); got != "image/webp" {
		t.Errorf("Content-Type = %q, want image/webp", got)
	}
	if got, want := resp.Header.Get("Content-Disposition"), `attachment; filename="`+job.RequestID+`.webp"`; got != want {
		t.Errorf("Content-Disposition = %q, want %q", got, want)
	}
}

func TestObjectKeyHasPrefixRequestIDAndTime(t *testing.T) {
	fake := storagetest.NewFakeS3(t, testBucket)
	cfg := fakeConfig(fake, testBucket)
	cfg.Prefix = "tenants/acme/"
	s := newTestStorage(t, cfg)
	job := pdfJob()

	stored := store(t, s, job, []byte("%PDF"))

	want := "tenants/acme/" + job.RequestID + "-" + strconv.FormatInt(job.CreatedAt.UnixMilli(), 10) + ".pdf"
	if stored.Key != want {
		t.Errorf("Key = %q, want %q", stored.Key, want)
	}
	if stored.IsCustomBucket {
		t.Error("IsCustomBucket = true for the default bucket")
	}
	if keys := fake.Keys(t, testBucket); len(keys) != 1 || keys[0] != want {
		t.Errorf("bucket contains %v, want only %s", keys, want)
	}
}

func TestPublicBaseURLGivesBaseAndKey(t *testing.T) {
	fake := storagetest.NewFakeS3(t, testBucket)
	cfg := fakeConfig(fake, testBucket)
	cfg.PublicBaseURL = "https://cdn.example.test/docs/"
	cfg.Prefix = "out/"
	s := newTestStorage(t, cfg)

	stored := store(t, s, pdfJob(), []byte("%PDF"))

	if want := "https://cdn.example.test/docs/" + stored.Key; stored.URL != want {
		t.Errorf("URL = %q, want %q", stored.URL, want)
	}
}

func TestSmallDocumentUsesOnePut(t *testing.T) {
	fake := storagetest.NewFakeS3(t, testBucket)
	s := newTestStorage(t, fakeConfig(fake, testBucket))
	job := pdfJob()
	content := bytes.Repeat([]byte("p"), 1000)

	stored := store(t, s, job, content)

	puts := requestsTo(fake, http.MethodPut, stored.Key)
	if len(puts) != 1 {
		t.Fatalf("%d PUT requests, want 1 PutObject", len(puts))
	}
	if puts[0].Query.Has("uploadId") {
		t.Error("a 1000-byte document went up as a multipart upload")
	}
	if got := puts[0].Header.Get("Content-Type"); got != "application/pdf" {
		t.Errorf("Content-Type = %q, want application/pdf", got)
	}
	if got := puts[0].Header.Get("Content-Disposition"); got != job.ContentDisposition() {
		t.Errorf("Content-Disposition = %q, want %q", got, job.ContentDisposition())
	}
}

func TestLargeDocumentUploadsInParts(t *testing.T) {
	fake := storagetest.NewFakeS3(t, testBucket)
	cfg := fakeConfig(fake, testBucket)
	cfg.PartSize = MinPartSize
	s := newTestStorage(t, cfg)
	job := attachmentJob()
	content := bytes.Repeat([]byte("0123456789abcdef"), (2*MinPartSize+1000)/16)

	stored := store(t, s, job, content)

	var created, parts, completed int
	var partSizes []int64
	for _, req := range requestsTo(fake, "", stored.Key) {
		switch {
		case req.Method == http.MethodPost && req.Query.Has("uploads"):
			created++
			if got := req.Header.Get("Content-Type"); got != "image/webp" {
				t.Errorf("CreateMultipartUpload Content-Type = %q, want image/webp", got)
			}
			if got := req.Header.Get("Content-Disposition"); got != job.ContentDisposition() {
				t.Errorf("CreateMultipartUpload Content-Disposition = %q, want %q", got, job.ContentDisposition())
			}
		case req.Method == http.MethodPut && req.Query.Has("partNumber"):
			parts++
			partSizes = append(partSizes, req.BodySize)
		case req.Method == http.MethodPost && req.Query.Has("uploadId"):
			completed++
		}
	}
	if created != 1 || parts != 3 || completed != 1 {
		t.Errorf("%d create, %d part and %d complete requests, want 1, 3 and 1", created, parts, completed)
	}
	if len(partSizes) == 3 && (partSizes[0] != MinPartSize || partSizes[1] != MinPartSize || partSizes[2] != int64(len(content))-2*MinPartSize) {
		t.Errorf("part sizes = %v, want two of %d and the rest", partSizes, MinPartSize)
	}
	object, meta := fake.Object(t, testBucket, stored.Key)
	if !bytes.Equal(object, content) {
		t.Errorf("stored object has %d bytes that differ from the %d sent", len(object), len(content))
	}
	if meta["Content-Type"] != "image/webp" {
		t.Errorf("object Content-Type = %q, want image/webp", meta["Content-Type"])
	}
}

func TestFailedPartAbortsUpload(t *testing.T) {
	fake := storagetest.NewFakeS3(t, testBucket)
	cfg := fakeConfig(fake, testBucket)
	cfg.PartSize = MinPartSize
	s := newTestStorage(t, cfg)
	fake.DenyMatching(func(r *http.Request) bool { return r.URL.Query().Get("partNumber") == "2" },
		http.StatusForbidden, "AccessDenied", "Access Denied")
	content := make([]byte, 2*MinPartSize+1)

	_, err := s.Store(context.Background(), engine.Document{Job: pdfJob(), Body: bytes.NewReader(content), Size: int64(len(content))})

	jobErr := assertStorageFailed(t, err)
	if !strings.Contains(jobErr.Message, "UploadPart: AccessDenied") {
		t.Errorf("message %q does not name UploadPart and the store's reason", jobErr.Message)
	}
	aborted := false
	for _, req := range fake.Requests() {
		if req.Method == http.MethodDelete && req.Query.Has("uploadId") {
			aborted = true
		}
	}
	if !aborted {
		t.Error("no AbortMultipartUpload after a failed part")
	}
	if keys := fake.Keys(t, testBucket); len(keys) != 0 {
		t.Errorf("bucket contains %v after a failed upload", keys)
	}
}

func TestServerSideEncryptionHeadersSent(t *testing.T) {
	fake := storagetest.NewFakeS3(t, testBucket)
	cfg := fakeConfig(fake, testBucket)
	cfg.ServerSideEncryption = SSEKMS
	cfg.SSEKMSKeyID = "alias/presso-documents"
	s := newTestStorage(t, cfg)

	stored := store(t, s, pdfJob(), []byte("%PDF"))

	puts := requestsTo(fake, http.MethodPut, stored.Key)
	if len(puts) != 1 {
		t.Fatalf("%d PUT requests, want 1", len(puts))
	}
	if got := puts[0].Header.Get("X-Amz-Server-Side-Encryption"); got != "aws:kms" {
		t.Errorf("x-amz-server-side-encryption = %q, want aws:kms", got)
	}
	if got := puts[0].Header.Get("X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id"); got != "alias/presso-documents" {
		t.Errorf("x-amz-server-side-encryption-aws-kms-key-id = %q, want alias/presso-documents", got)
	}
}

func TestMissingBucketNamesBucketAndEndpoint(t *testing.T) {
	fake := storagetest.NewFakeS3(t, testBucket)

	_, err := NewWithConfig(context.Background(), fakeConfig(fake, "invoices"), testLogger(t))

	if err == nil {
		t.Fatal("NewWithConfig succeeded for a missing bucket")
	}
	want := `storage.s3.bucket "invoices" does not exist at endpoint ` + fake.URL + `: create it or fix the name`
	if err.Error() != want {
		t.Errorf("error = %q, want %q", err, want)
	}
}

func TestAccessDeniedAtStartup(t *testing.T) {
	fake := storagetest.NewFakeS3(t, testBucket)
	fake.Deny(http.StatusForbidden, "AccessDenied", "Access Denied")

	_, err := NewWithConfig(context.Background(), fakeConfig(fake, testBucket), testLogger(t))

	if err == nil || !strings.Contains(err.Error(), "access denied") || !strings.Contains(err.Error(), `"documents"`) {
		t.Errorf("error = %v, want access denied naming the bucket", err)
	}
	if err != nil && strings.Contains(err.Error(), storagetest.FakeSecretAccessKey) {
		t.Error("error contains the secret access key")
	}
}

func TestWrongRegionAtStartup(t *testing.T) {
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Amz-Bucket-Region", "eu-west-1")
		w.WriteHeader(http.StatusMovedPermanently)
	}))
	defer server.Close()
	cfg := Config{Bucket: testBucket, Endpoint: server.URL, PathStyle: true,
		AccessKeyID: storagetest.FakeAccessKeyID, SecretAccessKey: storagetest.FakeSecretAccessKey}

	_, err := NewWithConfig(context.Background(), cfg, testLogger(t))

	if err == nil || !strings.Contains(err.Error(), "storage.s3.region") || !strings.Contains(err.Error(), "eu-west-1") {
		t.Errorf("error = %v, want one naming storage.s3.region and the bucket's region eu-west-1", err)
	}
}

func TestUnreachableStoreHidesAddress(t *testing.T) {
	fake := storagetest.NewFakeS3(t, testBucket)
	s := newTestStorage(t, fakeConfig(fake, testBucket))
	fake.Close()
	host := strings.TrimPrefix(fake.URL, "http://")

	_, err := s.Store(context.Background(), engine.Document{Job: pdfJob(), Body: bytes.NewReader([]byte("x")), Size: 1})

	jobErr := assertStorageFailed(t, err)
	if !strings.Contains(jobErr.Message, "connection refused") {
		t.Errorf("message %q does not give the network error", jobErr.Message)
	}
	if strings.Contains(jobErr.Message, host) {
		t.Errorf("message %q reveals the endpoint address %s", jobErr.Message, host)
	}
}

func TestCanceledContextFails(t *testing.T) {
	fake := storagetest.NewFakeS3(t, testBucket)
	s := newTestStorage(t, fakeConfig(fake, testBucket))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()

	_, err := s.Store(ctx, engine.Document{Job: pdfJob(), Body: bytes.NewReader([]byte("x")), Size: 1})

	jobErr := assertStorageFailed(t, err)
	if !strings.Contains(jobErr.Message, "canceled") {
		t.Errorf("message %q does not say the upload was canceled", jobErr.Message)
	}
	if keys := fake.Keys(t, testBucket); len(keys) != 0 {
		t.Errorf("bucket contains %v after a canceled Store", keys)
	}
}

func TestUnsafeRequestIDRejected(t *testing.T) {
	fake := storagetest.NewFakeS3(t, testBucket)
	s := newTestStorage(t, fakeConfig(fake, testBucket))
	job := pdfJob()
	job.RequestID = "../other?x=1"

	_, err := s.Store(context.Background(), engine.Document{Job: job, Body: bytes.NewReader([]byte("x")), Size: 1})

	assertStorageFailed(t, err)
}

func TestEscapeKeyKeepsSlashes(t *testing.T) {
	if got, want := escapeKey("a b/c#d/e.pdf"), "a%20b/c%23d/e.pdf"; got != want {
		t.Errorf("escapeKey = %q, want %q", got, want)
	}
}

// requestsTo returns the requests with method (any when empty) whose path
// ends with key.
func requestsTo(fake *storagetest.FakeS3, method, key string) []storagetest.RecordedRequest {
	var matched []storagetest.RecordedRequest
	for _, req := range fake.Requests() {
		if (method == "" || req.Method == method) && strings.HasSuffix(req.Path, "/"+key) {
			matched = append(matched, req)
		}
	}
	return matched
}

func assertStorageFailed(t *testing.T, err error) *engine.JobError {
	t.Helper()
	var jobErr *engine.JobError
	if !errors.As(err, &jobErr) {
		t.Fatalf("error = %v, want a *engine.JobError", err)
	}
	if jobErr.Code != engine.CodeStorageFailed {
		t.Errorf("code = %q, want %q", jobErr.Code, engine.CodeStorageFailed)
	}
	return jobErr
}
