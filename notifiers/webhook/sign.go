package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/presso-dev/presso/engine"
)

// SignDoppio returns the x-doppio-payload-signature of body: the lowercase
// hex HMAC-SHA256 of body keyed with the bytes of the whole secret string,
// "whsec_" prefix included, as clients of the Doppio API compute it.
func SignDoppio(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return hex.EncodeToString(mac.Sum(nil))
}

// SignStandard returns one Standard Webhooks signature, "v1," followed by
// the base64 HMAC-SHA256 of "id.timestamp.body" keyed with the decoded part
// of a "whsec_<base64>" secret. It fails when secret is not of that form.
func SignStandard(secret, id string, timestamp int64, body []byte) (string, error) {
	key, err := engine.DecodeSigningSecret(secret)
	if err != nil {
		return "", err
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + strconv.FormatInt(timestamp, 10) + "."))
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil)), nil
}

// SignatureHeader returns the webhook-signature header value: the
// signatures of every secret, separated by spaces, so that a receiver
// holding any one of the active secrets accepts the call.
func SignatureHeader(secrets []string, id string, timestamp int64, body []byte) (string, error) {
	if len(secrets) == 0 {
		return "", errors.New("no signing secret given")
	}
	signatures := make([]string, 0, len(secrets))
	for i, secret := range secrets {
		signature, err := SignStandard(secret, id, timestamp, body)
		if err != nil {
			return "", fmt.Errorf("signing secret %d of %d: %w", i+1, len(secrets), err)
		}
		signatures = append(signatures, signature)
	}
	return strings.Join(signatures, " "), nil
}
