package webhook

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/presso-dev/presso/engine"
)

// Two valid secrets of the "acme" key and one of no key, fixed so that a
// failure can be reproduced.
var (
	firstSecret  = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	secondSecret = "whsec_c2Vjb25kLXNlY3JldC1mb3ItdGVzdHMtb25seQ=="
	otherSecret  = "whsec_b3RoZXItc2VjcmV0LW5vdC1vZi10aGlzLWtleQ=="
)

// staticConfig is an engine.ConfigSource that copies a whole prepared
// struct into the output for each known path.
type staticConfig map[string]any

func (c staticConfig) Unmarshal(path string, out any) error {
	if value, ok := c[path]; ok {
		reflect.ValueOf(out).Elem().Set(reflect.ValueOf(value))
	}
	return nil
}

// receivedCall is what a test receiver saw of one call.
type receivedCall struct {
	Method string
	Header http.Header
	Body   []byte
}

// receiver is a loopback webhook receiver that records every call and
// responds with respond.
type receiver struct {
	*httptest.Server
	mu    sync.Mutex
	calls []receivedCall
}

func newReceiver(t *testing.T, respond http.HandlerFunc) *receiver {
	t.Helper()
	r := &receiver{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.calls = append(r.calls, receivedCall{Method: req.Method, Header: req.Header.Clone(), Body: body})
		r.mu.Unlock()
		if respond == nil {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		respond(w, req)
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) Calls() []receivedCall {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]receivedCall(nil), r.calls...)
}

// onlyCall returns the single call the receiver got.
func (r *receiver) onlyCall(t *testing.T) receivedCall {
	t.Helper()
	calls := r.Calls()
	if len(calls) != 1 {
		t.Fatalf("receiver got %d calls, want 1", len(calls))
	}
	return calls[0]
}

func testKeyring(t *testing.T) *engine.Keyring {
	t.Helper()
	keys, err := engine.NewKeyring([]engine.APIKey{{
		Name:           "acme",
		Key:            "acme-token",
		SigningSecret:  firstSecret,
		SigningSecrets: []string{secondSecret},
	}}, "")
	if err != nil {
		t.Fatalf("NewKeyring: %v", err)
	}
	return keys
}

// newTestNotifier returns a notifier whose log goes to logs, or to the
// test output when logs is nil.
func newTestNotifier(t *testing.T, timeout time.Duration, logs *bytes.Buffer) *Notifier {
	t.Helper()
	var handler slog.Handler = slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug})
	if logs != nil {
		handler = slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})
	}
	n, err := NewWithConfig(Config{Timeout: timeout}, testKeyring(t), slog.New(handler))
	if err != nil {
		t.Fatalf("NewWithConfig: %v", err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

func testDelivery(url, method string, headers map[string]string) *engine.Delivery {
	return &engine.Delivery{
		JobID:     "5f1c8d2e-7a41-4c3b-9e0f-2b6d8a9c1e47",
		RequestID: "doppioreq_0b9cd1de-38a9-4f9a-9f4a-2a1c1f0e5b7d",
		Key:       "acme",
		Webhook:   engine.Webhook{URL: url, Method: method, Headers: headers},
		Payload: engine.Payload{
			DoppioRequestID: "doppioreq_0b9cd1de-38a9-4f9a-9f4a-2a1c1f0e5b7d",
			RenderStatus:    engine.StatusSuccess,
			DocumentURL:     "http://127.0.0.1:8080/v1/documents/doppioreq_0b9cd1de-38a9-4f9a-9f4a-2a1c1f0e5b7d-1764877200000.pdf?expires=1&signature=ab",
			IsAsync:         true,
		},
		Attempt: 1,
	}
}
