package presigned

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestNonXMLErrorUsesStatusLine(t *testing.T) {
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no such route", http.StatusNotFound)
	}))
	defer server.Close()
	u := newTestUploader(t, fastConfig(), nil)

	_, err := u.Store(context.Background(), document(jobWithURL(server.URL+"/k"), []byte("document")))

	jobErr := assertStorageFailed(t, err)
	if !strings.HasSuffix(jobErr.Message, ": 404 Not Found") {
		t.Errorf("message %q does not end with the status line", jobErr.Message)
	}
}

func TestSignatureMismatchQuotesOnlyCodeAndMessage(t *testing.T) {
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusForbidden)
		io.WriteString(w, `<Error><Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated does not match the signature you provided.</Message><AWSAccessKeyId>AKIACALLER</AWSAccessKeyId><StringToSign>AWS4-HMAC-SHA256 secret-scope</StringToSign></Error>`)
	}))
	defer server.Close()
	u := newTestUploader(t, fastConfig(), nil)

	_, err := u.Store(context.Background(), document(jobWithURL(server.URL+"/k"), []byte("document")))

	jobErr := assertStorageFailed(t, err)
	if !strings.Contains(jobErr.Message, "SignatureDoesNotMatch: The request signature we calculated") {
		t.Errorf("message %q does not quote the code and message", jobErr.Message)
	}
	if strings.Contains(jobErr.Message, "AKIACALLER") || strings.Contains(jobErr.Message, "secret-scope") {
		t.Errorf("message %q quotes more of the error document than Code and Message", jobErr.Message)
	}
}

func TestBackoffGrowsAndCaps(t *testing.T) {
	u := newTestUploader(t, Config{InitialBackoff: 100 * time.Millisecond, MaxBackoff: time.Second}, nil)
	tests := []struct {
		attempt  int
		min, max time.Duration
	}{
		{1, 50 * time.Millisecond, 100 * time.Millisecond},
		{2, 100 * time.Millisecond, 200 * time.Millisecond},
		{3, 200 * time.Millisecond, 400 * time.Millisecond},
		{10, 500 * time.Millisecond, time.Second},
		{100, 500 * time.Millisecond, time.Second},
	}
	for _, tt := range tests {
		for range 20 {
			if pause := u.backoff(tt.attempt); pause <= tt.min || pause > tt.max {
				t.Errorf("backoff(%d) = %s, want in (%s, %s]", tt.attempt, pause, tt.min, tt.max)
			}
		}
	}
}

func TestTransportFailureClassified(t *testing.T) {
	resolverAddr := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 53), Port: 53}
	tests := []struct {
		name   string
		err    error
		retry  bool
		reason string
	}{
		{"unknown host", &net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Name: "bucket.example.test", Server: resolverAddr.String(), IsNotFound: true}}, false, "host bucket.example.test not found"},
		{"resolver failure", &net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Name: "bucket.example.test", Server: resolverAddr.String(), IsTemporary: true}}, true, "resolving host bucket.example.test failed"},
		{"connection refused", &net.OpError{Op: "dial", Net: "tcp", Addr: resolverAddr, Err: errors.New("connect: connection refused")}, true, "network error: dial: connect: connection refused"},
		{"connection reset", io.ErrUnexpectedEOF, true, "unexpected EOF"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wrapped := &url.Error{Op: "Put", URL: "https://bucket.example.test/k?X-Amz-Signature=topsecret", Err: tt.err}

			result := transportFailure(context.Background(), wrapped)

			if result.retry != tt.retry {
				t.Errorf("retry = %t, want %t", result.retry, tt.retry)
			}
			if got := result.err.Error(); got != tt.reason {
				t.Errorf("reason = %q, want %q", got, tt.reason)
			}
		})
	}
}
