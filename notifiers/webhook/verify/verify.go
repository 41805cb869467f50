package verify

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Header names of a Presso webhook call.
const (
	HeaderRequestID        = "x-doppio-request-id"
	HeaderPayloadSignature = "x-doppio-payload-signature"
	HeaderWebhookID        = "webhook-id"
	HeaderWebhookTimestamp = "webhook-timestamp"
	HeaderWebhookSignature = "webhook-signature"
)

// DefaultTolerance is the largest accepted difference between
// webhook-timestamp and the receiver's clock, used when a function is given
// a tolerance of zero or less. It equals the fixed tolerance of the
// standardwebhooks npm package, version 1.1.1.
const DefaultTolerance = 5 * time.Minute

// secretPrefix starts every Presso signing secret.
const secretPrefix = "whsec_"

// Errors returned by this package. They come wrapped with details, so test
// for them with errors.Is.
var (
	// ErrMissingSignature means that the call lacks a signature header, or
	// carries only part of the Standard Webhooks headers.
	ErrMissingSignature = errors.New("webhook signature missing")
	// ErrInvalidSignature means that no signature matches the secret and the
	// content, or that a signature header is malformed.
	ErrInvalidSignature = errors.New("webhook signature invalid")
	// ErrTimestampOutOfRange means that the Standard signature matches but
	// webhook-timestamp is further from the receiver's clock than the
	// tolerance. Either the call was replayed or the clocks of Presso and
	// the receiver differ.
	ErrTimestampOutOfRange = errors.New("webhook timestamp out of range")
	// ErrInvalidSecret means that a secret given to this package is not
	// "whsec_" followed by the standard base64 of at least 16 bytes, the form
	// that Presso requires. VerifyDoppio alone accepts any non-empty secret.
	ErrInvalidSecret = errors.New("webhook signing secret invalid")
)

// Verify checks the signatures of one call with secret, given the call's
// headers and its exact body bytes. When body is empty and the call has
// x-doppio-request-id, as on GET and DELETE calls, the signatures are
// checked over that request id instead.
//
// Verify checks each scheme that the call carries and requires all of them
// to pass. The Standard Webhooks scheme is checked when any of its headers
// is present, with webhook-timestamp within tolerance of the current time
// (DefaultTolerance when tolerance is zero or less). When none of its
// headers is present, only x-doppio-payload-signature is checked, and a
// replayed call passes. A call with neither scheme fails with
// ErrMissingSignature, and a secret that is not "whsec_" followed by the
// base64 of at least 16 bytes fails with ErrInvalidSecret.
func Verify(secret string, header http.Header, body []byte, tolerance time.Duration) error {
	return verifyCall([]string{secret}, header, body, tolerance, time.Now())
}

// VerifyDoppio checks an x-doppio-payload-signature value: the lowercase
// hex HMAC-SHA256 of body keyed with the bytes of the whole secret string.
// For a call without a body, pass the request id as body.
//
// VerifyDoppio accepts any non-empty secret, because this scheme does not
// decode it. Without a timestamp, the scheme cannot reject a replayed call.
func VerifyDoppio(secret string, body []byte, signature string) error {
	if secret == "" {
		return fmt.Errorf("%w: the secret is empty", ErrInvalidSecret)
	}
	if signature == "" {
		return fmt.Errorf("%w: %s is empty", ErrMissingSignature, HeaderPayloadSignature)
	}
	received, err := hex.DecodeString(signature)
	if err != nil {
		return fmt.Errorf("%w: %s is not hexadecimal", ErrInvalidSignature, HeaderPayloadSignature)
	}

	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	if !hmac.Equal(received, mac.Sum(nil)) {
		return fmt.Errorf("%w: %s does not match the secret and the body", ErrInvalidSignature, HeaderPayloadSignature)
	}
	return nil
}

