package verify

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// MaxBodyBytes is the largest body that VerifyRequest and Middleware read.
// A Presso payload is a few hundred bytes, so a larger body is not Presso's.
const MaxBodyBytes = 1 << 20

// ErrBodyTooLarge means that the request body is larger than MaxBodyBytes.
var ErrBodyTooLarge = fmt.Errorf("webhook body larger than %d bytes", MaxBodyBytes)

// VerifyRequest reads the body of r, at most MaxBodyBytes, and verifies the
// call as Verify does, with several secrets: each scheme present in the call
// must pass with at least one of secrets, not necessarily the same one. It
// returns the body when the call passes and nil otherwise.
//
// VerifyRequest reads r.Body, so a handler that needs the body uses the
// returned bytes.
func VerifyRequest(r *http.Request, secrets []string, tolerance time.Duration) ([]byte, error) {
	var body []byte
	if r.Body != nil {
		var err error
		body, err = io.ReadAll(io.LimitReader(r.Body, MaxBodyBytes+1))
		if err != nil {
			return nil, fmt.Errorf("reading the webhook body failed: %w", err)
		}
	}
	if len(body) > MaxBodyBytes {
		return nil, ErrBodyTooLarge
	}
	if err := verifyCall(secrets, r.Header, body, tolerance, time.Now()); err != nil {
		return nil, err
	}
	return body, nil
}

// Middleware returns a handler that verifies each call with VerifyRequest
// before passing it to next, with the body restored so that next can read
// it. A call that fails gets 401 Unauthorized, or 413 Content Too Large for
// a body over MaxBodyBytes, with the reason as plain text in the response.
// Neither secrets nor signatures appear in that reason.
//
// Middleware panics when secrets is empty or contains an invalid secret, so
// that a wrong configuration stops the receiver at start.
func Middleware(secrets []string, tolerance time.Duration, next http.Handler) http.Handler {
	if err := checkSecrets(secrets); err != nil {
		panic("verify.Middleware: " + err.Error())
	}
	secrets = append([]string(nil), secrets...)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := VerifyRequest(r, secrets, tolerance)
		if err != nil {
			http.Error(w, err.Error(), statusOf(err))
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		next.ServeHTTP(w, r)
	})
}

// statusOf returns the HTTP status that Middleware sends for err.
func statusOf(err error) int {
	switch {
	case errors.Is(err, ErrBodyTooLarge):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, ErrMissingSignature), errors.Is(err, ErrInvalidSignature), errors.Is(err, ErrTimestampOutOfRange):
		return http.StatusUnauthorized
	default:
		// The body could not be read, usually because the client went away.
		return http.StatusBadRequest
	}
}

// verifyCall checks every scheme present in a call, each with any of
// secrets, at the time now.
func verifyCall(secrets []string, header http.Header, body []byte, tolerance time.Duration, now time.Time) error {
	if err := checkSecrets(secrets); err != nil {
		return err
	}
	signed := signedContent(header, body)
	doppio := headerValue(header, HeaderPayloadSignature)
	id := headerValue(header, HeaderWebhookID)
	timestamp := headerValue(header, HeaderWebhookTimestamp)
	standard := headerValue(header, HeaderWebhookSignature)
	hasStandard := id != "" || timestamp != "" || standard != ""

	if doppio == "" && !hasStandard {
		return fmt.Errorf("%w: the call has neither %s nor the webhook-* headers", ErrMissingSignature, HeaderPayloadSignature)
	}
	if hasStandard {
		err := passWithAny(secrets, func(secret string) error {
			return VerifyStandard(secret, id, timestamp, standard, signed, tolerance, now)
		})
		if err != nil {
			return err
		}
	}
	if doppio != "" {
		err := passWithAny(secrets, func(secret string) error {
			return VerifyDoppio(secret, signed, doppio)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// signedContent returns what the sender signed: the body, or the request id
// when the body is empty, because Presso's GET and DELETE calls have no body
// and sign the x-doppio-request-id value instead.
func signedContent(header http.Header, body []byte) []byte {
	if len(body) == 0 {
		if requestID := headerValue(header, HeaderRequestID); requestID != "" {
			return []byte(requestID)
		}
	}
	return body
}

// passWithAny returns nil when check passes for one of secrets. Otherwise it
// returns ErrTimestampOutOfRange if a secret matched the signature, since
// that is the more useful reason, or else the error of the last secret.
func passWithAny(secrets []string, check func(secret string) error) error {
	var last error
	for _, secret := range secrets {
		err := check(secret)
		if err == nil {
			return nil
		}
		if errors.Is(err, ErrTimestampOutOfRange) {
			return err
		}
		last = err
	}
	if len(secrets) > 1 {
		return fmt.Errorf("%w (tried %d secrets)", last, len(secrets))
	}
	return last
}

// checkSecrets returns ErrInvalidSecret when secrets is empty or one of them
// is not a valid "whsec_" secret.
func checkSecrets(secrets []string) error {
	if len(secrets) == 0 {
		return fmt.Errorf("%w: no secret given", ErrInvalidSecret)
	}
	for i, secret := range secrets {
		if _, err := decodeSecret(secret); err != nil {
			return fmt.Errorf("secret %d of %d: %w", i+1, len(secrets), err)
		}
	}
	return nil
}

// headerValue returns the first value of the header name. Besides the
// canonical form that net/http stores, it finds keys in any letter case,
// as set by code that fills an http.Header map directly.
func headerValue(header http.Header, name string) string {
	if value := header.Get(name); value != "" {
		return value
	}
	for key, values := range header {
		if strings.EqualFold(key, name) && len(values) > 0 {
			return values[0]
		}
	}
	return ""
}
