package verify_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/presso-dev/presso/engine"
	"github.com/presso-dev/presso/notifiers/webhook"
	"github.com/presso-dev/presso/notifiers/webhook/verify"
)

// Fixed secrets, so that a failure can be reproduced: the first and second
// secret of a key being rotated, and a secret of no key.
var (
	firstSecret  = "whsec_" + base64.StdEncoding.EncodeToString([]byte("first secret of the acme key.."))
	secondSecret = "whsec_" + base64.StdEncoding.EncodeToString([]byte("second secret of the acme key."))
	otherSecret  = "whsec_" + base64.StdEncoding.EncodeToString([]byte("a secret that belongs to no key"))
)

const (
	testJobID     = "5f1c8d2e-7a41-4c3b-9e0f-2b6d8a9c1e47"
	testRequestID = "doppioreq_0b9cd1de-38a9-4f9a-9f4a-2a1c1f0e5b7d"
	tolerance     = 5 * time.Minute
)

// call is one webhook call as the receiver got it, and what VerifyRequest
// returned for it there.
type call struct {
	method    string
	header    http.Header
	body      []byte
	verifyErr error
}

// deliver makes one call with Presso's notifier, signing with keySecrets,
// to a loopback receiver that checks it with VerifyRequest and
// receiverSecrets. It returns the call and the notifier's attempt.
func deliver(t *testing.T, method string, keySecrets, receiverSecrets []string) (call, engine.Attempt) {
	t.Helper()
	var (
		mu       sync.Mutex
		received []call
	)
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("receiver: reading the body failed: %v", err)
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		_, verifyErr := verify.VerifyRequest(r, receiverSecrets, tolerance)

		mu.Lock()
		received = append(received, call{r.Method, r.Header.Clone(), body, verifyErr})
		mu.Unlock()
		if verifyErr != nil {
			http.Error(w, verifyErr.Error(), http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(server.Close)

	keys, err := engine.NewKeyring([]engine.APIKey{{
		Name:           "acme",
		Key:            "acme-token",
		SigningSecret:  keySecrets[0],
		SigningSecrets: keySecrets[1:],
	}}, "")
	if err != nil {
		t.Fatalf("NewKeyring: %v", err)
	}
	notifier, err := webhook.NewWithConfig(webhook.Config{Timeout: 5 * time.Second}, keys, slog.New(slog.NewTextHandler(t.Output(), nil)))
	if err != nil {
		t.Fatalf("NewWithConfig: %v", err)
	}
	t.Cleanup(func() { notifier.Close() })

	attempt := notifier.Deliver(context.Background(), &engine.Delivery{
		JobID:     testJobID,
		RequestID: testRequestID,
		Key:       "acme",
		Webhook:   engine.Webhook{URL: server.URL + "/hooks/presso", Method: method},
		Payload: engine.Payload{
			DoppioRequestID: testRequestID,
			RenderStatus:    engine.StatusSuccess,
			DocumentURL:     "http://127.0.0.1:8080/v1/documents/" + testRequestID + "-1764877200000.pdf",
			IsAsync:         true,
		},
		Attempt: 1,
	})

	mu.Lock()
	defer mu.Unlock()
	if len(received) != 1 {
		t.Fatalf("receiver got %d calls, want 1 (attempt %+v)", len(received), attempt)
	}
	return received[0], attempt
}

func TestNotifierCallVerifies(t *testing.T) {
	for _, method := range []string{"POST", "PUT", "PATCH"} {
		t.Run(method, func(t *testing.T) {
			got, attempt := deliver(t, method, []string{firstSecret}, []string{firstSecret})

			if got.verifyErr != nil {
				t.Errorf("VerifyRequest: %v", got.verifyErr)
			}
			if !attempt.Succeeded() {
				t.Errorf("attempt = %+v, want success", attempt)
			}
			if len(got.body) == 0 {
				t.Fatal("the call has no body, want the JSON payload")
			}
			if err := verify.Verify(firstSecret, got.header, got.body, tolerance); err != nil {
				t.Errorf("Verify: %v", err)
			}
			if err := verify.VerifyDoppio(firstSecret, got.body, got.header.Get("x-doppio-payload-signature")); err != nil {
				t.Errorf("VerifyDoppio: %v", err)
			}
			err := verify.VerifyStandard(firstSecret, got.header.Get("webhook-id"), got.header.Get("webhook-timestamp"),
				got.header.Get("webhook-signature"), got.body, tolerance, time.Now())
			if err != nil {
				t.Errorf("VerifyStandard: %v", err)
			}
		})
	}
}

func TestBodylessCallVerifies(t *testing.T) {
	for _, method := range []string{"GET", "DELETE"} {
		t.Run(method, func(t *testing.T) {
			got, attempt := deliver(t, method, []string{firstSecret}, []string{firstSecret})

			if got.verifyErr != nil {
				t.Errorf("VerifyRequest: %v", got.verifyErr)
			}
			if !attempt.Succeeded() {
				t.Errorf("attempt = %+v, want success", attempt)
			}
			if len(got.body) != 0 {
				t.Errorf("body = %q, want none", got.body)
			}
			if err := verify.Verify(firstSecret, got.header, nil, tolerance); err != nil {
				t.Errorf("Verify: %v", err)
			}

			withoutID := got.header.Clone()
			withoutID.Del("x-doppio-request-id")
			if err := verify.Verify(firstSecret, withoutID, nil, tolerance); !errors.Is(err, verify.ErrInvalidSignature) {
				t.Errorf("Verify without x-doppio-request-id: error = %v, want ErrInvalidSignature", err)
			}
			otherID := got.header.Clone()
			otherID.Set("x-doppio-request-id", "doppioreq_00000000-0000-0000-0000-000000000000")
			if err := verify.Verify(firstSecret, otherID, nil, tolerance); !errors.Is(err, verify.ErrInvalidSignature) {
				t.Errorf("Verify with another request id: error = %v, want ErrInvalidSignature", err)
			}
		})
	}
}

func TestWrongSecretRejected(t *testing.T) {
	got, attempt := deliver(t, "POST", []string{firstSecret}, []string{otherSecret})

	if !errors.Is(got.verifyErr, verify.ErrInvalidSignature) {
		t.Errorf("VerifyRequest: error = %v, want ErrInvalidSignature", got.verifyErr)
	}
	if attempt.StatusCode != http.StatusUnauthorized {
		t.Errorf("attempt status = %d, want 401 from the receiver", attempt.StatusCode)
	}
	if err := verify.VerifyDoppio(otherSecret, got.body, got.header.Get("x-doppio-payload-signature")); !errors.Is(err, verify.ErrInvalidSignature) {
		t.Errorf("VerifyDoppio: error = %v, want ErrInvalidSignature", err)
	}
	err := verify.VerifyStandard(otherSecret, got.header.Get("webhook-id"), got.header.Get("webhook-timestamp"),
		got.header.Get("webhook-signature"), got.body, tolerance, time.Now())
	if !errors.Is(err, verify.ErrInvalidSignature) {
		t.Errorf("VerifyStandard: error = %v, want ErrInvalidSignature", err)
	}
}

func TestTamperedCallRejected(t *testing.T) {
	got, _ := deliver(t, "POST", []string{firstSecret}, []string{firstSecret})

	tamperedBody := bytes.Replace(got.body, []byte(`"SUCCESS"`), []byte(`"ERROR"`), 1)
	if bytes.Equal(tamperedBody, got.body) {
		t.Fatalf("body %s has no renderStatus SUCCESS to alter", got.body)
	}
	if err := verify.Verify(firstSecret, got.header, tamperedBody, tolerance); !errors.Is(err, verify.ErrInvalidSignature) {
		t.Errorf("tampered body: error = %v, want ErrInvalidSignature", err)
	}

	// Each scheme on its own must reject the body, not only both together.
	doppioOnly := got.header.Clone()
	for _, name := range []string{"webhook-id", "webhook-timestamp", "webhook-signature"} {
		doppioOnly.Del(name)
	}
	if err := verify.Verify(firstSecret, doppioOnly, tamperedBody, tolerance); !errors.Is(err, verify.ErrInvalidSignature) {
		t.Errorf("tampered body, Doppio header only: error = %v, want ErrInvalidSignature", err)
	}
	standardOnly := got.header.Clone()
	standardOnly.Del("x-doppio-payload-signature")
	if err := verify.Verify(firstSecret, standardOnly, tamperedBody, tolerance); !errors.Is(err, verify.ErrInvalidSignature) {
		t.Errorf("tampered body, Standard headers only: error = %v, want ErrInvalidSignature", err)
	}

	otherID := got.header.Clone()
	otherID.Set("webhook-id", "another-job")
	if err := verify.Verify(firstSecret, otherID, got.body, tolerance); !errors.Is(err, verify.ErrInvalidSignature) {
		t.Errorf("altered webhook-id: error = %v, want ErrInvalidSignature", err)
	}
	// A later timestamp without a new signature is a replay that tries to
	// pass the clock check.
	laterTimestamp := got.header.Clone()
	laterTimestamp.Set("webhook-timestamp", strconv.FormatInt(time.Now().Unix()+1, 10))
	if err := verify.Verify(firstSecret, laterTimestamp, got.body, tolerance); !errors.Is(err, verify.ErrInvalidSignature) {
		t.Errorf("altered webhook-timestamp: error = %v, want ErrInvalidSignature", err)
	}
}

// resign returns header with webhook-timestamp set to sentAt and the
// signatures computed by Presso's signing functions for that time.
func resign(t *testing.T, header http.Header, secrets []string, sentAt time.Time, body []byte) http.Header {
	t.Helper()
	signature, err := webhook.SignatureHeader(secrets, header.Get("webhook-id"), sentAt.Unix(), body)
	if err != nil {
		t.Fatalf("SignatureHeader: %v", err)
	}
	header = header.Clone()
	header.Set("webhook-timestamp", strconv.FormatInt(sentAt.Unix(), 10))
	header.Set("webhook-signature", signature)
	return header
}

func TestTimestampOutsideToleranceRejected(t *testing.T) {
	got, _ := deliver(t, "POST", []string{firstSecret}, []string{firstSecret})
	now := time.Now()

	tests := []struct {
		name   string
		sentAt time.Time
		want   error
	}{
		{"10 minutes old", now.Add(-10 * time.Minute), verify.ErrTimestampOutOfRange},
		{"10 minutes ahead", now.Add(10 * time.Minute), verify.ErrTimestampOutOfRange},
		{"1 minute old", now.Add(-time.Minute), nil},
		{"1 minute ahead", now.Add(time.Minute), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			header := resign(t, got.header, []string{firstSecret}, tt.sentAt, got.body)

			if err := verify.Verify(firstSecret, header, got.body, tolerance); !errors.Is(err, tt.want) {
				t.Errorf("Verify: error = %v, want %v", err, tt.want)
			}
			err := verify.VerifyStandard(firstSecret, header.Get("webhook-id"), header.Get("webhook-timestamp"),
				header.Get("webhook-signature"), got.body, tolerance, now)
			if !errors.Is(err, tt.want) {
				t.Errorf("VerifyStandard: error = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestToleranceDefaultsToFiveMinutes(t *testing.T) {
	got, _ := deliver(t, "POST", []string{firstSecret}, []string{firstSecret})
	now := time.Now()
	id := got.header.Get("webhook-id")

	for _, tt := range []struct {
		age  time.Duration
		want error
	}{
		{4 * time.Minute, nil},
		{6 * time.Minute, verify.ErrTimestampOutOfRange},
	} {
		header := resign(t, got.header, []string{firstSecret}, now.Add(-tt.age), got.body)
		err := verify.VerifyStandard(firstSecret, id, header.Get("webhook-timestamp"), header.Get("webhook-signature"), got.body, 0, now)
		if !errors.Is(err, tt.want) {
			t.Errorf("age %s, tolerance 0: error = %v, want %v", tt.age, err, tt.want)
		}
	}
}

func TestRotationSecondSecretVerifiesStandard(t *testing.T) {
	got, _ := deliver(t, "POST", []string{firstSecret, secondSecret}, []string{firstSecret})

	err := verify.VerifyStandard(secondSecret, got.header.Get("webhook-id"), got.header.Get("webhook-timestamp"),
		got.header.Get("webhook-signature"), got.body, tolerance, time.Now())
	if err != nil {
		t.Errorf("VerifyStandard with the second secret: %v", err)
	}
	if err := verify.Verify(firstSecret, got.header, got.body, tolerance); err != nil {
		t.Errorf("Verify with the first secret: %v", err)
	}
	if err := verify.Verify(otherSecret, got.header, got.body, tolerance); !errors.Is(err, verify.ErrInvalidSignature) {
		t.Errorf("Verify with a secret of no key: error = %v, want ErrInvalidSignature", err)
	}
}

// While a key is rotated, Presso keys x-doppio-payload-signature with the
// first secret only, so Verify, which checks both schemes, needs the old
// secret alongside the new one until Presso stops using the old one.
func TestRotationReceiverSecrets(t *testing.T) {
	tests := []struct {
		name            string
		keySecrets      []string
		receiverSecrets []string
		want            error
	}{
		{"new secret added, receiver has old", []string{firstSecret, secondSecret}, []string{firstSecret}, nil},
		{"new secret added, receiver has both", []string{firstSecret, secondSecret}, []string{secondSecret, firstSecret}, nil},
		{"new secret added, receiver has new only", []string{firstSecret, secondSecret}, []string{secondSecret}, verify.ErrInvalidSignature},
		{"old secret removed, receiver has both", []string{secondSecret}, []string{firstSecret, secondSecret}, nil},
		{"old secret removed, receiver has old only", []string{secondSecret}, []string{firstSecret}, verify.ErrInvalidSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _ := deliver(t, "POST", tt.keySecrets, tt.receiverSecrets)

			if !errors.Is(got.verifyErr, tt.want) {
				t.Errorf("VerifyRequest: error = %v, want %v", got.verifyErr, tt.want)
			}
		})
	}
}

func TestRotationNewSecretOnlyFailsOnDoppioHeader(t *testing.T) {
	got, _ := deliver(t, "POST", []string{firstSecret, secondSecret}, []string{secondSecret})

	if got.verifyErr == nil || !strings.Contains(got.verifyErr.Error(), "x-doppio-payload-signature") {
		t.Errorf("VerifyRequest: error = %v, want one naming x-doppio-payload-signature", got.verifyErr)
	}
}

func TestMissingSignatures(t *testing.T) {
	got, _ := deliver(t, "POST", []string{firstSecret}, []string{firstSecret})

	none := got.header.Clone()
	for _, name := range []string{"x-doppio-payload-signature", "webhook-id", "webhook-timestamp", "webhook-signature"} {
		none.Del(name)
	}
	if err := verify.Verify(firstSecret, none, got.body, tolerance); !errors.Is(err, verify.ErrMissingSignature) {
		t.Errorf("no signature header: error = %v, want ErrMissingSignature", err)
	}

	for _, name := range []string{"webhook-id", "webhook-timestamp", "webhook-signature"} {
		partial := got.header.Clone()
		partial.Del(name)
		err := verify.Verify(firstSecret, partial, got.body, tolerance)
		if !errors.Is(err, verify.ErrMissingSignature) || !strings.Contains(err.Error(), name) {
			t.Errorf("without %s: error = %v, want ErrMissingSignature naming it", name, err)
		}
	}

	if err := verify.VerifyDoppio(firstSecret, got.body, ""); !errors.Is(err, verify.ErrMissingSignature) {
		t.Errorf("VerifyDoppio without signature: error = %v, want ErrMissingSignature", err)
	}
}

// Without the webhook-* headers only the Doppio signature is checked, so a
// replay with those headers removed passes Verify; VerifyStandard rejects it.
func TestDoppioOnlyCallHasNoReplayProtection(t *testing.T) {
	got, _ := deliver(t, "POST", []string{firstSecret}, []string{firstSecret})
	stripped := got.header.Clone()
	for _, name := range []string{"webhook-id", "webhook-timestamp", "webhook-signature"} {
		stripped.Del(name)
	}

	if err := verify.Verify(firstSecret, stripped, got.body, tolerance); err != nil {
		t.Errorf("Verify: %v, want the Doppio signature alone to pass", err)
	}
	err := verify.VerifyStandard(firstSecret, stripped.Get("webhook-id"), stripped.Get("webhook-timestamp"),
		stripped.Get("webhook-signature"), got.body, tolerance, time.Now())
	if !errors.Is(err, verify.ErrMissingSignature) {
		t.Errorf("VerifyStandard: error = %v, want ErrMissingSignature", err)
	}
}

func TestStandardSignatureEntries(t *testing.T) {
	body := []byte(`{"renderStatus":"SUCCESS"}`)
	now := time.Now()
	timestamp := strconv.FormatInt(now.Unix(), 10)
	genuine, err := webhook.SignStandard(firstSecret, testJobID, now.Unix(), body)
	if err != nil {
		t.Fatal(err)
	}
	other, _ := webhook.SignStandard(otherSecret, testJobID, now.Unix(), body)
	_, genuineBase64, _ := strings.Cut(genuine, ",")

	tests := []struct {
		name   string
		header string
		want   error
	}{
		{"single entry", genuine, nil},
		{"match after another secret's entry", other + " " + genuine, nil},
		{"match after malformed entries", "v1,!!! nonsense v1a,AAAA " + genuine, nil},
		{"extra spaces", "  " + other + "   " + genuine + " ", nil},
		{"only another secret's entry", other, verify.ErrInvalidSignature},
		{"right value under another version", "v2," + genuineBase64, verify.ErrInvalidSignature},
		{"right value without version", genuineBase64, verify.ErrInvalidSignature},
		{"truncated", genuine[:len(genuine)-4], verify.ErrInvalidSignature},
		{"blank", "   ", verify.ErrInvalidSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := verify.VerifyStandard(firstSecret, testJobID, timestamp, tt.header, body, tolerance, now)
			if !errors.Is(err, tt.want) {
				t.Errorf("VerifyStandard(%q): error = %v, want %v", tt.header, err, tt.want)
			}
		})
	}
}

// A timestamp that is not an integer must fail even with a signature that
// covers it, so the signature is computed here over the raw header value.
func TestMalformedTimestampRejected(t *testing.T) {
	body := []byte("{}")
	key, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(firstSecret, "whsec_"))
	for _, timestamp := range []string{"soon", "1.7e9", "0x10", strconv.FormatInt(time.Now().Unix(), 10) + ".5", " 1700000000"} {
		mac := hmac.New(sha256.New, key)
		mac.Write([]byte(testJobID + "." + timestamp + "." + string(body)))
		signature := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))

		err := verify.VerifyStandard(firstSecret, testJobID, timestamp, signature, body, tolerance, time.Now())
		if !errors.Is(err, verify.ErrInvalidSignature) {
			t.Errorf("timestamp %q: error = %v, want ErrInvalidSignature", timestamp, err)
		}
	}
}

func TestDoppioSignatureFormats(t *testing.T) {
	body := []byte(`{"renderStatus":"SUCCESS"}`)
	signature := webhook.SignDoppio(firstSecret, body)

	if err := verify.VerifyDoppio(firstSecret, body, signature); err != nil {
		t.Errorf("genuine signature: %v", err)
	}
	for name, value := range map[string]string{
		"not hex":   "zz" + signature[2:],
		"truncated": signature[:62],
		"extended":  signature + "00",
	} {
		if err := verify.VerifyDoppio(firstSecret, body, value); !errors.Is(err, verify.ErrInvalidSignature) {
			t.Errorf("%s: error = %v, want ErrInvalidSignature", name, err)
		}
	}
	// The Doppio scheme keys the HMAC with the whole secret string, so the
	// part after whsec_ alone must not verify.
	if err := verify.VerifyDoppio(strings.TrimPrefix(firstSecret, "whsec_"), body, signature); !errors.Is(err, verify.ErrInvalidSignature) {
		t.Errorf("secret without its prefix: error = %v, want ErrInvalidSignature", err)
	}
}

// The receiver must accept exactly the secrets that Presso accepts for
// signing, although it does not import the engine's decoder.
func TestSecretFormatMatchesEngine(t *testing.T) {
	secrets := []string{
		firstSecret,
		engine.NewSigningSecret(),
		"",
		"plain-text",
		"whsec_",
		"whsec_!!!",
		"whsec_c2hvcnQ=",                 // 5 bytes
		"whsec_MDEyMzQ1Njc4OWFiY2RlZg==", // 16 bytes
		"whsec_MDEyMzQ1Njc4OWFiY2Rl",     // 15 bytes
		"whsec_MDEyMzQ1Njc4OWFiY2RlZg",   // unpadded
		"whsec_MDEyMzQ1Njc4OWFiY2RlZmdoaWprbG1ub3BxcnN0dQ", // unpadded
		"WHSEC_MDEyMzQ1Njc4OWFiY2RlZg==",
		"whsec_MDEyMzQ1Njc4OWFiY2RlZg-_",
	}
	body := []byte("{}")
	for _, secret := range secrets {
		_, engineErr := engine.DecodeSigningSecret(secret)
		err := verify.VerifyStandard(secret, testJobID, "1", "v1,AAAA", body, tolerance, time.Unix(1, 0))

		if engineErr == nil && errors.Is(err, verify.ErrInvalidSecret) {
			t.Errorf("secret %q: the engine accepts it, VerifyStandard rejects it: %v", secret, err)
		}
		if engineErr != nil && !errors.Is(err, verify.ErrInvalidSecret) {
			t.Errorf("secret %q: the engine rejects it (%v), VerifyStandard error = %v, want ErrInvalidSecret", secret, engineErr, err)
		}
	}
}

func TestInvalidSecretErrors(t *testing.T) {
	got, _ := deliver(t, "POST", []string{firstSecret}, []string{firstSecret})
	req := httptest.NewRequest(http.MethodPost, "/hook", bytes.NewReader(got.body))
	req.Header = got.header.Clone()

	if _, err := verify.VerifyRequest(req, nil, tolerance); !errors.Is(err, verify.ErrInvalidSecret) {
		t.Errorf("VerifyRequest without secrets: error = %v, want ErrInvalidSecret", err)
	}
	if err := verify.Verify("not-a-secret", got.header, got.body, tolerance); !errors.Is(err, verify.ErrInvalidSecret) {
		t.Errorf("Verify with an invalid secret: error = %v, want ErrInvalidSecret", err)
	}
	if err := verify.VerifyDoppio("", got.body, got.header.Get("x-doppio-payload-signature")); !errors.Is(err, verify.ErrInvalidSecret) {
		t.Errorf("VerifyDoppio with an empty secret: error = %v, want ErrInvalidSecret", err)
	}
}

// Code that fills an http.Header map directly, as some serverless
// frameworks do, may leave the names in lower case.
func TestLowerCaseHeaderNames(t *testing.T) {
	got, _ := deliver(t, "POST", []string{firstSecret}, []string{firstSecret})
	lower := http.Header{}
	for name, values := range got.header {
		lower[strings.ToLower(name)] = values
	}

	if err := verify.Verify(firstSecret, lower, got.body, tolerance); err != nil {
		t.Errorf("Verify: %v", err)
	}
}

func TestMiddleware(t *testing.T) {
	got, _ := deliver(t, "POST", []string{firstSecret}, []string{firstSecret})
	var nextBody []byte
	handler := verify.Middleware([]string{otherSecret, firstSecret}, tolerance, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		nextBody, _ = io.ReadAll(r.Body)
		w.WriteHeader(http.StatusNoContent)
	}))
	serve := func(body []byte) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodPost, "/hook", bytes.NewReader(body))
		req.Header = got.header.Clone()
		recorder := httptest.NewRecorder()
		handler.ServeHTTP(recorder, req)
		return recorder
	}

	if response := serve(got.body); response.Code != http.StatusNoContent {
		t.Errorf("genuine call: status = %d (%s), want 204 from the next handler", response.Code, response.Body)
	}
	if !bytes.Equal(nextBody, got.body) {
		t.Errorf("next handler read %q, want the body %q", nextBody, got.body)
	}

	nextBody = nil
	tampered := serve(append(bytes.Clone(got.body), ' '))
	if tampered.Code != http.StatusUnauthorized {
		t.Errorf("tampered call: status = %d, want 401", tampered.Code)
	}
	if nextBody != nil {
		t.Error("next handler ran for a tampered call")
	}
	for _, secret := range []string{firstSecret, otherSecret} {
		if strings.Contains(tampered.Body.String(), secret) {
			t.Errorf("401 response %q contains a secret", tampered.Body)
		}
	}

	if response := serve(bytes.Repeat([]byte("x"), verify.MaxBodyBytes+1)); response.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("body over MaxBodyBytes: status = %d, want 413", response.Code)
	}
}

func TestMiddlewarePanicsOnInvalidSecrets(t *testing.T) {
	for _, secrets := range [][]string{nil, {firstSecret, "plain-text"}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Middleware(%q) did not panic", secrets)
				}
			}()
			verify.Middleware(secrets, tolerance, http.NotFoundHandler())
		}()
	}
}

func TestVerifyRequestBodyLimit(t *testing.T) {
	atLimit := httptest.NewRequest(http.MethodPost, "/hook", bytes.NewReader(make([]byte, verify.MaxBodyBytes)))
	if _, err := verify.VerifyRequest(atLimit, []string{firstSecret}, tolerance); !errors.Is(err, verify.ErrMissingSignature) {
		t.Errorf("body of MaxBodyBytes: error = %v, want it read and ErrMissingSignature", err)
	}
	overLimit := httptest.NewRequest(http.MethodPost, "/hook", bytes.NewReader(make([]byte, verify.MaxBodyBytes+1)))
	if _, err := verify.VerifyRequest(overLimit, []string{firstSecret}, tolerance); !errors.Is(err, verify.ErrBodyTooLarge) {
		t.Errorf("body over MaxBodyBytes: error = %v, want ErrBodyTooLarge", err)
	}
}
