package storagetest

import (
	"encoding/xml"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// Credentials of FakeS3. gofakes3 accepts any signature, so these only
// have to be well-formed; tests check that they never leak into URLs or
// error messages.
const (
	FakeAccessKeyID     = "AKIAPRESSOTESTKEY000"
	FakeSecretAccessKey = "presso-fake-secret-access-key-0123456789"
)

// FakeS3 is an in-process S3 server on loopback: gofakes3 with its memory
// backend, behind a handler that records every request, can deny them all,
// and rejects presigned URLs whose X-Amz-Expires has passed on its clock.
// gofakes3 checks no signature and no expiry itself.
type FakeS3 struct {
	// URL is the server's base URL, the endpoint to give clients, which
	// must use path-style addressing.
	URL     string
	Backend *s3mem.Backend

	server *httptest.Server

	mu       sync.Mutex
	requests []RecordedRequest
	deny     *s3Error
	// denyMatch selects the requests that deny rejects; nil selects all.
	denyMatch func(r *http.Request) bool
	// clockOffset moves the clock that expiry checks use, in nanoseconds.
	clockOffset atomic.Int64
}

// RecordedRequest is the part of one request that FakeS3 records.
type RecordedRequest struct {
	Method string
	Path   string
	Query  url.Values
	Header http.Header
	// BodySize is the number of body bytes the server read.
	BodySize int64
}

type s3Error struct {
	XMLName   xml.Name `xml:"Error"`
	Code      string   `xml:"Code"`
	Message   string   `xml:"Message"`
	RequestID string   `xml:"RequestId"`
	status    int
}

// NewFakeS3 starts a FakeS3 with the given buckets, stopped when the test
// ends.
func NewFakeS3(t testing.TB, buckets ...string) *FakeS3 {
	t.Helper()
	f := &FakeS3{Backend: s3mem.New()}
	for _, bucket := range buckets {
		if err := f.Backend.CreateBucket(bucket); err != nil {
			t.Fatalf("creating bucket %s: %v", bucket, err)
		}
	}
	fake := gofakes3.New(f.Backend)
	f.server = httptest.NewServer(f.wrap(fake.Server()))
	t.Cleanup(f.server.Close)
	f.URL = f.server.URL
	return f
}

func (f *FakeS3) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		counter := &countingReader{r: r.Body}
		r.Body = struct {
			io.Reader
			io.Closer
		}{counter, r.Body}
		defer func() {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.requests = append(f.requests, RecordedRequest{
				Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(),
				Header: r.Header.Clone(), BodySize: counter.n,
			})
		}()

		f.mu.Lock()
		deny, match := f.deny, f.denyMatch
		f.mu.Unlock()
		if deny != nil && (match == nil || match(r)) {
			io.Copy(io.Discard, r.Body)
			writeS3Error(w, *deny)
			return
		}
		if f.expired(r.URL.Query()) {
			io.Copy(io.Discard, r.Body)
			writeS3Error(w, s3Error{Code: "AccessDenied", Message: "Request has expired", status: http.StatusForbidden})
			return
		}
		next.ServeHTTP(w, r)
	})
}

// expired reports whether query is a presigned query whose validity,
// X-Amz-Date plus X-Amz-Expires seconds, has passed on FakeS3's clock.
func (f *FakeS3) expired(query url.Values) bool {
	date, err := time.Parse("20060102T150405Z", query.Get("X-Amz-Date"))
	if err != nil {
		return false
	}
	seconds, err := strconv.Atoi(query.Get("X-Amz-Expires"))
	if err != nil {
		return false
	}
	return f.Now().After(date.Add(time.Duration(seconds) * time.Second))
}

func writeS3Error(w http.ResponseWriter, e s3Error) {
	e.RequestID = "FAKES3REQUEST"
	body, _ := xml.Marshal(e)
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(e.status)
	w.Write([]byte(xml.Header))
	w.Write(body)
}

// Now returns FakeS3's clock: the real time moved by AdvanceClock.
func (f *FakeS3) Now() time.Time {
	return time.Now().Add(time.Duration(f.clockOffset.Load()))
}

// AdvanceClock moves the clock that checks presigned URLs' expiry.
func (f *FakeS3) AdvanceClock(d time.Duration) {
	f.clockOffset.Add(int64(d))
}

// Deny makes FakeS3 reject every later request with status and an S3 XML
// error of code and message, as a store that revoked access would.
func (f *FakeS3) Deny(status int, code, message string) {
	f.DenyMatching(nil, status, code, message)
}

// DenyMatching is Deny for the later requests that match selects.
func (f *FakeS3) DenyMatching(match func(r *http.Request) bool, status int, code, message string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.deny = &s3Error{Code: code, Message: message, status: status}
	f.denyMatch = match
}

// Close stops the server, so that later requests find no listener.
func (f *FakeS3) Close() {
	f.server.Close()
}

// Requests returns the requests received so far.
func (f *FakeS3) Requests() []RecordedRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]RecordedRequest(nil), f.requests...)
}

// Object returns the content and metadata headers of a stored object,
// failing the test when it does not exist.
func (f *FakeS3) Object(t testing.TB, bucket, key string) ([]byte, map[string]string) {
	t.Helper()
	obj, err := f.Backend.GetObject(bucket, key, nil)
	if err != nil {
		t.Fatalf("object %s/%s: %v", bucket, key, err)
	}
	defer obj.Contents.Close()
	content, err := io.ReadAll(obj.Contents)
	if err != nil {
		t.Fatalf("reading object %s/%s: %v", bucket, key, err)
	}
	return content, obj.Metadata
}

// Keys returns the sorted keys of every object in bucket.
func (f *FakeS3) Keys(t testing.TB, bucket string) []string {
	t.Helper()
	list, err := f.Backend.ListBucket(bucket, nil, gofakes3.ListBucketPage{})
	if err != nil {
		t.Fatalf("listing bucket %s: %v", bucket, err)
	}
	var keys []string
	for _, content := range list.Contents {
		keys = append(keys, content.Key)
	}
	sort.Strings(keys)
	return keys
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
