package presigned

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/presso-dev/presso/engine/outbound"
)

// maxErrorBody caps how much of a response body is read, for the error
// document and to let the connection be reused.
const maxErrorBody = 64 << 10

// maxReasonLength caps the store's message quoted in a job error.
const maxReasonLength = 300

// statusFailure is a response outside 2xx.
type statusFailure struct {
	status int
	// code and message come from an S3 XML error document, when present.
	code, message string
}

func (f *statusFailure) Error() string {
	line := fmt.Sprintf("%d %s", f.status, http.StatusText(f.status))
	if f.code == "" {
		return line
	}
	if f.message == "" {
		return line + ": " + f.code
	}
	return line + ": " + f.code + ": " + f.message
}

// retryable reports whether the same request may succeed later: server
// errors, 408 Request Timeout, 429 Too Many Requests, and S3's 400
// RequestTimeout for a connection that went idle mid-upload. Other 4xx
// (an expired or denied URL) and 3xx stay as they are.
func (f *statusFailure) retryable() bool {
	switch {
	case f.status >= 500:
		return true
	case f.status == http.StatusRequestTimeout, f.status == http.StatusTooManyRequests:
		return true
	case f.code == "RequestTimeout":
		return true
	}
	return false
}

// readFailure reads the error of a non-2xx response. Only Code and Message
// are taken from an S3 error document: its other fields, such as
// StringToSign or CanonicalRequest on a signature mismatch, echo the
// request.
func readFailure(resp *http.Response) *statusFailure {
	failure := &statusFailure{status: resp.StatusCode}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	if !bytes.Contains(body, []byte("<Error")) {
		return failure
	}
	var document struct {
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
	}
	if xml.Unmarshal(body, &document) == nil {
		failure.code = clean(document.Code)
		failure.message = clean(document.Message)
	}
	return failure
}

// clean collapses whitespace and caps the length of a store's text.
func clean(text string) string {
	text = strings.Join(strings.Fields(text), " ")
	if len(text) > maxReasonLength {
		text = text[:maxReasonLength] + "…"
	}
	return text
}

// transportFailure classifies an error from http.Client.Do, which never
// reached a response. Its text omits the URL that net/http puts in
// *url.Error, because that URL carries the signature.
func transportFailure(ctx context.Context, err error) attemptResult {
	var urlErr *url.Error
	if errors.As(err, &urlErr) {
		err = urlErr.Err
	}
	switch {
	case ctx.Err() != nil && errors.Is(context.Cause(ctx), context.DeadlineExceeded):
		// Either the attempt's own timeout or the job's deadline; the
		// retry loop stops in the second case.
		return attemptResult{err: errors.New("the attempt timed out"), retry: true}
	case errors.Is(err, context.Canceled):
		return attemptResult{err: errors.New("canceled")}
	}
	// A refusal of the outbound guard stays a refusal, so it ends the job
	// at once like a 4xx.
	var denied *outbound.DeniedError
	if errors.As(err, &denied) {
		return attemptResult{err: denied}
	}
	// A DNS error comes wrapped in a dial *net.OpError, so it is checked
	// first. Neither text below names the resolver or the dialed address.
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		if dnsErr.IsNotFound {
			return attemptResult{err: fmt.Errorf("host %s not found", dnsErr.Name)}
		}
		return attemptResult{err: fmt.Errorf("resolving host %s failed", dnsErr.Name), retry: true}
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) {
		return attemptResult{err: fmt.Errorf("network error: %s: %v", opErr.Op, opErr.Err), retry: true}
	}
	return attemptResult{err: err, retry: true}
}

// sharedBody hands out one reader of the document per attempt. Each reader
// seeks to its own position under a lock before every read, because
// net/http may still read an abandoned attempt's body after Do returns.
type sharedBody struct {
	mu sync.Mutex
	rs io.ReadSeeker
}

func (b *sharedBody) reader(size int64) io.ReadCloser {
	return &attemptReader{shared: b, size: size}
}

// attemptReader reads the document from its start. Its Close does not
// close the document, whose owner is the worker.
type attemptReader struct {
	shared *sharedBody
	pos    int64
	size   int64
}

func (r *attemptReader) Read(p []byte) (int, error) {
	if r.pos >= r.size {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), r.size-r.pos)]

	r.shared.mu.Lock()
	defer r.shared.mu.Unlock()
	if _, err := r.shared.rs.Seek(r.pos, io.SeekStart); err != nil {
		return 0, err
	}
	n, err := r.shared.rs.Read(p)
	r.pos += int64(n)
	if errors.Is(err, io.EOF) && r.pos < r.size {
		// The file is shorter than when Store measured it.
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

func (r *attemptReader) Close() error { return nil }
