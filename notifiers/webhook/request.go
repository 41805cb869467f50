package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/presso-dev/presso/engine"
)

// UserAgent is the User-Agent of every webhook call.
const UserAgent = "Presso-Webhook/1"

// newRequest builds the signed call for one attempt at sentAt. The caller's
// headers go in first and Presso's are set over them, and reserved names are
// skipped altogether, so that no caller header can replace a signature.
func newRequest(ctx context.Context, d *engine.Delivery, secrets []string, sentAt time.Time) (*http.Request, error) {
	if len(secrets) == 0 {
		return nil, fmt.Errorf("no signing secret for key %q: the key is not in auth.keys", d.Key)
	}
	target, err := url.Parse(d.Webhook.URL)
	if err != nil || (target.Scheme != "http" && target.Scheme != "https") || target.Host == "" {
		return nil, fmt.Errorf("webhook URL is invalid: it must be an absolute http or https URL")
	}

	method := strings.ToUpper(d.Webhook.WebhookMethod())
	hasBody := method != http.MethodGet && method != http.MethodDelete
	// Without a body, both signatures cover the request id, which the
	// receiver finds in x-doppio-request-id.
	signed := []byte(d.RequestID)
	var bodyReader io.Reader
	if hasBody {
		body, err := json.Marshal(d.Payload)
		if err != nil {
			return nil, fmt.Errorf("encoding the payload failed: %w", err)
		}
		signed = body
		bodyReader = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, d.Webhook.URL, bodyReader)
	if err != nil {
		return nil, fmt.Errorf("webhook method %q is invalid: %w", method, err)
	}

	for name, value := range d.Webhook.Headers {
		if slices.Contains(engine.ReservedWebhookHeaders, strings.ToLower(name)) {
			continue
		}
		req.Header.Set(name, value)
	}

	timestamp := sentAt.Unix()
	standard, err := SignatureHeader(secrets, d.JobID, timestamp, signed)
	if err != nil {
		return nil, err
	}
	header := req.Header
	header.Set("User-Agent", UserAgent)
	if hasBody {
		header.Set("Content-Type", "application/json")
	} else {
		header.Set("x-doppio-render-status", string(d.Payload.RenderStatus))
	}
	header.Set("x-doppio-request-id", d.RequestID)
	header.Set("x-doppio-payload-signature", SignDoppio(secrets[0], signed))
	header.Set("webhook-id", d.JobID)
	header.Set("webhook-timestamp", strconv.FormatInt(timestamp, 10))
	header.Set("webhook-signature", standard)
	return req, nil
}