// VerifyStandard checks the Standard Webhooks headers of a call: id,
// timestamp and signatureHeader are the values of webhook-id,
// webhook-timestamp and webhook-signature. The call passes when any "v1,"
// entry of signatureHeader is the base64 HMAC-SHA256 of
// "id.timestamp.body", keyed with the base64-decoded part of secret after
// "whsec_", and timestamp is within tolerance of now (DefaultTolerance
// when tolerance is zero or less). Entries of other versions are skipped.
//
// The signature is checked before the timestamp, so ErrTimestampOutOfRange
// means a genuine call that arrived too late or too early.
func VerifyStandard(secret, id, timestamp, signatureHeader string, body []byte, tolerance time.Duration, now time.Time) error {
	key, err := decodeSecret(secret)
	if err != nil {
		return err
	}
	for _, h := range []struct{ name, value string }{
		{HeaderWebhookID, id},
		{HeaderWebhookTimestamp, timestamp},
		{HeaderWebhookSignature, signatureHeader},
	} {
		if h.value == "" {
			return fmt.Errorf("%w: %s is empty", ErrMissingSignature, h.name)
		}
	}
	sentAt, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: %s %q is not a unix time in seconds", ErrInvalidSignature, HeaderWebhookTimestamp, timestamp)
	}

	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + timestamp + "."))
	mac.Write(body)
	if err := matchAnyEntry(signatureHeader, mac.Sum(nil)); err != nil {
		return err
	}

	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	age := now.Sub(time.Unix(sentAt, 0))
	if age > tolerance || age < -tolerance {
		return fmt.Errorf("%w: %s is %s from the receiver's clock, more than the tolerance of %s",
			ErrTimestampOutOfRange, HeaderWebhookTimestamp, age.Abs().Truncate(time.Second), tolerance)
	}
	return nil
}

// matchAnyEntry returns nil when one "v1,<base64>" entry of signatureHeader
// decodes to expected. hmac.Equal compares in constant time, so the time
// taken does not reveal how much of an entry matched.
func matchAnyEntry(signatureHeader string, expected []byte) error {
	versionOne := 0
	for _, entry := range strings.Fields(signatureHeader) {
		version, encoded, found := strings.Cut(entry, ",")
		if !found || version != "v1" {
			continue
		}
		versionOne++
		received, err := base64.StdEncoding.DecodeString(encoded)
		if err != nil {
			continue
		}
		if hmac.Equal(received, expected) {
			return nil
		}
	}
	if versionOne == 0 {
		return fmt.Errorf("%w: %s has no v1 entry", ErrInvalidSignature, HeaderWebhookSignature)
	}
	return fmt.Errorf("%w: none of the %d v1 entries of %s matches the secret and the body",
		ErrInvalidSignature, versionOne, HeaderWebhookSignature)
}

// ValidateSecret returns an error wrapping ErrInvalidSecret when secret is
// not "whsec_" followed by the standard base64 of at least 16 bytes, the
// form that Presso requires. A receiver calls it at start to reject a
// wrong configuration before the first call arrives.
func ValidateSecret(secret string) error {
	_, err := decodeSecret(secret)
	return err
}

// decodeSecret returns the HMAC key of a "whsec_<base64>" secret. It accepts
// exactly the secrets that Presso accepts for signing: standard padded
// base64 of at least 16 bytes.
func decodeSecret(secret string) ([]byte, error) {
	encoded, ok := strings.CutPrefix(secret, secretPrefix)
	if !ok {
		return nil, fmt.Errorf("%w: it must start with %q", ErrInvalidSecret, secretPrefix)
	}
	key, err := base64.StdEncoding.DecodeString(encoded)
	if err != nil {
		return nil, fmt.Errorf("%w: the part after %q is not standard base64", ErrInvalidSecret, secretPrefix)
	}
	if len(key) < 16 {
		return nil, fmt.Errorf("%w: the part after %q decodes to %d bytes, fewer than 16", ErrInvalidSecret, secretPrefix, len(key))
	}
	return key, nil
}
